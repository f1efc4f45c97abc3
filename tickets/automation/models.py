"""What automation is configured with, and what it has to do (DESIGN.md §5).

- `RoutingRule`: ordered condition → action rules run on every new ticket (Settings › Routing).
- `Trigger`: event–condition–action rules (created, updated, customer/agent replied, status
  changed, idle for N hours), ordered, with a loop guard.
- `Macro`: a bundle of actions and a reply an agent applies in one click; shared or personal.
- `AutoReply`: the acknowledgement template per channel and language.
- `AgentProfile`: an agent's availability (online / away / offline) and capacity.
- `KeywordRule`, `TrainingLabel`, `ClassifierModel`: classification (inquiry type, topic).
- `AutomationJob`: the transactional outbox. A job row is written in the same transaction as
  the ticket or message it is about; the Celery task only carries its id. A task lost while
  Redis was down, or a worker killed mid-run, leaves the row pending, and the beat sweep
  sends it again: nothing depends on Redis being up at commit time.

Conditions and actions are JSON lists, validated and explained by tickets.automation.rules.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import TenantModel

__all__ = [
    "AgentProfile", "AutoReply", "AutomationJob", "ClassifierModel", "KeywordRule", "Macro",
    "Match", "RoutingRule", "TrainingLabel", "Trigger", "TriggerFiring",
    "Notification", "Dispatch",
]  # fmt: skip


class Match(models.TextChoices):
    ALL = "all", _("all conditions")
    ANY = "any", _("any condition")


class RoutingRule(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    match = models.CharField(_("match"), max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    stop = models.BooleanField(
        _("stop here"), default=True, help_text=_("Later rules are not tried once this matches.")
    )
    hits = models.PositiveIntegerField(default=0, editable=False)
    last_matched_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("routing rule")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Trigger(TenantModel):
    class Event(models.TextChoices):
        CREATED = "created", _("Ticket created")
        UPDATED = "updated", _("Ticket updated")
        CUSTOMER_REPLIED = "customer_replied", _("Customer replied")
        AGENT_REPLIED = "agent_replied", _("Agent replied")
        STATUS_CHANGED = "status_changed", _("Status changed")
        IDLE = "idle", _("Idle for some hours")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    event = models.CharField(_("when"), max_length=20, choices=Event.choices)
    idle_hours = models.PositiveIntegerField(
        _("idle hours"), null=True, blank=True,
        help_text=_("For “idle”: hours without any activity on an open ticket."),
    )  # fmt: skip
    match = models.CharField(_("match"), max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    hits = models.PositiveIntegerField(default=0, editable=False)
    last_fired_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("trigger")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class TriggerFiring(TenantModel):
    """A trigger fired on a ticket for one event: the loop guard and the idempotency key (an
    event is identified by `event_key`, e.g. the job or the idle period it came from)."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    event_key = models.CharField(max_length=100)
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "trigger", "ticket", "event_key"], name="triggerfiring_uniq"
            )
        ]


class Macro(TenantModel):
    class ReplyKind(models.TextChoices):
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
        related_name="+", verbose_name=_("owner"),
        help_text=_("Empty: shared with every agent."),
    )  # fmt: skip
    actions = models.JSONField(_("actions"), default=list, blank=True)
    reply_text = models.TextField(_("reply"), blank=True)
    reply_kind = models.CharField(
        _("reply as"), max_length=5, choices=ReplyKind.choices, default=ReplyKind.REPLY
    )
    uses = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("macro")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AutoReply(TenantModel):
    """The acknowledgement sent when a ticket is opened. The most specific active template
    wins: channel and language, then channel, then language, then the catch-all."""

    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    channel = models.CharField(_("channel"), max_length=16, blank=True,
                               help_text=_("Empty: every channel."))  # fmt: skip
    language = models.CharField(_("language"), max_length=10, blank=True,
                                help_text=_("Empty: every language."))  # fmt: skip
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    suggest_articles = models.BooleanField(
        _("suggest knowledge-base articles"), default=True,
        help_text=_("Up to three published articles that match the request."),
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("auto-reply")
        ordering = ["channel", "language", "id"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(TenantModel):
    class Availability(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    availability = models.CharField(
        _("availability"), max_length=8, choices=Availability.choices,
        default=Availability.ONLINE,
    )  # fmt: skip
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=20, help_text=_("Open tickets assigned automatically, at most.")
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="agentprofile_tenant_user_uniq")
        ]


class KeywordRule(TenantModel):
    """Classification by keywords: a ticket whose text holds any keyword gets the label (the
    fallback when the tenant has too few labelled tickets for its own classifier)."""

    class Kind(models.TextChoices):
        TYPE = "type", _("Inquiry type")
        TOPIC = "topic", _("Topic")

    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=50)
    keywords = models.JSONField(_("keywords"), default=list)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["kind", "position", "id"]


class TrainingLabel(TenantModel):
    """An agent's word on what a ticket is: training data for the tenant's classifier."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=5, choices=KeywordRule.Kind.choices)
    label = models.CharField(max_length=50)
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ticket", "kind"], name="traininglabel_uniq")
        ]
        indexes = [
            models.Index(fields=["tenant", "kind", "-created_at"], name="traininglabel_kind")
        ]


class ClassifierModel(TenantModel):
    """A trained classifier (pickled scikit-learn pipeline) with how well it did."""

    kind = models.CharField(max_length=5, choices=KeywordRule.Kind.choices)
    blob = models.BinaryField()
    labels = models.JSONField(default=list)
    samples = models.PositiveIntegerField(default=0)
    accuracy = models.FloatField(null=True)
    trained_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind"], name="classifiermodel_uniq")
        ]


class AutomationJob(TenantModel):
    class Event(models.TextChoices):
        CREATED = "created", _("Ticket created")
        CUSTOMER_REPLIED = "customer_replied", _("Customer replied")
        AGENT_REPLIED = "agent_replied", _("Agent replied")
        UPDATED = "updated", _("Ticket updated")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.CASCADE, null=True, related_name="+"
    )
    event = models.CharField(max_length=20, choices=Event.choices)
    data = models.JSONField(default=dict, blank=True)  # e.g. {"automatic": true, "fields": [..]}
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="automationjob_pending",
                condition=Q(done_at__isnull=True),
            ),  # fmt: skip
        ]


class Notification(TenantModel):
    """Something a staff member should see: the bell in the header and the notification
    centre (/notifications/). Triggers write them (the `notify` action); SLA warnings and
    breaches reuse them with `level` and acknowledgement. `key` makes a notification
    idempotent per recipient (a re-run writes nothing twice); empty means no key."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("recipient"),
    )  # fmt: skip
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    level = models.CharField(_("level"), max_length=8, choices=Level.choices, default=Level.INFO)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    key = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "recipient", "-id"], name="notification_inbox"),
            models.Index(
                fields=["tenant", "recipient"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),  # fmt: skip
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "recipient", "key"],
                name="notification_key_uniq",
                condition=~Q(key=""),
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def needs_acknowledgement(self) -> bool:
        return self.level != self.Level.INFO and self.acknowledged_at is None


class Dispatch(TenantModel):
    """An email or webhook call that automation sends: the outbox row, written in the same
    transaction as the decision to send it. A task sends it once that commits; the beat sweep
    sends again what a lost task (Redis down at commit) or a dead worker left behind."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    trigger = models.ForeignKey(
        Trigger, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target = models.CharField(max_length=500)  # an email address or a URL
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)  # the webhook's JSON body
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["changed_at"],
                name="dispatch_unsent",
                condition=Q(status__in=["pending", "sending"]),
            ),  # fmt: skip
        ]

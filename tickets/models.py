from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import TenantModel

# `email__lower="a@b.c"` compiles to LOWER(email) = 'a@b.c': the lookup the unique indexes on
# Lower("email") / Lower("value") can answer (`__iexact` compiles to UPPER(...) and scans).
models.CharField.register_lookup(Lower)


class CustomerTier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    PREMIUM = "premium", _("Premium")
    VIP = "vip", _("VIP")


class Organization(TenantModel):
    name = models.CharField(_("name"), max_length=150)
    domain = models.CharField(
        _("email domain"), max_length=253, blank=True, help_text=_("e.g. example.com")
    )
    tier = models.CharField(
        _("tier"), max_length=16, choices=CustomerTier.choices, default=CustomerTier.STANDARD
    )
    notes = models.TextField(_("notes"), blank=True)
    shared_requests = models.BooleanField(
        _("members see each other's requests"),
        default=False,
        help_text=_("In the portal, every contact of this organization sees all its requests."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="organization_tenant_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TenantModel):
    """A customer of one tenant. With `user` set they can sign in to the tenant's portal."""

    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("email address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("organization"),
    )
    tier = models.CharField(
        _("tier"), max_length=16, choices=CustomerTier.choices, default=CustomerTier.STANDARD
    )
    notes = models.TextField(_("notes about this customer"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("portal login"),
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        ordering = ["name"]
        # Lookups by address are exact matches on the stored (lower-cased) value: under RLS an
        # index on LOWER(email) is not used (LOWER is not leakproof); this one is.
        indexes = [models.Index(fields=["tenant", "email"], name="contact_tenant_email")]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("email"),
                condition=~Q(email=""),
                name="contact_tenant_email_uniq",
            ),
            models.UniqueConstraint(
                fields=["tenant", "user"],
                condition=Q(user__isnull=False),
                name="contact_tenant_user_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def effective_tier(self) -> str:
        """The higher of the contact's own tier and their organization's."""
        order = [CustomerTier.STANDARD, CustomerTier.PREMIUM, CustomerTier.VIP]
        tiers = [self.tier] + ([self.organization.tier] if self.organization_id else [])
        return max(tiers, key=order.index)


class ContactIdentity(TenantModel):
    """One way to reach a contact: an email address, a phone number, a chat or messaging id.
    Several identities make one person; ingest matches on them."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        CHAT = "chat", _("Live chat")
        WECHAT = "wechat", _("WeChat")
        WECHAT_KF = "wechat_kf", _("WeChat Customer Service")
        WECOM = "wecom", _("WeCom")
        DINGTALK = "dingtalk", _("DingTalk")
        FEISHU = "feishu", _("Feishu")
        WHATSAPP = "whatsapp", _("WhatsApp")
        TELEGRAM = "telegram", _("Telegram")
        MESSENGER = "messenger", _("Messenger")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact identity")
        indexes = [
            models.Index(fields=["tenant", "kind", "value"], name="identity_tenant_kind_value")
        ]
        constraints = [
            models.UniqueConstraint(
                "tenant", "kind", Lower("value"), name="identity_tenant_kind_value_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Team(TenantModel):
    class Tier(models.IntegerChoices):
        TIER_1 = 1, _("Tier 1")
        TIER_2 = 2, _("Tier 2")
        TIER_3 = 3, _("Tier 3")

    name = models.CharField(_("name"), max_length=100)
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.TIER_1)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Assignment(models.TextChoices):
        MANUAL = "manual", _("Nobody: agents pick tickets from the team queue")
        ROUND_ROBIN = "round_robin", _("Round-robin")
        LEAST_LOADED = "least_loaded", _("Least-loaded (open tickets weighted by priority)")

    assignment = models.CharField(
        _("automatic assignment"), max_length=12, choices=Assignment.choices,
        default=Assignment.MANUAL,
    )  # fmt: skip
    # Round-robin: who got the team's last ticket (the next one goes to whoever follows).
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", editable=False,
    )  # fmt: skip

    class Meta:
        verbose_name = _("team")
        ordering = ["tier", "name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="team_tenant_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(TenantModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    skills = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "team", "user"], name="teammember_uniq")
        ]


class Tag(TenantModel):
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("tag")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="tag_tenant_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class CustomField(TenantModel):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        CHOICE = "choice", _("Drop-down")
        CHECKBOX = "checkbox", _("Checkbox")
        DATE = "date", _("Date")

    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("custom field")
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="customfield_tenant_key_uniq")
        ]

    def __str__(self) -> str:
        return self.label


class TicketCounter(TenantModel):
    """Per-tenant ticket numbers (1, 2, 3 …), handed out by one atomic UPSERT."""

    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="ticketcounter_tenant_uniq")]


# Not merged away and in one of Ticket.OPEN_STATUSES (spelled out: an index condition is SQL).
OPEN_UNMERGED = Q(status__in=["new", "open", "pending", "on-hold"], merged_into__isnull=True)


class Ticket(TenantModel):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending on customer")
        ON_HOLD = "on-hold", _("On hold")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Type(models.TextChoices):
        QUESTION = "question", _("Question")
        INCIDENT = "incident", _("Incident")
        PROBLEM = "problem", _("Problem")
        TASK = "task", _("Task")

    class Category(models.TextChoices):
        INQUIRY = "inquiry", _("Inquiry")
        SUGGESTION = "suggestion", _("Suggestion")
        COMPLAINT = "complaint", _("Complaint")
        OTHER = "other", _("Other")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEB = "web", _("Web form")
        PORTAL = "portal", _("Portal")
        CHAT = "chat", _("Live chat")
        PHONE = "phone", _("Phone")
        WECHAT = "wechat", _("WeChat")
        WECHAT_KF = "wechat_kf", _("WeChat Customer Service")
        WECOM = "wecom", _("WeCom")
        DINGTALK = "dingtalk", _("DingTalk")
        FEISHU = "feishu", _("Feishu")
        WHATSAPP = "whatsapp", _("WhatsApp")
        TELEGRAM = "telegram", _("Telegram")
        MESSENGER = "messenger", _("Messenger")
        API = "api", _("API")

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)

    number = models.PositiveIntegerField(_("number"), editable=False)
    subject = models.CharField(_("subject"), max_length=250)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.QUESTION)
    category = models.CharField(
        _("category"), max_length=16, choices=Category.choices, default=Category.INQUIRY
    )
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.WEB
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    requester = models.ForeignKey(
        Contact, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("requester")
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("organization"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("team"),
    )
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Team.Tier.choices, default=1)
    custom_fields = models.JSONField(default=dict, blank=True)
    # Classification (tickets.automation.classify): topic, and how type and topic were chosen
    # ({"type": {"label", "confidence", "source", "words"}, "topic": {...}}).
    topic = models.CharField(_("topic"), max_length=50, blank=True)
    classification = models.JSONField(default=dict, blank=True)
    # Routing: skills the assignee needs, and whether it waits in its team's queue for an
    # agent with capacity (assigned as soon as one frees up).
    required_skills = models.JSONField(default=list, blank=True)
    awaiting_assignment = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_tickets"
    )
    snippet = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every property change: an edit made on an older version is a conflict.
    version = models.PositiveIntegerField(default=1)
    # Search: segmented text (jieba for Chinese), maintained by tickets.search.
    search_title = models.TextField(blank=True, default="")
    search_body = models.TextField(blank=True, default="")
    search_vector = models.GeneratedField(
        expression=SearchVector("search_title", config="simple", weight="A")
        + SearchVector("search_body", config="simple", weight="B"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        verbose_name = _("ticket")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="ticket_tenant_number_uniq")
        ]
        indexes = [
            models.Index(
                F("tenant"), F("status"), F("last_activity_at").desc(), F("id").desc(),
                name="ticket_inbox_status",
            ),
            models.Index(
                F("tenant"), F("assignee"), F("status"), F("last_activity_at").desc(),
                F("id").desc(), name="ticket_inbox_assignee",
            ),
            models.Index(
                F("tenant"), F("team"), F("status"), F("last_activity_at").desc(), F("id").desc(),
                name="ticket_inbox_team",
            ),
            models.Index(
                F("tenant"), F("last_activity_at").desc(), F("id").desc(), name="ticket_inbox_all"
            ),
            # Partial indexes for the views agents open all day: "All open", "My open" and
            # "Unassigned" read them in order and stop after one page (bench/README.md).
            models.Index(
                F("tenant"), F("last_activity_at").desc(), F("id").desc(),
                name="ticket_open_activity", condition=OPEN_UNMERGED,
            ),
            models.Index(
                F("tenant"), F("assignee"), F("last_activity_at").desc(), F("id").desc(),
                name="ticket_open_assignee", condition=OPEN_UNMERGED,
            ),
            models.Index(
                F("tenant"), F("solved_at").desc(), name="ticket_solved_recently",
                condition=Q(status="solved", merged_into__isnull=True),
            ),
            models.Index(fields=["tenant", "requester", "-created_at"], name="ticket_requester"),
            models.Index(
                F("tenant"), F("team"), F("created_at"), name="ticket_team_queue",
                condition=Q(awaiting_assignment=True),
            ),
            GinIndex(fields=["search_vector"], name="ticket_search_gin"),
            GinIndex(fields=["subject"], name="ticket_subject_trgm", opclasses=["gin_trgm_ops"]),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class TicketTag(TenantModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ticket_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="ticket_tags")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ticket", "tag"], name="tickettag_uniq")
        ]
        indexes = [models.Index(fields=["tenant", "tag", "ticket"], name="tickettag_by_tag")]


class Message(TenantModel):
    class Kind(models.TextChoices):
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    class Direction(models.TextChoices):
        IN = "in", _("Inbound")
        OUT = "out", _("Outbound")

    class Delivery(models.TextChoices):
        NONE = "", _("Not sent")
        PENDING = "pending", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REPLY)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    channel = models.CharField(max_length=16, choices=Ticket.Channel.choices)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitised with nh3; safe to render.")
    # Threading / idempotency for mail and messaging channels.
    external_id = models.CharField(max_length=500, blank=True)
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.TextField(blank=True)
    delivery_status = models.CharField(
        max_length=8, choices=Delivery.choices, default=Delivery.NONE, blank=True
    )
    delivery_error = models.CharField(max_length=500, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    # When the delivery state last changed: the outbox sweep finds replies whose task was lost.
    delivery_changed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "ticket", "created_at"], name="message_thread"),
            models.Index(
                fields=["tenant", "external_id"],
                name="message_external_id",
                condition=~Q(external_id=""),
            ),
            models.Index(
                fields=["delivery_status", "delivery_changed_at"],
                name="message_outbox",
                condition=Q(delivery_status__in=["pending", "sending", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket_id}"

    @property
    def is_note(self) -> bool:
        return self.kind == self.Kind.NOTE


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"tenants/{instance.tenant_id}/attachments/{instance.message_id}/{filename}"


class Attachment(TenantModel):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type in {"image/png", "image/jpeg", "image/gif", "image/webp"}


class CannedResponse(TenantModel):
    """预制回复: shared (owner empty) or personal. Placeholders: {{ contact.name }},
    {{ ticket.number }}, {{ ticket.subject }}, {{ agent.name }}."""

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("personal to"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("canned response")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class TicketEvent(TenantModel):
    """One change on a ticket: who (or which rule), what, and why. The timeline."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    data = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "ticket", "created_at"], name="event_timeline")]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id}"


class TicketLink(TenantModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links")
    other = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ticket", "other"], name="ticketlink_uniq")
        ]


class TicketFollower(TenantModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ticket", "user"], name="ticketfollower_uniq")
        ]


class TicketRead(TenantModel):
    """When an agent last opened a ticket: newer activity shows as unread in their inbox."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user", "ticket"], name="ticketread_uniq")
        ]


class SavedView(TenantModel):
    """A named inbox filter: personal (owner set) or shared with the whole team."""

    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    filters = models.JSONField(default=dict)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


# Models of the automation package belong to this app (tickets.automation.models).
from .automation.models import *  # noqa: E402, F403

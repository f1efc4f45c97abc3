"""What SLAs are configured with (docs/sla.md).

- `BusinessCalendar`: a time zone, weekly opening hours (split shifts, overnight, or 24/7) and
  a country whose public holidays and make-up working days apply; one per tenant is the default.
- `CalendarDate`: a tenant's own date on a calendar (a closure, an extra working day, special
  hours); it wins over the weekly hours and the country's holidays.
- `SLAPolicy`: ordered; the first active one whose conditions match a ticket sets its targets
  (first response, next response, resolution, in minutes), counted in business time on its
  calendar (or the default one) or in calendar time, with per-priority overrides.

Validation of the JSON fields lives in sla.calendar (hours) and sla.policies (conditions,
overrides): plain functions, used here as field validators.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import TenantModel, validate_timezone
from tickets.automation.models import Match, Notification

from . import calendar as calmath
from .public_holidays import is_supported

__all__ = [
    "Alert",
    "AlertRule",
    "BusinessCalendar",
    "CalendarDate",
    "Escalation",
    "EscalationPolicy",
    "SLAPolicy",
    "SLATimer",
    "default_weekly_hours",
]


def default_weekly_hours() -> dict:
    workday = [["09:00", "18:00"]]
    return {"mon": workday, "tue": workday, "wed": workday, "thu": workday, "fri": workday,
            "sat": [], "sun": []}  # fmt: skip


def validate_weekly_hours(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError(_("Weekly hours must map days (mon … sun) to lists of intervals."))
    unknown = set(value) - set(calmath.DAYS)
    if unknown:
        raise ValidationError(_("Unknown day “%(day)s”."), params={"day": sorted(unknown)[0]})
    for day, hours in value.items():
        try:
            calmath.parse_intervals(hours)
        except calmath.CalendarError as error:
            raise ValidationError(f"{day}: {error}") from None


def validate_intervals(value) -> None:
    try:
        calmath.parse_intervals(value)
    except calmath.CalendarError as error:
        raise ValidationError(str(error)) from None


def validate_holiday_country(value: str) -> None:
    if value and not is_supported(value):
        raise ValidationError(
            _("“%(value)s” is not a country with known public holidays."), params={"value": value}
        )


class BusinessCalendar(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    always_open = models.BooleanField(
        _("open 24/7"), default=False, help_text=_("Every day, all day; weekly hours are ignored.")
    )
    # {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], ..., "sun": []}; an end before its start
    # runs overnight (["22:00", "06:00"]), "24:00" ends a day.
    weekly_hours = models.JSONField(
        _("weekly hours"), default=default_weekly_hours, validators=[validate_weekly_hours]
    )
    holiday_country = models.CharField(
        _("public holidays of"),
        max_length=2,
        blank=True,
        validators=[validate_holiday_country],
        help_text=_("ISO country code, e.g. CN; its holidays and make-up working days apply."),
    )
    is_default = models.BooleanField(_("default calendar"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Part of the cache key of the built calendar (sla.selectors): sla.services bumps it when
    # one of the calendar's dates changes.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(is_default=True), name="businesscalendar_one_default"
            ),
            models.UniqueConstraint("tenant", Lower("name"), name="businesscalendar_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarDate(TenantModel):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Closed (holiday)")
        # Open with a normal weekday's hours: Monday's, or the first weekday's that has hours
        # (sla.calendar.workday_hours); for make-up working days such as China's 调休.
        WORKDAY = "workday", _("Working day (normal weekday hours)")
        HOURS = "hours", _("Special hours")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.HOLIDAY)
    hours = models.JSONField(
        _("hours"), default=list, blank=True, validators=[validate_intervals],
        help_text=_('For special hours: [["10:00", "14:00"]].'),
    )  # fmt: skip
    name = models.CharField(_("name"), max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar date")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "calendar", "date"], name="calendardate_calendar_date_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name or self.get_kind_display()}"


def validate_conditions(value) -> None:
    from .policies import ConditionError, validate_conditions

    try:
        validate_conditions(value)
    except ConditionError as error:
        raise ValidationError(str(error)) from None


def validate_per_priority(value) -> None:
    from .policies import ConditionError, validate_per_priority

    try:
        validate_per_priority(value)
    except ConditionError as error:
        raise ValidationError(str(error)) from None


class SLAPolicy(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    match = models.CharField(_("match"), max_length=3, choices=Match.choices, default=Match.ALL)
    # [{"field": "priority", "op": "in", "value": ["urgent"]}]: fields priority, channel,
    # requester_tier, category, team (ids as text); ops in / not_in. No conditions: every ticket.
    conditions = models.JSONField(
        _("conditions"), default=list, blank=True, validators=[validate_conditions]
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policies",
        verbose_name=_("calendar"),
        help_text=_("Empty: the default calendar."),
    )
    business_hours = models.BooleanField(
        _("count business hours only"),
        default=True,
        help_text=_("Off: the clock runs around the clock, holidays included."),
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (minutes)"), null=True, blank=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response within (minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (minutes)"), null=True, blank=True
    )
    # {"urgent": {"first_response": 60, "resolution": 240}}: replaces the targets above for a
    # priority; null removes a target.
    per_priority = models.JSONField(
        _("per-priority targets"), default=dict, blank=True, validators=[validate_per_priority]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]
        indexes = [
            models.Index(
                fields=["tenant", "position", "id"],
                name="slapolicy_active_order",
                condition=Q(is_active=True),
            )
        ]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="slapolicy_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class SLATimer(TenantModel):
    """One SLA clock of one ticket (docs/sla.md › Timers): first response, resolution, and one
    next-response cycle per customer reply that waits for an answer. Deadlines are stored, so
    the inbox reads them and the beat sweep finds the due ones by index (sla.sweep); the
    clock's pauses are kept, so a change of policy or priority recomputes them exactly."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        MET = "met", _("Met")
        STOPPED = "stopped", _("Stopped")  # the ticket was solved or the target removed

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="sla_timers"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    cycle = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    policy = models.ForeignKey(
        SLAPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    policy_name = models.CharField(max_length=100, blank=True)  # as it was, for the audit
    target_minutes = models.PositiveIntegerField()
    business_hours = models.BooleanField(default=True)
    started_at = models.DateTimeField()
    # [["2026-01-05T10:00:00+00:00", "2026-01-06T09:00:00+00:00"], ...]: finished pauses.
    pauses = models.JSONField(default=list, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)  # None while paused
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    achieved_at = models.DateTimeField(null=True, blank=True)
    # When the worker recorded the warning / breach the sweep marked (sla.breaches): the
    # timer row is its own outbox, so a sweep writes nothing else.
    warning_handled_at = models.DateTimeField(null=True, blank=True)
    breach_handled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SLA timer")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "ticket", "kind", "cycle"], name="slatimer_cycle_uniq"
            ),
        ]
        indexes = [
            # The sweep: O(due timers), across tenants (sla.sweep). No index names the columns
            # the sweep writes (breached_at, warned_at), so its UPDATE is a HOT update: no index
            # entry is written (the table keeps free space on its pages for that: fillfactor).
            models.Index(
                fields=["due_at"], name="slatimer_breach_due",
                condition=Q(state="running", breach_handled_at__isnull=True),
            ),
            models.Index(
                fields=["warn_at"], name="slatimer_warn_due",
                condition=Q(state="running", warning_handled_at__isnull=True),
            ),
            # The "at risk" view and countdowns in due order.
            models.Index(
                fields=["tenant", "due_at"], name="slatimer_running_due",
                condition=Q(state="running"),
            ),
            # What-if replays and compliance reports over a period.
            models.Index(fields=["tenant", "started_at"], name="slatimer_started"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.kind} #{self.cycle} of ticket {self.ticket_id}"


# --- Escalation policies and alert rules (docs/sla.md › Escalation and alerts) -------------------


class EscalationPolicy(TenantModel):
    """When a ticket moves up a tier: on an SLA warning or breach (optionally of some clocks
    only), on the N-th customer reply, on a complaint, or by an agent's hand. Ordered; the
    first active policy of the cause whose conditions hold acts (sla.escalation)."""

    class When(models.TextChoices):
        SLA_WARNING = "sla_warning", _("SLA warning (at 75 %)")
        SLA_BREACHED = "sla_breached", _("SLA breached")
        CUSTOMER_REPLIES = "customer_replies", _("The customer's N-th reply")
        COMPLAINT = "complaint", _("A complaint")
        MANUAL = "manual", _("An agent presses “Escalate”")

    class Target(models.TextChoices):
        NEXT_TIER = "next", _("The next tier's team")
        TEAM = "team", _("A named team")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    when = models.CharField(_("when"), max_length=20, choices=When.choices)
    # SLA causes: only these clocks (first_response / next_response / resolution); empty: any.
    clock_kinds = models.JSONField(_("clocks"), default=list, blank=True)
    reply_count = models.PositiveSmallIntegerField(_("number of customer replies"), null=True,
                                                   blank=True)  # fmt: skip
    # Conditions, each optional (empty: any): priorities, current tiers, current team ids.
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    tiers = models.JSONField(_("current tiers"), default=list, blank=True)
    teams = models.JSONField(_("current teams"), default=list, blank=True)
    target = models.CharField(_("move to"), max_length=8, choices=Target.choices,
                              default=Target.NEXT_TIER)  # fmt: skip
    to_team = models.ForeignKey(
        "tickets.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("team"),
    )  # fmt: skip
    reroute = models.BooleanField(
        _("re-route inside the new team"), default=True,
        help_text=_("The team's assignment strategy picks the new assignee."),
    )  # fmt: skip
    # "" no change, "up" one step, or a level ("high", "urgent"): never lowered.
    raise_priority = models.CharField(_("priority"), max_length=8, blank=True, default="")
    hits = models.PositiveIntegerField(default=0, editable=False)
    last_fired_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="escalationpolicy_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Escalation(TenantModel):
    """One escalation of one ticket, and its once-key: unique per (policy, ticket, cause), so
    a re-run job, a second sweep or a double-clicked button escalates nothing twice. `cause`
    is e.g. "sla_breached:<timer id>", "replies:3", "complaint", "manual:<form token>"."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="escalations")  # fmt: skip
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE,
                               related_name="escalations")  # fmt: skip
    cause = models.CharField(max_length=100)
    from_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    to_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    team = models.ForeignKey("tickets.Team", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")  # fmt: skip
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")  # fmt: skip
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("escalation")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "policy", "ticket", "cause"], name="escalation_once",
                nulls_distinct=False,
            ),
        ]  # fmt: skip
        indexes = [models.Index(fields=["tenant", "ticket"], name="escalation_ticket")]


class AlertRule(TenantModel):
    """Who hears about an SLA warning, a breach or an escalation, how loudly and how: in the
    app, by email, by webhook; with an acknowledgement deadline and a chain of further
    recipients told when nobody acknowledged in time (sla.alerts)."""

    class Event(models.TextChoices):
        SLA_WARNING = "sla_warning", _("SLA warning")
        SLA_BREACHED = "sla_breached", _("SLA breached")
        ESCALATED = "escalated", _("Ticket escalated")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    event = models.CharField(_("when"), max_length=16, choices=Event.choices)
    clock_kinds = models.JSONField(_("clocks"), default=list, blank=True)
    level = models.CharField(_("level"), max_length=8, choices=Notification.Level.choices,
                             default=Notification.Level.WARNING)  # fmt: skip
    # "assignee", "team", "team_leads", "managers"; plus named users (ids).
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    users = models.JSONField(_("named people"), default=list, blank=True)
    via = models.JSONField(_("delivery"), default=list, blank=True)  # in_app, email, webhook
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    ack_within_minutes = models.PositiveIntegerField(_("acknowledge within (minutes)"), null=True,
                                                     blank=True)  # fmt: skip
    # The steps after the first: [{"recipients": ["managers"], "users": [12]}, ...].
    chain = models.JSONField(_("escalation chain"), default=list, blank=True)
    hits = models.PositiveIntegerField(default=0, editable=False)
    last_fired_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert rule")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="alertrule_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Alert(TenantModel):
    """One alert of one rule about one ticket and cause (unique: raised once), with where its
    chain is: `step` 1 is the rule's own recipients; `next_step_at` is when the next step is
    due unless someone acknowledges first (None: the chain is done or stopped)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    cause = models.CharField(max_length=100)
    level = models.CharField(max_length=8)
    step = models.PositiveSmallIntegerField(default=1)
    next_step_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                        null=True, blank=True, related_name="+")  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rule", "ticket", "cause"], name="alert_once"
            ),  # fmt: skip
        ]
        indexes = [
            # The chain sweep: O(due alerts), across tenants (sla.alerts).
            models.Index(fields=["next_step_at"], name="alert_chain_due",
                         condition=Q(acknowledged_at__isnull=True, next_step_at__isnull=False)),
            models.Index(fields=["tenant", "ticket"], name="alert_ticket"),
        ]  # fmt: skip

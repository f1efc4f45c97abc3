"""Demo SLA configuration: a default business calendar and three policies. Idempotent.

Plug it into the demo seed (helpdesk/demo) as a seeder: it takes (tenant, spec) like the others
and runs inside the tenant's context.

- Calendar: Mon–Fri 09:00–12:00 and 13:00–18:00 with public holidays. In Asia/Shanghai with
  China's holidays and 调休 working days, unless the tenant's time zone has its own country
  below (Acme, Europe/London: the same hours with England's bank holidays).
- Urgent (urgent priority): first response 1 hour, resolution 4 hours, around the clock.
- VIP (VIP customers): first response 2 business hours, next 4, resolution 2 business days;
  urgent VIP tickets 30 minutes / 4 hours.
- Standard (everything else): first response 8 business hours, next 8, resolution 3 business
  days (24 business hours: three of the calendar's 8-hour days).
"""

from __future__ import annotations

from django.db import transaction

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

from .models import BusinessCalendar, SLAPolicy
from .services import calendar_make_default

SPLIT = [["09:00", "12:00"], ["13:00", "18:00"]]
OFFICE_HOURS = {"mon": SPLIT, "tue": SPLIT, "wed": SPLIT, "thu": SPLIT, "fri": SPLIT,
                "sat": [], "sun": []}  # fmt: skip
# Time zone -> (calendar name, holiday country) for tenants outside China.
COUNTRY_OF_ZONE = {"Europe/London": ("Office hours (London)", "GB")}
CHINA = {"zh-hans": "工作时间（北京）", "en": "Office hours (Beijing)"}
CHINESE_NAMES = {"Urgent": "紧急", "VIP": "VIP 客户", "Standard": "标准"}
HOUR = 60
BUSINESS_DAY = 8 * HOUR

POLICIES = [
    {
        "name": "Urgent",
        "conditions": [{"field": "priority", "op": "in", "value": ["urgent"]}],
        "business_hours": False,
        "first_response_minutes": 1 * HOUR,
        "next_response_minutes": 2 * HOUR,
        "resolution_minutes": 4 * HOUR,
        "per_priority": {},
    },
    {
        "name": "VIP",
        "conditions": [{"field": "requester_tier", "op": "in", "value": ["vip"]}],
        "business_hours": True,
        "first_response_minutes": 2 * HOUR,
        "next_response_minutes": 4 * HOUR,
        "resolution_minutes": 2 * BUSINESS_DAY,
        "per_priority": {"urgent": {"first_response": 30, "resolution": 4 * HOUR}},
    },
    {
        "name": "Standard",
        "conditions": [],
        "business_hours": True,
        "first_response_minutes": 8 * HOUR,
        "next_response_minutes": 8 * HOUR,
        "resolution_minutes": 3 * BUSINESS_DAY,
        "per_priority": {},
    },
]


@transaction.atomic
def seed_sla(tenant: Tenant, spec=None) -> BusinessCalendar:
    """Create the demo calendar and policies in `tenant` if missing (never changes edits)."""
    chinese = tenant.default_language.startswith("zh")
    with tenant_context(tenant):
        china = CHINA["zh-hans" if chinese else "en"]
        name, country = COUNTRY_OF_ZONE.get(tenant.timezone, (china, "CN"))
        zone = tenant.timezone if tenant.timezone in COUNTRY_OF_ZONE else "Asia/Shanghai"
        calendar = BusinessCalendar.objects.filter(name=name).first()
        if calendar is None:
            calendar = BusinessCalendar(
                name=name, timezone=zone, weekly_hours=OFFICE_HOURS, holiday_country=country
            )
            calendar.full_clean(exclude=["tenant"])
            calendar.save()
        if not BusinessCalendar.objects.filter(is_default=True).exists():
            calendar_make_default(calendar=calendar)
        for position, fields in enumerate(POLICIES, start=1):
            named = fields["name"]
            fields = {**fields, "name": CHINESE_NAMES[named] if chinese else named}
            if SLAPolicy.objects.filter(name=fields["name"]).exists():
                continue
            policy = SLAPolicy(position=position * 10, **fields)
            policy.full_clean(exclude=["tenant"])
            policy.save()
        seed_clocks()
    return calendar


def seed_clocks() -> int:
    """SLA clocks for the seeded tickets that have none (they were made before the policies),
    from their own history: created, first answered, solved; a pending or on-hold ticket paused
    since its last activity. What the sweep would have marked by now (warnings, breaches,
    late answers) is marked as history, so the first beat raises no alerts for old tickets;
    clocks still running fire live as their time comes."""
    from django.db.models import F
    from django.db.models.functions import Coalesce

    from helpdesk.lib import clock
    from tickets.models import Ticket, TicketEvent

    from . import timers
    from .models import SLATimer

    now = clock.now()
    fresh = (
        Ticket.objects.filter(merged_into__isnull=True, sla_timers__isnull=True)
        .select_related("requester__organization")
        .order_by("id")
    )
    started = 0
    for ticket in fresh[:1000]:
        made = timers.start(ticket, now=min(ticket.last_activity_at, now))
        if made:  # the clocks started with the ticket: so does their line on the timeline
            TicketEvent.objects.filter(ticket=ticket, kind="sla_started").update(
                created_at=ticket.created_at
            )
        started += len(made)
    due = SLATimer.objects.filter(breached_at__isnull=True, due_at__lte=now)
    due.filter(state=SLATimer.State.RUNNING).update(
        breached_at=F("due_at"), warned_at=Coalesce("warned_at", F("warn_at")),
        breach_handled_at=F("due_at"), warning_handled_at=Coalesce("warned_at", F("warn_at")),
    )  # fmt: skip
    due.filter(state=SLATimer.State.MET, achieved_at__gt=F("due_at")).update(
        breached_at=F("due_at"), breach_handled_at=F("due_at")
    )
    SLATimer.objects.filter(
        state=SLATimer.State.RUNNING, warned_at__isnull=True, warn_at__lte=now
    ).update(warned_at=F("warn_at"), warning_handled_at=F("warn_at"))
    return started

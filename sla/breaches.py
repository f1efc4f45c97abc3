"""What happens when the sweep marks an SLA clock (sla.sweep): the worker side.

`handle_marks(timer_ids)` runs in the tenant's context, in one transaction: it locks the
timers' tickets, then the timers whose warning or breach is marked and not yet handled (SKIP
LOCKED: a second delivery of the same task finds them taken or done), records each on its
ticket's timeline at the time it happened, hands it to the escalation policies and alert
rules (sla.escalation), and sets warning_handled_at / breach_handled_at — all or nothing, so
a worker killed half way leaves the marks for the next delivery or the sweep's resend.

A breach that arrives with its warning unhandled is one breach (the warning is not told
separately). A clock met or paused after it was marked is still recorded (it happened), but
escalation is only asked about clocks still running on open tickets.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce

from helpdesk.lib import clock
from tickets import services
from tickets.models import Ticket

from .models import SLATimer

WARNING, BREACHED = "sla_warning", "sla_breached"
_PENDING = Q(breached_at__isnull=False, breach_handled_at__isnull=True) | Q(
    warned_at__isnull=False, warning_handled_at__isnull=True
)


def handle_marks(timer_ids: list[int]) -> dict[str, int]:
    from tickets.automation.jobs import locked_tickets

    done = {BREACHED: 0, WARNING: 0}
    with transaction.atomic(), services.buffered_events():
        ticket_ids = set(SLATimer.objects.filter(_PENDING, pk__in=timer_ids)
                         .values_list("ticket_id", flat=True))  # fmt: skip
        tickets = locked_tickets(ticket_ids)  # tickets first, as every other writer does
        timers = list(
            SLATimer.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_PENDING, pk__in=timer_ids)
            .order_by("id")
        )
        now = clock.real_now()
        breached = [t for t in timers if t.breached_at and not t.breach_handled_at]
        warned = [t for t in timers if t not in breached]
        for event, group in ((WARNING, warned), (BREACHED, breached)):
            for timer in group:
                ticket = tickets.get(timer.ticket_id)
                if ticket is not None:
                    record(ticket, timer, event)
                done[event] += 1
        if breached:
            SLATimer.objects.filter(pk__in=[t.pk for t in breached]).update(
                breach_handled_at=now, warning_handled_at=Coalesce("warning_handled_at", now)
            )
        if warned:
            SLATimer.objects.filter(pk__in=[t.pk for t in warned]).update(warning_handled_at=now)
    return done


def handle_pending(limit: int = 1000) -> dict[str, int]:
    """Every marked, unhandled timer of the current tenant (tests; an operator's nudge)."""
    pending = SLATimer.objects.filter(_PENDING).order_by("id")
    ids = list(pending.values_list("id", flat=True)[:limit])
    return handle_marks(ids) if ids else {BREACHED: 0, WARNING: 0}


def record(ticket: Ticket, timer: SLATimer, event: str) -> None:
    """The warning or breach on the timeline, then escalation and alerts for a live clock."""
    at = timer.due_at if event == BREACHED else timer.warn_at
    services.event(
        ticket=ticket,
        kind=event,
        actor=None,
        reason=timer.policy_name,
        timer=timer.kind,
        cycle=timer.cycle,
        minutes=timer.target_minutes,
        business_hours=timer.business_hours,
        due=timer.due_at.isoformat() if timer.due_at else None,
        at=at.isoformat() if at else None,
    )
    if ticket.is_open and not ticket.merged_into_id and timer.state == SLATimer.State.RUNNING:
        from . import escalation

        escalation.on_sla_event(ticket, timer, event=event)

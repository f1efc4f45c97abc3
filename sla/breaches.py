"""What happens when the sweep finds an SLA clock due (sla.sweep): the worker side.

The sweep queues one automation job per warning or breach, carrying {"timer", "kind",
"cycle", "at"}. `handle(job, ticket)` runs inside the job's transaction (exactly once, like
every automation job): it records the warning or breach on the ticket's timeline, at the time
it happened, then hands it to the escalation policies and alert rules (sla.escalation).

A timer met or paused between the sweep and the job is still recorded (the breach happened),
but escalation is only asked about clocks that are still running on open tickets.
"""

from __future__ import annotations

from django.utils.dateparse import parse_datetime

from tickets import services
from tickets.automation.models import AutomationJob
from tickets.models import Ticket

from .models import SLATimer


def handle(job: AutomationJob, ticket: Ticket) -> SLATimer | None:
    timer = SLATimer.objects.filter(pk=job.data.get("timer"), ticket=ticket).first()
    if timer is None:  # the ticket was merged or its timers removed since
        return None
    at = parse_datetime(str(job.data.get("at") or "")) or timer.due_at
    services.event(
        ticket=ticket,
        kind=job.event,  # sla_warning / sla_breached
        actor=None,
        reason=timer.policy_name,
        timer=timer.kind,
        cycle=timer.cycle,
        minutes=timer.target_minutes,
        business_hours=timer.business_hours,
        due=timer.due_at.isoformat() if timer.due_at else None,
        at=at.isoformat() if at else None,
    )
    if ticket.is_open and timer.state == SLATimer.State.RUNNING:
        from . import escalation

        escalation.on_sla_event(ticket, timer, event=job.event)
    return timer

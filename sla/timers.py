"""Per-ticket SLA timers: started, paused, resumed, met and recomputed as the ticket changes
(docs/sla.md › Timers). Called by tickets.services and the automation pipeline inside the
transaction that made the change (the ticket row is locked by then), never through signals.

    start(ticket, agent_created=False)          the policy's clocks for a new ticket
    agent_replied(ticket, at)                   first / next response met
    customer_replied(ticket, at)                a next-response cycle (once answered before)
    status_changed(ticket, old, new, at)        pending / on-hold pause, solved meets resolution,
                                                reopening resumes it
    recompute(ticket, reason)                   priority, team, category … changed: the policy is
                                                chosen again and the deadlines follow, exactly
    starting(ticket_id)                         inside: changes to that new ticket touch no timer
                                                (the pipeline starts them once routing is done)

Every change leaves an `sla_*` TicketEvent (the audit trail on the timeline). Warnings and
breaches are the beat sweep's (sla.sweep), which finds due timers by index.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils.dateparse import parse_datetime

from helpdesk.lib import clock as wallclock
from tickets.models import Ticket

from . import calendar as calmath
from . import clocks
from .models import SLAPolicy, SLATimer
from .policies import policy_for, targets_for

Kind, State = SLATimer.Kind, SLATimer.State
PAUSED_STATUSES = frozenset({Ticket.Status.PENDING, Ticket.Status.ON_HOLD})
DONE_STATUSES = frozenset({Ticket.Status.SOLVED, Ticket.Status.CLOSED})
# Changes that can choose another policy or other targets.
POLICY_FIELDS = frozenset({"priority", "team", "category", "channel", "requester", "organization"})
OPEN_STATES = (State.RUNNING, State.PAUSED)

_starting: ContextVar[frozenset[int]] = ContextVar("sla_starting", default=frozenset())
_new_timers: ContextVar[list[SLATimer] | None] = ContextVar("sla_new_timers", default=None)


@contextmanager
def buffered() -> Iterator[None]:
    """New tickets' timers written with one INSERT on the way out (an automation batch)."""
    if _new_timers.get() is not None:
        yield
        return
    made: list[SLATimer] = []
    token = _new_timers.set(made)
    try:
        yield
    finally:
        _new_timers.reset(token)
    if made:
        SLATimer.objects.bulk_create(made)


@contextmanager
def starting(ticket_id: int) -> Iterator[None]:
    token = _starting.set(_starting.get() | {ticket_id})
    try:
        yield
    finally:
        _starting.reset(token)


def _skip(ticket: Ticket) -> bool:
    return ticket.pk in _starting.get()


# --- Policy and calendar -------------------------------------------------------------------


def _calendar(policy: SLAPolicy | None) -> calmath.Calendar:
    from .selectors import calendar_for

    return calmath.ALWAYS_OPEN if policy is None else calendar_for(policy)


def timer_calendar(timer: SLATimer) -> calmath.Calendar:
    """The calendar a stored timer counts on (its policy's, or 24/7 if it is gone)."""
    if not timer.business_hours:
        return calmath.ALWAYS_OPEN
    if timer.policy_id:
        return _calendar(timer.policy)
    from .policies import default_calendar
    from .selectors import calendar_for

    return calendar_for(default_calendar())


# --- The clock of a stored timer -----------------------------------------------------------


def clock_of(timer: SLATimer) -> clocks.Clock:
    pauses = tuple((parse_datetime(a), parse_datetime(b)) for a, b in timer.pauses or ())
    return clocks.Clock(timer.started_at, pauses, timer.paused_at)


def _keep_clock(timer: SLATimer, clock: clocks.Clock) -> None:
    timer.pauses = [[a.isoformat(), b.isoformat()] for a, b in clock.pauses]
    timer.paused_at = clock.paused_since


def _plan(timer: SLATimer, cal: calmath.Calendar) -> None:
    """Due and warning times from the timer's clock and target (None while paused)."""
    clock = clock_of(timer)
    try:
        timer.due_at = clocks.due_at(cal, clock, timer.target_minutes)
        timer.warn_at = clocks.warn_at(cal, clock, timer.target_minutes)
    except calmath.NoOpenTimeError:  # a calendar with no open time ahead: never due
        timer.due_at = timer.warn_at = None


def _event(ticket: Ticket, kind: str, *, reason: str = "", **data) -> None:
    from tickets import services

    services.event(ticket=ticket, kind=kind, actor=None, reason=reason, **data)


def _summary(timer: SLATimer) -> dict:
    return {
        "timer": timer.kind,
        "cycle": timer.cycle,
        "minutes": timer.target_minutes,
        "business_hours": timer.business_hours,
        "due": timer.due_at.isoformat() if timer.due_at else None,
    }


def _new_timer(ticket: Ticket, policy: SLAPolicy, kind: str, minutes: int, *, started_at: datetime,
               cycle: int = 1) -> SLATimer:  # fmt: skip
    return SLATimer(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        kind=kind,
        cycle=cycle,
        policy=policy,
        policy_name=policy.name,
        target_minutes=minutes,
        business_hours=policy.business_hours,
        started_at=started_at,
    )


def _open_timers(ticket: Ticket, kinds: tuple[str, ...] | None = None) -> list[SLATimer]:
    rows = SLATimer.objects.filter(ticket=ticket, state__in=OPEN_STATES).select_related(
        "policy__calendar"
    )
    if kinds:
        rows = rows.filter(kind__in=kinds)
    return list(rows.select_for_update(of=("self",)).order_by("id"))


SAVED_FIELDS = (
    "state",
    "policy_id",
    "policy_name",
    "target_minutes",
    "business_hours",
    "pauses",
    "paused_at",
    "due_at",
    "warn_at",
    "warned_at",
    "breached_at",
    "achieved_at",
)


def _save(timers: list[SLATimer]) -> None:
    """A ticket's changed timers: a plain UPDATE each for the usual one to three (cheaper than
    bulk_update's CASE over every field), bulk_update beyond."""
    if len(timers) > 3:
        SLATimer.objects.bulk_update(timers, [f.removesuffix("_id") for f in SAVED_FIELDS])
        return
    for timer in timers:
        SLATimer.objects.filter(pk=timer.pk).update(
            updated_at=wallclock.real_now(), **{f: getattr(timer, f) for f in SAVED_FIELDS}
        )


# --- Events --------------------------------------------------------------------------------


def start(
    ticket: Ticket, *, agent_created: bool = False, fresh: bool = False, now: datetime | None = None
) -> list[SLATimer]:
    """The clocks of a new ticket's policy, counted from its creation: first response (unless
    an agent opened it), resolution. Idempotent: a ticket that has timers gets no more
    (`fresh`: the caller knows it has none, the automation job of its creation)."""
    if not fresh and SLATimer.objects.filter(ticket=ticket).exists():
        return []
    pending = _new_timers.get()
    if pending and any(t.ticket_id == ticket.pk for t in pending):
        return []  # started earlier in this batch, not yet written
    now = now or wallclock.now()
    policy = policy_for(ticket)
    if policy is None:
        return []
    targets = targets_for(policy, ticket.priority)
    cal = _calendar(policy)
    made = []
    for kind in (Kind.FIRST_RESPONSE, Kind.RESOLUTION):
        minutes = targets[kind]
        if minutes is None or (kind == Kind.FIRST_RESPONSE and agent_created):
            continue
        timer = _new_timer(ticket, policy, kind, minutes, started_at=ticket.created_at)
        if kind == Kind.FIRST_RESPONSE and ticket.first_response_at:
            timer.state, timer.achieved_at = State.MET, ticket.first_response_at
        elif ticket.status in DONE_STATUSES:
            _keep_clock(timer, clock_of(timer).paused(ticket.solved_at or now))
            if kind == Kind.RESOLUTION:
                _meet(timer, ticket.solved_at or now)
            else:
                timer.state = State.STOPPED
        elif ticket.status in PAUSED_STATUSES:
            _keep_clock(timer, clock_of(timer).paused(now))
            timer.state = State.PAUSED
        _plan(timer, cal)
        made.append(timer)
    if not made:
        return []
    if fresh and pending is not None:
        pending.extend(made)  # nothing in the batch reads them before they are written
    else:
        SLATimer.objects.bulk_create(made)
    _event(ticket, "sla_started", reason=policy.name, policy=policy.pk,
           timers=[_summary(t) for t in made])  # fmt: skip
    return made


def agent_replied(ticket: Ticket, *, at: datetime | None = None) -> list[SLATimer]:
    """A public answer by an agent meets the running first- or next-response clock."""
    if _skip(ticket):
        return []
    at = at or wallclock.now()
    met = _open_timers(ticket, (Kind.FIRST_RESPONSE, Kind.NEXT_RESPONSE))
    for timer in met:
        _meet(timer, at)
    _save(met)
    for timer in met:
        _event(ticket, "sla_met", reason=timer.policy_name, **_summary(timer),
               late=timer.breached_at is not None)  # fmt: skip
    return met


def _meet(timer: SLATimer, at: datetime) -> None:
    timer.state, timer.achieved_at = State.MET, at
    if timer.breached_at is None and timer.due_at is not None and at > timer.due_at:
        timer.breached_at = timer.due_at  # late, before the sweep came round: still a breach


def customer_replied(ticket: Ticket, *, at: datetime | None = None) -> SLATimer | None:
    """After the first answer, a customer's message waits for the next one: a new cycle of
    the next-response clock (none while one is already running)."""
    if _skip(ticket) or ticket.first_response_at is None or ticket.status in DONE_STATUSES:
        return None
    at = at or wallclock.now()
    timers = list(SLATimer.objects.filter(ticket=ticket, kind=Kind.NEXT_RESPONSE)
                  .select_for_update().values_list("cycle", "state"))  # fmt: skip
    if any(state in OPEN_STATES for _cycle, state in timers):
        return None
    policy = policy_for(ticket)
    minutes = targets_for(policy, ticket.priority)[Kind.NEXT_RESPONSE] if policy else None
    if minutes is None:
        return None
    cycle = max((c for c, _s in timers), default=0) + 1
    timer = _new_timer(ticket, policy, Kind.NEXT_RESPONSE, minutes, started_at=at, cycle=cycle)
    if ticket.status in PAUSED_STATUSES:
        _keep_clock(timer, clock_of(timer).paused(at))
        timer.state = State.PAUSED
    _plan(timer, _calendar(policy))
    timer.save()
    _event(ticket, "sla_started", reason=policy.name, policy=policy.pk, timers=[_summary(timer)])
    return timer


def status_changed(ticket: Ticket, *, old: str, new: str, at: datetime | None = None) -> None:
    """Pending and on-hold pause every clock; leaving them resumes it. Solving meets the
    resolution clock (and stops the response clocks); reopening resumes resolution, the time in
    between not counted."""
    stops = PAUSED_STATUSES | DONE_STATUSES
    if _skip(ticket) or old == new or (old not in stops and new not in stops):
        return
    at = at or wallclock.now()
    was_stopped = old in PAUSED_STATUSES or old in DONE_STATUSES
    now_stopped = new in PAUSED_STATUSES or new in DONE_STATUSES
    timers = _open_timers(ticket)
    reopened = None
    if old in DONE_STATUSES and new not in DONE_STATUSES:
        reopened = (SLATimer.objects.filter(ticket=ticket, kind=Kind.RESOLUTION, state=State.MET)
                    .select_for_update().order_by("-cycle").first())  # fmt: skip
        if reopened is not None:
            reopened.state, reopened.achieved_at = State.PAUSED, None
            timers.append(reopened)
    changed: list[tuple[SLATimer, str]] = []
    for timer in timers:
        if timer is reopened and now_stopped:  # solved → pending: reopened, still paused
            changed.append((timer, "sla_paused"))
            continue
        clock = clock_of(timer)
        if new in DONE_STATUSES:
            _keep_clock(timer, clock.paused(at))
            if timer.kind == Kind.RESOLUTION:
                _meet(timer, at)
                changed.append((timer, "sla_met"))
            else:
                timer.state = State.STOPPED
                changed.append((timer, "sla_stopped"))
        elif now_stopped and timer.state == State.RUNNING:
            _keep_clock(timer, clock.paused(at))
            timer.state = State.PAUSED
            changed.append((timer, "sla_paused"))
        elif not now_stopped and (was_stopped or timer.state == State.PAUSED):
            _keep_clock(timer, clock.resumed(at))
            timer.state = State.RUNNING
            changed.append((timer, "sla_resumed"))
        else:
            continue
        if timer.state in OPEN_STATES:
            _plan(timer, timer_calendar(timer))
    _save([timer for timer, _kind in changed])
    for timer, kind in changed:
        late = {"late": timer.breached_at is not None} if kind == "sla_met" else {}
        _event(ticket, kind, reason=timer.policy_name, **_summary(timer), status=new, **late)


def recompute(ticket: Ticket, *, reason: str = "", now: datetime | None = None) -> list[SLATimer]:
    """Choose the policy again and move every open clock's deadline to its new target (the
    clock's own history, pauses included, is kept). Clocks a new policy has no target for
    stop; a first-response or resolution clock the old policy lacked starts from the ticket's
    creation."""
    if _skip(ticket):
        return []
    now = now or wallclock.now()
    every = list(SLATimer.objects.filter(ticket=ticket).select_for_update().order_by("id"))
    if not every:
        return start(ticket, now=now, fresh=True)
    policy = policy_for(ticket)
    targets = targets_for(policy, ticket.priority) if policy else dict.fromkeys(Kind.values)
    cal = _calendar(policy)
    changed = []
    for timer in every:
        if timer.state not in OPEN_STATES:
            continue
        before = (timer.policy_id, timer.target_minutes, timer.due_at)
        minutes = targets[timer.kind]
        if minutes is None:
            timer.state = State.STOPPED
            changed.append(timer)
            continue
        timer.policy, timer.policy_name = policy, policy.name
        timer.target_minutes, timer.business_hours = minutes, policy.business_hours
        _plan(timer, cal)
        if (timer.policy_id, timer.target_minutes, timer.due_at) != before:
            changed.append(timer)
    _save(changed)
    have = {timer.kind for timer in every}
    added = []
    if policy is not None and ticket.status not in DONE_STATUSES:
        for kind in (Kind.FIRST_RESPONSE, Kind.RESOLUTION):
            if kind in have or targets[kind] is None:
                continue
            if kind == Kind.FIRST_RESPONSE and ticket.first_response_at:
                continue
            timer = _new_timer(ticket, policy, kind, targets[kind], started_at=ticket.created_at)
            if ticket.status in PAUSED_STATUSES:
                _keep_clock(timer, clock_of(timer).paused(now))
                timer.state = State.PAUSED
            _plan(timer, cal)
            added.append(timer)
        if added:
            SLATimer.objects.bulk_create(added)
    if changed or added:
        _event(ticket, "sla_recomputed", reason=reason or (policy.name if policy else ""),
               policy=policy.pk if policy else None,
               timers=[_summary(t) for t in (*changed, *added)])  # fmt: skip
    return [*changed, *added]


def ticket_changed(ticket: Ticket, *, old: dict, changed: list[str], reason: str = "") -> None:
    """tickets.services tells us which fields a change touched (with their old values)."""
    if _skip(ticket) or not changed:
        return
    if "status" in changed:
        status_changed(ticket, old=old["status"], new=ticket.status)
    if POLICY_FIELDS.intersection(changed):
        recompute(ticket, reason=reason)

"""What-if: replay an unsaved policy over the tenant's recent SLA clocks (docs/sla.md › What-if).

The policy set is built as it would be: the edited policy in its place (a new one last), the
others as stored. For each stored clock (SLATimer) started in the last 30 days, the ticket's
policy is chosen again (ticket_facts + conditions_match, first active in order), its target is
`targets_for(policy, ticket.priority)[timer.kind]`, and the deadline is recomputed over the
clock's own history (its start and pauses, sla.timers.clock_of) on the policy's calendar
(sla.selectors.calendar_for). Both sides, today's policies and the edited set, are replayed the
same way, so the difference is the edit's alone.

An outcome is `met` (achieved by the deadline, or before the clock could reach it), `breached`
(achieved late, or not achieved and the deadline has passed), `open` (running, paused or
stopped before its deadline) or `none` (no policy or no target for that kind). Compliance is
met / (met + breached).

    judge(due, achieved_at, now) -> outcome                          pure
    policy_set(stored, edited) -> [policy]                           pure: active ones, in order
    choose(policies, facts) -> policy | None                         pure
    replay(rows, before, after, calendar_of, now) -> WhatIf           pure
    whatif_run(edited, now=None) -> WhatIf                           reads: 3 queries + calendars

Bounded: the latest MAX_TIMERS clocks of the window (`capped` says so), then their tickets,
requesters and organizations in one query; nothing is read per row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.lib import clock as wallclock

from . import calendar as calmath
from . import clocks
from .models import SLAPolicy, SLATimer
from .policies import TARGETS, conditions_match, targets_for, ticket_facts

WINDOW_DAYS = 30
MAX_TIMERS = 5000
MAX_EXAMPLES = 10
MET, BREACHED, OPEN, NONE = "met", "breached", "open", "none"
OUTCOMES = (MET, BREACHED, OPEN, NONE)


@dataclass(frozen=True, slots=True)
class ClockRow:
    """One stored clock with what the replay needs of its ticket."""

    timer_id: int
    kind: str
    clock: clocks.Clock
    achieved_at: datetime | None
    ticket_number: int
    subject: str
    priority: str
    facts: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str
    due: datetime | None
    policy: str = ""


@dataclass
class KindStats:
    met: int = 0
    breached: int = 0
    open: int = 0
    none: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def compliance(self) -> float | None:
        """Met share of the decided clocks, in percent (None when none is decided)."""
        return None if not self.decided else 100.0 * self.met / self.decided


@dataclass
class KindComparison:
    kind: str
    before: KindStats = field(default_factory=KindStats)
    after: KindStats = field(default_factory=KindStats)
    changed: int = 0

    @property
    def total(self) -> int:
        return self.before.met + self.before.breached + self.before.open + self.before.none

    @property
    def delta(self) -> float | None:
        if self.before.compliance is None or self.after.compliance is None:
            return None
        return self.after.compliance - self.before.compliance


@dataclass(frozen=True, slots=True)
class Flip:
    row: ClockRow
    before: Result
    after: Result


@dataclass
class WhatIf:
    kinds: list[KindComparison]
    changed: int
    examples: list[Flip]
    total: int
    capped: bool = False
    limit: int = MAX_TIMERS
    since: datetime | None = None
    seconds: float = 0.0


# --- The pure replay -----------------------------------------------------------------------------


def judge(due: datetime | None, achieved_at: datetime | None, now: datetime) -> str:
    """met / breached / open for a clock whose deadline is `due` (None: the clock stopped or
    paused before reaching its target)."""
    if achieved_at is not None:
        return MET if due is None or achieved_at <= due else BREACHED
    if due is not None and due < now:
        return BREACHED
    return OPEN


def policy_set(stored: Sequence[SLAPolicy], edited: SLAPolicy | None) -> list[SLAPolicy]:
    """The active policies in the order they are tried, with `edited` (unsaved, maybe new) in
    place of its stored self, or last when it is new."""
    order = sorted(stored, key=lambda p: (p.position, p.pk or 0))
    if edited is not None:
        at = next((i for i, p in enumerate(order) if edited.pk and p.pk == edited.pk), None)
        if at is None:
            order.append(edited)
        else:
            order[at] = edited
    return [p for p in order if p.is_active]


def choose(policies: Iterable[SLAPolicy], facts: Mapping[str, str]) -> SLAPolicy | None:
    for policy in policies:
        if conditions_match(policy.conditions or [], policy.match, dict(facts)):
            return policy
    return None


def outcome_of(row: ClockRow, policy: SLAPolicy | None, cal: calmath.Calendar | None,
               now: datetime) -> Result:  # fmt: skip
    if policy is None:
        return Result(NONE, None)
    minutes = targets_for(policy, row.priority).get(row.kind)
    if minutes is None or cal is None:
        return Result(NONE, None, policy.name)
    try:
        due = clocks.due_at(cal, row.clock, minutes)
    except calmath.NoOpenTimeError:  # a calendar with no open time ahead: never due
        due = None
    return Result(judge(due, row.achieved_at, now), due, policy.name)


def replay(
    rows: Iterable[ClockRow],
    before: Sequence[SLAPolicy],
    after: Sequence[SLAPolicy],
    calendar_of: Callable[[SLAPolicy], calmath.Calendar],
    now: datetime,
    *,
    examples: int = MAX_EXAMPLES,
) -> WhatIf:
    """Each clock under today's policies (`before`) and under the edited set (`after`)."""
    calendars: dict[int, calmath.Calendar] = {}

    def cal(policy: SLAPolicy) -> calmath.Calendar:
        key = id(policy)
        if key not in calendars:
            calendars[key] = calendar_of(policy)
        return calendars[key]

    kinds = {kind: KindComparison(kind) for kind in TARGETS}
    flips: list[Flip] = []
    changed = total = 0
    for row in rows:
        total += 1
        old_policy, new_policy = choose(before, row.facts), choose(after, row.facts)
        old = outcome_of(row, old_policy, cal(old_policy) if old_policy else None, now)
        if new_policy is old_policy:  # the same stored policy: the same answer
            new = old
        else:
            new = outcome_of(row, new_policy, cal(new_policy) if new_policy else None, now)
        stats = kinds.setdefault(row.kind, KindComparison(row.kind))
        stats.before.add(old.outcome)
        stats.after.add(new.outcome)
        if old.outcome != new.outcome:
            stats.changed += 1
            changed += 1
            if len(flips) < examples:
                flips.append(Flip(row, old, new))
    return WhatIf(kinds=list(kinds.values()), changed=changed, examples=flips, total=total)


# --- Reading the clocks --------------------------------------------------------------------------


def timer_rows(*, now: datetime, limit: int = MAX_TIMERS) -> tuple[list[ClockRow], bool]:
    """The latest `limit` clocks started in the window, newest first, and their tickets: two
    queries (the clocks by the (tenant, started_at) index, then their tickets with requesters
    and organizations by primary key; a join lets a stale plan nest-loop over the tickets).
    True when there were more clocks."""
    from tickets.models import Ticket

    from .timers import clock_of

    since = now - timedelta(days=WINDOW_DAYS)
    query = (
        SLATimer.objects.filter(started_at__gte=since, started_at__lte=now)
        .only("ticket_id", "kind", "started_at", "pauses", "paused_at", "achieved_at")
        .order_by("-started_at", "-id")
    )
    timers = list(query[: limit + 1])
    capped = len(timers) > limit
    timers = timers[:limit]
    fields = ("number", "subject", "priority", "channel", "category", "team", "requester__tier",
              "requester__organization", "requester__organization__tier")  # fmt: skip
    tickets = (
        Ticket.objects.filter(pk__in={t.ticket_id for t in timers})
        .select_related("requester__organization")
        .only(*fields)
    )
    by_id = {ticket.pk: ticket for ticket in tickets} if timers else {}
    rows = []
    for timer in timers:
        ticket = by_id.get(timer.ticket_id)
        if ticket is None:  # deleted in between
            continue
        rows.append(ClockRow(
            timer_id=timer.pk, kind=timer.kind, clock=clock_of(timer),
            achieved_at=timer.achieved_at, ticket_number=ticket.number,
            subject=ticket.subject, priority=ticket.priority, facts=ticket_facts(ticket),
        ))  # fmt: skip
    return rows, capped


def whatif_run(edited: SLAPolicy | None, *, now: datetime | None = None,
               limit: int | None = None) -> WhatIf:  # fmt: skip
    """Replay `edited` (an unsaved SLAPolicy, pk set when it edits a stored one) over the
    tenant's recent clocks. Reads only."""
    from .policies import default_calendar
    from .selectors import calendar_for

    started = time.perf_counter()
    now = now or wallclock.now()
    limit = MAX_TIMERS if limit is None else limit
    stored = list(SLAPolicy.objects.select_related("calendar").order_by("position", "id"))
    before = policy_set(stored, None)
    after = policy_set(stored, edited)
    rows, capped = timer_rows(now=now, limit=limit)
    default: list = []  # read once, for every policy without a calendar of its own

    def calendar_of(policy: SLAPolicy) -> calmath.Calendar:
        if not policy.business_hours or policy.calendar_id:
            return calendar_for(policy)
        if not default:
            default.append(calendar_for(default_calendar()))
        return default[0]

    result = replay(rows, before, after, calendar_of, now)
    result.capped, result.limit = capped, limit
    result.since = now - timedelta(days=WINDOW_DAYS)
    result.seconds = time.perf_counter() - started
    return result

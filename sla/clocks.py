"""The deadline maths of one SLA clock: pure functions, no Django (docs/sla.md › Timers).

A clock starts at `started_at`, stops counting while paused (each pause a closed
`(start, end)` pair, plus `paused_since` for a pause still going on) and is due when it has
counted its target in business minutes on its calendar.

    elapsed(cal, clock, until) -> float                  business minutes counted by `until`
    due_at(cal, clock, minutes) -> datetime | None       when `minutes` have been counted;
                                                         None while paused before reaching it
    warn_fraction                                        amber at 75 % of the target

Every result is exact over calendar boundaries, DST changes and holidays because it only ever
asks sla.calendar (add_business_time / business_minutes_between) about the open stretches
between pauses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from . import calendar as calmath

WARN_FRACTION = 0.75


@dataclass(frozen=True)
class Clock:
    started_at: datetime
    pauses: tuple[tuple[datetime, datetime], ...] = field(default=())
    paused_since: datetime | None = None

    def paused(self, at: datetime) -> Clock:
        """The clock with a pause beginning at `at` (no change if already paused)."""
        if self.paused_since is not None:
            return self
        return Clock(self.started_at, self.pauses, max(at, self.started_at))

    def resumed(self, at: datetime) -> Clock:
        """The clock counting again from `at` (no change if it was running)."""
        if self.paused_since is None:
            return self
        end = max(at, self.paused_since)
        finished = (self.paused_since, end)
        pauses = self.pauses if end == self.paused_since else (*self.pauses, finished)
        return Clock(self.started_at, pauses, None)


def _running_spans(clock: Clock) -> Iterable[tuple[datetime, datetime | None]]:
    """The stretches in which the clock counts: (start, end), end None = still running."""
    start = clock.started_at
    for pause_start, pause_end in sorted(clock.pauses):
        if pause_end <= start:
            continue
        if pause_start > start:
            yield start, pause_start
        start = max(start, pause_end)
    if clock.paused_since is None:
        yield start, None
    elif clock.paused_since > start:
        yield start, clock.paused_since


def elapsed(cal: calmath.Calendar, clock: Clock, until: datetime) -> float:
    """Business minutes the clock has counted from its start up to `until`."""
    total = 0.0
    for start, end in _running_spans(clock):
        if start >= until:
            break
        stop = until if end is None else min(end, until)
        total += calmath.business_minutes_between(cal, start, stop)
    return total


def due_at(cal: calmath.Calendar, clock: Clock, minutes: float) -> datetime | None:
    """When the clock has counted `minutes`: None if it is paused before getting there.
    0 minutes is due at the start. Raises calmath.NoOpenTimeError for a calendar with no
    open time ahead."""
    remaining = float(minutes)
    for start, end in _running_spans(clock):
        if end is None:
            return calmath.add_business_time(cal, start, remaining)
        available = calmath.business_minutes_between(cal, start, end)
        if remaining <= available:
            return calmath.add_business_time(cal, start, remaining)
        remaining -= available
    if remaining <= 0:
        return clock.started_at
    return None


def warn_at(cal: calmath.Calendar, clock: Clock, minutes: float) -> datetime | None:
    return due_at(cal, clock, minutes * WARN_FRACTION)

"""Business-time arithmetic: is a calendar open, when does it open, what is N business minutes
after a moment, how many business minutes lie between two moments.

Pure functions over a frozen `Calendar` (no Django, no database): a time zone, the open
intervals of each weekday, and special dates (holidays, make-up working days, custom hours).
`calendar_for(model)` at the bottom builds one from the models (sla.selectors does the work).

How the maths works (docs/sla.md has the long version):
- An interval is (start, end) in minutes after the local midnight of the day it belongs to:
  09:00–12:00 is (540, 720); "24:00" is 1440; an overnight shift 22:00–06:00 is (1320, 1800).
  A day's intervals are turned into absolute instants in the calendar's zone, so business time
  is real elapsed time while open: 00:00–24:00 on a spring-forward day lasts 23 hours. A wall
  time inside a DST gap is read with the offset before the change (02:30 becomes 03:30).
- Open intervals are half-open [start, end): at 18:00 a 09:00–18:00 day is closed. A deadline
  that uses up an interval exactly lands on its closing time (18:00), not on the next opening.
- The work is per day, never per minute: one pass over the days a computation touches (each
  day's instants are memoised on the calendar), so adding 8 business hours costs microseconds.
- A search that meets no open time for HORIZON_DAYS (two years) in a row raises NoOpenTimeError
  instead of looping forever.
- Aware datetimes in; aware datetimes out, always in UTC (convert for display).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "ALWAYS_OPEN", "DAYS", "HORIZON_DAYS", "Calendar", "CalendarError", "NoOpenTimeError",
    "add_business_time", "business_minutes_between", "calendar_for", "is_open", "make_calendar",
    "next_open", "open_intervals", "parse_intervals", "workday_hours",
]  # fmt: skip

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 1440
HORIZON_DAYS = 731  # give up after two years without any open time
MEMO_DAYS = 4000  # days of absolute instants kept per calendar

Interval = tuple[int, int]
Day = tuple[Interval, ...]


class CalendarError(ValueError):
    """A calendar's hours or time zone are not valid."""


class NoOpenTimeError(RuntimeError):
    """The calendar has no open time within HORIZON_DAYS of the moment asked about."""


@dataclass(frozen=True, slots=True, eq=False)
class Calendar:
    """Opening hours in one time zone. Build it with `make_calendar` (it validates).

    weekly: seven Days, Monday first. special: local date -> Day, replacing that date's weekly
    hours (an empty Day is closed). Compared by identity; the memo is private.
    """

    tz: ZoneInfo
    weekly: tuple[Day, ...]
    special: Mapping[date, Day] = field(default_factory=lambda: MappingProxyType({}))
    name: str = ""
    _memo: dict = field(default_factory=dict, repr=False, init=False)

    def hours_on(self, day: date) -> Day:
        """The intervals that start on this local date."""
        hours = self.special.get(day)
        return self.weekly[day.weekday()] if hours is None else hours


# --- Building ---------------------------------------------------------------------------------


def _minutes(value: Any) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise CalendarError(f"“{value}” is not a time like 09:00.")
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        raise CalendarError(f"“{value}” is not a time like 09:00.")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > DAY_MINUTES:
        raise CalendarError(f"“{value}” is not a time between 00:00 and 24:00.")
    return total


def parse_intervals(raw: Any) -> Day:
    """[["09:00", "12:00"], ["13:00", "18:00"]] -> ((540, 720), (780, 1080)).

    An end at or before its start runs overnight into the next day (["22:00", "06:00"]); it
    belongs to the day it starts on. Intervals must not overlap; they come back sorted.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise CalendarError("Hours must be a list of [start, end] pairs.")
    intervals = []
    for pair in raw:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise CalendarError('Each interval is a [start, end] pair, e.g. ["09:00", "18:00"].')
        start, end = _minutes(pair[0]), _minutes(pair[1])
        if start == DAY_MINUTES:
            raise CalendarError("An interval cannot start at 24:00.")
        if end <= start:
            if end == start == 0:
                raise CalendarError('Use ["00:00", "24:00"] for a whole day.')
            end += DAY_MINUTES  # overnight
        intervals.append((start, end))
    intervals.sort()
    for (_s1, e1), (s2, _e2) in zip(intervals, intervals[1:], strict=False):
        if s2 < e1:
            raise CalendarError("Intervals overlap.")
    return tuple(intervals)


def workday_hours(weekly: tuple[Day, ...]) -> Day:
    """The hours of a make-up working day (调休 or a tenant's extra workday): Monday's, or if
    Monday is closed, those of the first weekday (Tuesday…Friday) that has hours."""
    for day in weekly[:5]:
        if day:
            return day
    return ()


def _zone(name: str | ZoneInfo) -> ZoneInfo:
    if isinstance(name, ZoneInfo):
        return name
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"“{name}” is not a known time zone.") from None


def make_calendar(
    timezone: str | ZoneInfo,
    weekly_hours: Mapping[str, Any] | None = None,
    special: Mapping[date, Any] | None = None,
    *,
    always_open: bool = False,
    name: str = "",
) -> Calendar:
    """A validated Calendar. weekly_hours: {"mon": [["09:00", "18:00"]], ..., "sun": []} (missing
    days are closed); always_open: every day 00:00–24:00 instead. special: date -> hours in the
    same form, or a Day of minutes; [] or None means closed."""
    if always_open:
        weekly = tuple(((0, DAY_MINUTES),) for _ in DAYS)
    else:
        weekly_hours = weekly_hours or {}
        unknown = set(weekly_hours) - set(DAYS)
        if unknown:
            raise CalendarError(f"Unknown day “{sorted(unknown)[0]}”: use {', '.join(DAYS)}.")
        weekly = tuple(parse_intervals(weekly_hours.get(day)) for day in DAYS)
    dates: dict[date, Day] = {}
    for day, hours in (special or {}).items():
        if hours and all(isinstance(n, int) for pair in hours for n in pair):
            dates[day] = tuple(sorted((int(s), int(e)) for s, e in hours))
        else:
            dates[day] = parse_intervals(hours)
    return Calendar(_zone(timezone), weekly, MappingProxyType(dates), name)


ALWAYS_OPEN = make_calendar("UTC", always_open=True, name="24/7")


# --- The maths --------------------------------------------------------------------------------


def _ts(at: datetime) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("Business-time maths needs aware datetimes (got a naive one).")
    return at.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _day(cal: Calendar, day: date) -> tuple[float, tuple[tuple[float, float], ...]]:
    """(local midnight, the day's open spans) as POSIX seconds, memoised on the calendar."""
    memo = cal._memo
    found = memo.get(day)
    if found is not None:
        return found
    midnight = datetime(day.year, day.month, day.day, tzinfo=cal.tz)
    spans = []
    for start, end in cal.hours_on(day):
        # Wall-clock arithmetic on an aware datetime, then the offset in force at that wall time.
        s = (midnight + timedelta(minutes=start)).timestamp()
        e = (midnight + timedelta(minutes=end)).timestamp()
        if e > s:  # an interval wholly inside a DST gap has no length
            spans.append((s, e))
    found = (midnight.timestamp(), tuple(spans))
    if len(memo) >= MEMO_DAYS:
        memo.clear()
    memo[day] = found
    return found


def _spans(cal: Calendar, ts: float, until: float | None = None) -> Iterator[tuple[float, float]]:
    """The open spans [start, end) that end after `ts`, in order, overlaps merged (an overnight
    shift running into the next day's hours). With `until`, stops after the day containing it;
    without, raises NoOpenTimeError after HORIZON_DAYS in a row without open time."""
    day = datetime.fromtimestamp(ts, cal.tz).date() - timedelta(days=1)  # yesterday's night shift
    one = timedelta(days=1)
    pending: list[float] | None = None
    closed_days = 0
    while True:
        midnight, spans = _day(cal, day)
        # Every span from here on starts at or after this midnight: one that ended by then is
        # final.
        if pending is not None and midnight >= pending[1]:
            yield pending[0], pending[1]
            pending = None
        if until is not None and midnight > until:
            break
        if spans:
            closed_days = 0
            for s, e in spans:
                if e <= ts:
                    continue
                if pending is None:
                    pending = [s, e]
                elif s < pending[1]:
                    pending[1] = max(pending[1], e)
                else:
                    yield pending[0], pending[1]
                    pending = [s, e]
        else:
            closed_days += 1
            if until is None and pending is None and closed_days > HORIZON_DAYS:
                name = f" “{cal.name}”" if cal.name else ""
                raise NoOpenTimeError(
                    f"The calendar{name} has no open time in the {HORIZON_DAYS} days up to "
                    f"{day}: check its hours and dates."
                )
        day += one
    if pending is not None:
        yield pending[0], pending[1]


def is_open(cal: Calendar, at: datetime) -> bool:
    t = _ts(at)
    for s, _e in _spans(cal, t, until=t):
        return s <= t
    return False


def next_open(cal: Calendar, at: datetime) -> datetime:
    """`at` (in UTC) if the calendar is open then, else the start of the next open interval."""
    t = _ts(at)
    for s, _e in _spans(cal, t):
        return at.astimezone(UTC) if s <= t else _dt(s)
    raise AssertionError("unreachable: _spans raises when nothing opens")  # pragma: no cover


def add_business_time(cal: Calendar, start: datetime, minutes: float) -> datetime:
    """The moment `minutes` of open time after `start` (UTC). With 0 minutes, `start` itself."""
    if minutes < 0 or not math.isfinite(minutes):
        raise ValueError(f"minutes must be a finite number ≥ 0, not {minutes!r}")
    t = _ts(start)
    if minutes == 0:
        return start.astimezone(UTC)
    remaining = minutes * 60.0
    for s, e in _spans(cal, t):
        s = max(s, t)
        if remaining <= e - s:
            return _dt(s + remaining)
        remaining -= e - s
    raise AssertionError("unreachable: _spans raises when nothing opens")  # pragma: no cover


def business_minutes_between(cal: Calendar, start: datetime, end: datetime) -> float:
    """Open minutes in [start, end); negative when end is before start (time overdue)."""
    a, b = _ts(start), _ts(end)
    if b < a:
        return -business_minutes_between(cal, end, start)
    total = 0.0
    for s, e in _spans(cal, a, until=b):
        if s >= b:
            break
        total += min(e, b) - max(s, a)
    return total / 60.0


def open_intervals(
    cal: Calendar, start: datetime, end: datetime
) -> Iterable[tuple[datetime, datetime]]:
    """The open intervals overlapping [start, end), clipped to it (UTC): for display and tests."""
    a, b = _ts(start), _ts(end)
    for s, e in _spans(cal, a, until=b):
        if s >= b:
            break
        yield _dt(max(s, a)), _dt(min(e, b))


def calendar_for(obj) -> Calendar:
    """The Calendar of a BusinessCalendar, or the one an SLAPolicy's clock runs on (see
    sla.selectors.calendar_for). Imported lazily: this module stays free of Django."""
    from sla.selectors import calendar_for as build

    return build(obj)

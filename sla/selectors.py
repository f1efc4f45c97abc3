"""Reads for SLAs: the pure `Calendar` (sla.calendar) a calendar model or a policy stands for.

- `calendar_for(BusinessCalendar)`: its weekly hours, the country's public holidays (closed)
  and make-up working days (open with a normal weekday's hours), then the tenant's own
  CalendarDate rows on top. Holidays are loaded for last year through two years ahead.
- `calendar_for(SLAPolicy)`: the calendar the policy's clock runs on: its calendar, else the
  tenant's default, else 24/7; and 24/7 when the policy counts calendar time.
- `opening_hours_for(policy)`: the team's opening hours whatever the policy counts in (for
  "we are closed until …"); None when the tenant has no calendar at all.

Built calendars are cached in-process per (calendar id, updated_at, years): an edit to the
calendar, or to one of its dates through sla.services, makes a new key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from types import MappingProxyType

from django.utils import timezone

from . import calendar as calmath
from .models import BusinessCalendar, CalendarDate, SLAPolicy
from .policies import default_calendar
from .public_holidays import HOLIDAY, official_dates

YEARS_BACK, YEARS_AHEAD = 1, 2
CACHE_SIZE = 512

_cache: OrderedDict[tuple, calmath.Calendar] = OrderedDict()
_lock = threading.Lock()


def holiday_years() -> tuple[int, ...]:
    year = timezone.now().year
    return tuple(range(year - YEARS_BACK, year + YEARS_AHEAD + 1))


def calendar_for(
    obj: BusinessCalendar | SLAPolicy | None, *, years: Iterable[int] | None = None
) -> calmath.Calendar:
    """The Calendar deadlines are computed on (see the module docstring)."""
    if isinstance(obj, SLAPolicy):
        if not obj.business_hours:
            return calmath.ALWAYS_OPEN
        obj = obj.calendar if obj.calendar_id else default_calendar()
    if obj is None:
        return calmath.ALWAYS_OPEN
    if not isinstance(obj, BusinessCalendar):
        raise TypeError(f"calendar_for needs a BusinessCalendar or an SLAPolicy, not {obj!r}")
    years = tuple(sorted(set(years))) if years is not None else holiday_years()
    key = (obj.pk, obj.updated_at, years)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    built = calendar_build(obj, years=years)
    with _lock:
        _cache[key] = built
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return built


def opening_hours_for(policy: SLAPolicy | None) -> calmath.Calendar | None:
    model = policy.calendar if policy is not None and policy.calendar_id else default_calendar()
    return None if model is None else calendar_for(model)


def calendar_build(model: BusinessCalendar, *, years: Iterable[int]) -> calmath.Calendar:
    """Build (uncached): weekly hours, then the country's dates, then the tenant's own dates."""
    base = calmath.make_calendar(
        model.timezone, model.weekly_hours, always_open=model.always_open, name=model.name
    )
    workday = calmath.workday_hours(base.weekly)
    special: dict = {}
    if model.holiday_country:
        for day, official in official_dates(model.holiday_country, years).items():
            special[day] = () if official.kind == HOLIDAY else workday
    for row in CalendarDate.objects.filter(calendar=model).only("date", "kind", "hours"):
        if row.kind == CalendarDate.Kind.HOLIDAY:
            special[row.date] = ()
        elif row.kind == CalendarDate.Kind.WORKDAY:
            special[row.date] = workday
        else:
            special[row.date] = calmath.parse_intervals(row.hours)
    return calmath.Calendar(base.tz, base.weekly, MappingProxyType(special), model.name)


def cache_clear() -> None:
    with _lock:
        _cache.clear()

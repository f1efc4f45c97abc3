"""Public holidays and make-up working days of a country, from the `holidays` package.

`official_dates(country, years)` -> {date: OfficialDate}: the days the country is closed
(kind "holiday") and the weekend days it works (kind "workday": China's 调休 make-up days, e.g.
Sunday 2025-01-26 before the Spring Festival). A business calendar closes on the first and
opens on the second with a normal weekday's hours (sla.calendar.workday_hours).

Where the data comes from (docs/sla.md):
- `holidays.country_holidays(code, years=...)` lists the holidays; for China it includes the
  days off moved by the State Council's yearly notice (国务院办公厅关于20XX年部分节假日安排的通知,
  "休息日（由 2025-01-26 调休）"), and `is_working_day` is true on the weekend days worked in
  exchange. China's 2025 and 2026 schedules are in the package from version 0.85 (checked
  against both notices: tests/sla/test_china.py spells them out).
- The package lists a break's weekdays and the holidays themselves, not the ordinary weekend
  days inside a break (Sat 2025-02-01 in the Spring Festival). For China the official break is
  the run of holidays together with the weekend days next to it that are not worked; those are
  added here, so a calendar that opens on Saturdays is closed on them too.
- A year the State Council has not announced yet (in December for the next year) has only the
  statutory days the package estimates, without make-up working days: tenants add CalendarDate
  rows, or the package is upgraded once it has the notice. SUPPLEMENT below takes dates the
  package lacks, with their source; none are needed for China 2025–2026.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

HOLIDAY = "holiday"
WORKDAY = "workday"

# Countries whose official breaks take in the adjacent weekend days (放假调休 … 共 N 天).
BREAKS_TAKE_IN_WEEKENDS = {"CN"}

# Dates the `holidays` package lacks: {country: {date: (kind, name)}}, each with its source.
SUPPLEMENT: dict[str, dict[date, tuple[str, str]]] = {}


@dataclass(frozen=True, slots=True)
class OfficialDate:
    kind: str  # HOLIDAY or WORKDAY
    name: str


def supported_countries() -> list[str]:
    return sorted(holidays.list_supported_countries())


def is_supported(country: str) -> bool:
    return country in holidays.list_supported_countries()


def official_dates(country: str, years: Iterable[int]) -> dict[date, OfficialDate]:
    """The closed days and make-up working days of `country` (ISO 3166 alpha-2) in `years`."""
    return dict(_dates(country.upper(), tuple(sorted(set(years)))))


@lru_cache(maxsize=64)
def _dates(country: str, years: tuple[int, ...]) -> dict[date, OfficialDate]:
    # A year on either side, so breaks and make-up days across New Year are seen whole.
    first, last = years[0] - 1, years[-1] + 1
    table = holidays.country_holidays(country, years=range(first, last + 1))
    closed = {day: str(name) for day, name in table.items()}
    worked: dict[date, str] = {}
    day, end = date(first, 1, 1), date(last, 12, 31)
    while day <= end:
        if table.is_weekend(day) and table.is_working_day(day):
            worked[day] = _worked_name(country, table, day)
        day += timedelta(days=1)
    if country in BREAKS_TAKE_IN_WEEKENDS:
        closed |= _weekends_in_breaks(table, closed, worked)
    wanted = set(years)
    result = {d: OfficialDate(HOLIDAY, n) for d, n in closed.items() if d.year in wanted}
    result |= {d: OfficialDate(WORKDAY, n) for d, n in worked.items() if d.year in wanted}
    for day, (kind, name) in SUPPLEMENT.get(country, {}).items():
        if day.year in wanted:
            result[day] = OfficialDate(kind, name)
    return result


def _worked_name(country: str, table, day: date) -> str:
    """Name a make-up working day after the day off it pays for: the package names that day
    "休息日（由 2025-01-26 调休）"."""
    mark = day.isoformat()
    moved_to = next((other for other, name in table.items() if mark in str(name)), None)
    if country == "CN":
        return f"调休上班（{moved_to.isoformat()} 休息）" if moved_to else "调休上班"
    return f"Working day (day off on {moved_to.isoformat()})" if moved_to else "Working day"


def _weekends_in_breaks(table, closed: dict[date, str], worked: dict[date, str]) -> dict[date, str]:
    """Weekend days next to a holiday (through other weekend days) that are not worked, each
    named after its break's festival (the name most of the break's days carry)."""
    added: set[date] = set()
    for holiday in closed:
        for step in (timedelta(days=1), timedelta(days=-1)):
            day = holiday + step
            while table.is_weekend(day) and day not in worked:
                if day not in closed:
                    added.add(day)
                day += step
    names: dict[date, str] = {}
    days = sorted(set(closed) | added)
    run: list[date] = []
    for day in [*days, None]:
        if run and (day is None or day - run[-1] != timedelta(days=1)):
            festival = Counter(closed[d] for d in run if d in closed and _is_festival(closed[d]))
            name = festival.most_common(1)[0][0] if festival else closed[run[0]]
            names |= {d: name for d in run if d in added}
            run = []
        if day is not None:
            run.append(day)
    return names


def _is_festival(name: str) -> bool:
    """Not a moved day off (休息日（由 … 调休）) nor an observed one (…（补假）)."""
    return "调休" not in name and "补假" not in name

"""China's public holidays and 调休 make-up working days, as the State Council announced them.

The expected dates are spelled out from the notices themselves, not from the `holidays`
package, so an upgrade of the package that loses a day fails here:
- 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号, 2024-11-12)
- 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import (
    DAYS,
    add_business_time,
    business_minutes_between,
    is_open,
    make_calendar,
    workday_hours,
)
from sla.public_holidays import HOLIDAY, WORKDAY, official_dates

SHANGHAI = ZoneInfo("Asia/Shanghai")
SPLIT = [["09:00", "12:00"], ["13:00", "18:00"]]


def days(first: str, last: str) -> set[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return {start + timedelta(days=n) for n in range((end - start).days + 1)}


OFF_2025 = (
    days("2025-01-01", "2025-01-01")  # 元旦: 1月1日(周三)放假1天,不调休
    | days("2025-01-28", "2025-02-04")  # 春节: 1月28日至2月4日放假调休,共8天
    | days("2025-04-04", "2025-04-06")  # 清明节: 4月4日至6日放假,共3天
    | days("2025-05-01", "2025-05-05")  # 劳动节: 5月1日至5日放假调休,共5天
    | days("2025-05-31", "2025-06-02")  # 端午节: 5月31日至6月2日放假,共3天
    | days("2025-10-01", "2025-10-08")  # 国庆节、中秋节: 10月1日至8日放假调休,共8天
)
WORKED_2025 = {date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
               date(2025, 10, 11)}  # fmt: skip
OFF_2026 = (
    days("2026-01-01", "2026-01-03")  # 元旦: 1月1日至3日放假调休,共3天
    | days("2026-02-15", "2026-02-23")  # 春节: 2月15日至23日放假调休,共9天
    | days("2026-04-04", "2026-04-06")  # 清明节: 4月4日至6日放假,共3天
    | days("2026-05-01", "2026-05-05")  # 劳动节: 5月1日至5日放假调休,共5天
    | days("2026-06-19", "2026-06-21")  # 端午节: 6月19日至21日放假,共3天
    | days("2026-09-25", "2026-09-27")  # 中秋节: 9月25日至27日放假,共3天
    | days("2026-10-01", "2026-10-07")  # 国庆节: 10月1日至7日放假调休,共7天
)
WORKED_2026 = {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
               date(2026, 9, 20), date(2026, 10, 10)}  # fmt: skip


@pytest.mark.parametrize(
    "year, off, worked", [(2025, OFF_2025, WORKED_2025), (2026, OFF_2026, WORKED_2026)]
)
def test_official_schedule(year, off, worked):
    found = official_dates("CN", [year])
    assert {d for d, o in found.items() if o.kind == HOLIDAY} == off
    assert {d for d, o in found.items() if o.kind == WORKDAY} == worked
    assert all(d.weekday() >= 5 for d in worked)  # make-up days are weekend days


def test_names_say_what_the_day_is():
    found = official_dates("CN", [2025, 2026])
    assert found[date(2025, 1, 29)].name == "春节"
    assert found[date(2025, 2, 1)].name == "春节"  # the Saturday inside the break
    assert found[date(2026, 1, 3)].name == "元旦"
    assert found[date(2025, 1, 26)].name.startswith("调休上班")


@pytest.fixture(scope="module")
def china():
    """Mon–Fri 09:00–12:00 and 13:00–18:00 in Shanghai with China's 2025–2026 dates, built the
    way sla.selectors builds it."""
    weekly = {day: SPLIT for day in DAYS[:5]}
    workday = workday_hours(make_calendar("Asia/Shanghai", weekly).weekly)
    special = {
        d: (() if o.kind == HOLIDAY else workday)
        for d, o in official_dates("CN", [2025, 2026]).items()
    }
    return make_calendar("Asia/Shanghai", weekly, special)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_friday_before_spring_festival_2025_is_due_after_the_break(china):
    # Fri 1/24 17:00 + 3 business days (24 h): Fri 1 h, make-up Sun 1/26 8 h, Mon 1/27 8 h,
    # then the break (1/28–2/4), then Wed 2/5 09:00 + 7 h.
    due = add_business_time(china, at(2025, 1, 24, 17, 0), 24 * 60)
    assert due == at(2025, 2, 5, 17, 0)


def test_a_make_up_sunday_counts_as_working(china):
    assert is_open(china, at(2025, 1, 26, 10, 0))  # 调休 Sunday, Monday's hours
    assert not is_open(china, at(2025, 1, 26, 12, 30))  # and Monday's lunch break
    assert not is_open(china, at(2025, 1, 19, 10, 0))  # an ordinary Sunday
    # Fri 1/24 17:00 + 8 business hours: Fri 1 h + Sun 1/26 7 h.
    assert add_business_time(china, at(2025, 1, 24, 17, 0), 480) == at(2025, 1, 26, 17, 0)


def test_spring_festival_2026(china):
    # Fri 2/13 17:00 + 8 h: Fri 1 h + make-up Sat 2/14 7 h.
    assert add_business_time(china, at(2026, 2, 13, 17, 0), 480) == at(2026, 2, 14, 17, 0)
    # + 16 h: Fri 1 h, Sat 8 h, the break 2/15–2/23, Tue 2/24 09:00 + 7 h.
    assert add_business_time(china, at(2026, 2, 13, 17, 0), 16 * 60) == at(2026, 2, 24, 17, 0)
    assert business_minutes_between(china, at(2026, 2, 14, 18, 0), at(2026, 2, 24, 9, 0)) == 0
    assert is_open(china, at(2026, 2, 28, 9, 0))  # make-up Saturday


def test_labour_day_and_national_day_2025(china):
    # Wed 4/30 17:00 + 2 h: Wed 1 h, 5/1–5/5 off, Tue 5/6 10:00.
    assert add_business_time(china, at(2025, 4, 30, 17, 0), 120) == at(2025, 5, 6, 10, 0)
    assert is_open(china, at(2025, 4, 27, 9, 30))  # make-up Sunday before Labour Day
    # Tue 9/30 17:00 + 2 h: 10/1–10/8 off, Thu 10/9 10:00; Sat 10/11 is worked.
    assert add_business_time(china, at(2025, 9, 30, 17, 0), 120) == at(2025, 10, 9, 10, 0)
    assert is_open(china, at(2025, 10, 11, 15, 0))
    assert is_open(china, at(2025, 9, 28, 15, 0))


def test_national_day_2026_and_its_make_up_days(china):
    assert is_open(china, at(2026, 9, 20, 9, 0))  # Sunday worked
    assert not is_open(china, at(2026, 10, 7, 10, 0))
    assert add_business_time(china, at(2026, 9, 30, 18, 0), 60) == at(2026, 10, 8, 10, 0)
    assert is_open(china, at(2026, 10, 10, 9, 0))  # Saturday worked


def test_a_saturday_office_is_closed_on_weekend_days_inside_a_break():
    weekly = {day: SPLIT for day in DAYS[:6]}  # Monday to Saturday
    special = {
        d: (() if o.kind == HOLIDAY else SPLIT) for d, o in official_dates("CN", [2025]).items()
    }
    six_days = make_calendar("Asia/Shanghai", weekly, special)
    assert not is_open(six_days, at(2025, 2, 1, 10, 0))  # Sat inside the Spring Festival
    assert not is_open(six_days, at(2025, 4, 5, 10, 0))  # Sat of 清明 (4/4–4/6)
    assert is_open(six_days, at(2025, 4, 12, 10, 0))  # an ordinary Saturday

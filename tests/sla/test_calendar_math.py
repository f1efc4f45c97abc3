"""Business-time maths by hand: split shifts, overnight, DST both ways, 24/7, special dates."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import (
    ALWAYS_OPEN,
    DAYS,
    CalendarError,
    NoOpenTimeError,
    add_business_time,
    business_minutes_between,
    is_open,
    make_calendar,
    next_open,
    open_intervals,
    parse_intervals,
    workday_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SPLIT = [["09:00", "12:00"], ["13:00", "18:00"]]
OFFICE = {day: SPLIT for day in DAYS[:5]}


def at(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.fixture
def office():
    return make_calendar("Asia/Shanghai", OFFICE)


# --- Split shifts ---------------------------------------------------------------------------


def test_split_shift_skips_lunch_and_the_weekend(office):
    friday_5pm = at(SHANGHAI, 2026, 12, 4, 17, 0)
    assert add_business_time(office, friday_5pm, 60) == at(SHANGHAI, 2026, 12, 4, 18)
    assert add_business_time(office, friday_5pm, 120) == at(SHANGHAI, 2026, 12, 7, 10)
    before_lunch = at(SHANGHAI, 2026, 12, 4, 11, 30)
    assert add_business_time(office, before_lunch, 60) == at(SHANGHAI, 2026, 12, 4, 13, 30)


def test_eight_business_hours_is_one_working_day(office):
    monday_9 = at(SHANGHAI, 2026, 12, 7, 9, 0)
    assert add_business_time(office, monday_9, 480) == at(SHANGHAI, 2026, 12, 7, 18)
    assert business_minutes_between(office, monday_9, at(SHANGHAI, 2026, 12, 8, 9)) == 480


def test_open_closed_and_next_open(office):
    assert is_open(office, at(SHANGHAI, 2026, 12, 7, 9, 0))
    assert is_open(office, at(SHANGHAI, 2026, 12, 7, 11, 59))
    assert not is_open(office, at(SHANGHAI, 2026, 12, 7, 12, 0))  # half-open: 12:00 is lunch
    assert not is_open(office, at(SHANGHAI, 2026, 12, 7, 18, 0))
    assert not is_open(office, at(SHANGHAI, 2026, 12, 5, 10, 0))  # Saturday
    lunch = at(SHANGHAI, 2026, 12, 7, 12, 30)
    assert next_open(office, lunch) == at(SHANGHAI, 2026, 12, 7, 13)
    saturday = at(SHANGHAI, 2026, 12, 5, 10, 0)
    assert next_open(office, saturday) == at(SHANGHAI, 2026, 12, 7, 9)
    inside = at(SHANGHAI, 2026, 12, 7, 10, 15, 30)
    assert next_open(office, inside) == inside


def test_between_counts_only_open_time(office):
    assert business_minutes_between(
        office, at(SHANGHAI, 2026, 12, 4, 11, 0), at(SHANGHAI, 2026, 12, 4, 14, 0)
    ) == 120  # fmt: skip
    # Friday 17:00 to Monday 10:00: one hour on Friday, one on Monday.
    assert business_minutes_between(
        office, at(SHANGHAI, 2026, 12, 4, 17, 0), at(SHANGHAI, 2026, 12, 7, 10, 0)
    ) == 120  # fmt: skip
    # Overdue: the other way round is negative.
    assert business_minutes_between(
        office, at(SHANGHAI, 2026, 12, 7, 10, 0), at(SHANGHAI, 2026, 12, 4, 17, 0)
    ) == -120  # fmt: skip


def test_results_are_utc_and_inputs_any_zone(office):
    start = at(SHANGHAI, 2026, 12, 7, 9, 0)
    result = add_business_time(office, start.astimezone(NEW_YORK), 30)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 12, 7, 1, 30, tzinfo=UTC)


def test_zero_minutes_is_the_start_even_when_closed(office):
    saturday = at(SHANGHAI, 2026, 12, 5, 10, 0)
    assert add_business_time(office, saturday, 0) == saturday
    assert add_business_time(office, saturday, 0).tzinfo is UTC


def test_closing_time_is_where_an_exact_day_ends(office):
    # A deadline that uses up the day lands on 18:00, not on the next morning.
    due = add_business_time(office, at(SHANGHAI, 2026, 12, 7, 13, 0), 300)
    assert due == at(SHANGHAI, 2026, 12, 7, 18)


def test_bad_input_is_refused(office):
    with pytest.raises(ValueError, match="aware"):
        add_business_time(office, datetime(2026, 12, 7, 9), 10)  # noqa: DTZ001 - on purpose
    with pytest.raises(ValueError, match="minutes"):
        add_business_time(office, at(SHANGHAI, 2026, 12, 7, 9), -1)
    with pytest.raises(ValueError, match="minutes"):
        add_business_time(office, at(SHANGHAI, 2026, 12, 7, 9), float("nan"))


# --- Overnight ------------------------------------------------------------------------------


def test_overnight_shift_belongs_to_the_day_it_starts():
    nights = make_calendar("Europe/Berlin", {day: [["22:00", "06:00"]] for day in DAYS[:5]})
    friday_11pm = at(BERLIN, 2026, 12, 4, 23, 0)
    assert add_business_time(nights, friday_11pm, 6 * 60) == at(BERLIN, 2026, 12, 5, 5)
    assert is_open(nights, at(BERLIN, 2026, 12, 5, 5, 59))  # Saturday morning, Friday's shift
    assert not is_open(nights, at(BERLIN, 2026, 12, 7, 3, 0))  # no Sunday night shift
    assert is_open(nights, at(BERLIN, 2026, 12, 8, 3, 0))  # Monday night into Tuesday
    # Saturday 06:00 + 1 minute: the next shift is Monday 22:00.
    assert add_business_time(nights, at(BERLIN, 2026, 12, 5, 6), 1) == at(
        BERLIN, 2026, 12, 7, 22, 1
    )


def test_midnight_split_by_hand_equals_overnight():
    by_hand = make_calendar("UTC", {"fri": [["22:00", "24:00"]], "sat": [["00:00", "06:00"]]})
    overnight = make_calendar("UTC", {"fri": [["22:00", "06:00"]]})
    start = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
    for minutes in (1, 60, 120, 121, 480):
        assert add_business_time(by_hand, start, minutes) == add_business_time(
            overnight, start, minutes
        )
    assert is_open(by_hand, datetime(2026, 12, 5, 0, 0, tzinfo=UTC))  # 24:00 = next 00:00


def test_overnight_overlapping_the_next_day_is_not_counted_twice():
    cal = make_calendar("UTC", {"mon": [["22:00", "06:00"]], "tue": [["05:00", "10:00"]]})
    start = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
    end = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert business_minutes_between(cal, start, end) == 12 * 60
    assert add_business_time(cal, start, 12 * 60) == end
    assert list(open_intervals(cal, start, end + timedelta(days=1))) == [(start, end)]


# --- DST ------------------------------------------------------------------------------------


def test_berlin_spring_forward_day_has_23_hours():
    sundays = make_calendar("Europe/Berlin", {"sun": [["00:00", "24:00"]]})
    day = date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST
    start, end = at(BERLIN, 2026, 3, 29, 0, 0), at(BERLIN, 2026, 3, 30, 0, 0)
    assert business_minutes_between(sundays, start, end) == 23 * 60
    assert add_business_time(sundays, start, 23 * 60) == end
    assert day.weekday() == 6


def test_berlin_fall_back_day_has_25_hours():
    sundays = make_calendar("Europe/Berlin", {"sun": [["00:00", "24:00"]]})
    start, end = at(BERLIN, 2026, 10, 25, 0, 0), at(BERLIN, 2026, 10, 26, 0, 0)
    assert business_minutes_between(sundays, start, end) == 25 * 60
    # 10 real hours after midnight it is 09:00 in winter time (02:00–03:00 happened twice).
    assert add_business_time(sundays, start, 10 * 60) == at(BERLIN, 2026, 10, 25, 9)


def test_night_shift_across_dst_is_real_time():
    nights = make_calendar("Europe/Berlin", {"sat": [["22:00", "06:00"]]})
    spring = at(BERLIN, 2026, 3, 28, 22, 0)
    assert business_minutes_between(nights, spring, spring + timedelta(days=1)) == 7 * 60
    autumn = at(BERLIN, 2026, 10, 24, 22, 0)
    assert business_minutes_between(nights, autumn, autumn + timedelta(days=1)) == 9 * 60


def test_new_york_office_across_both_changes():
    office = make_calendar("America/New_York", {day: [["09:00", "17:00"]] for day in DAYS[:5]})
    # Friday 16:00 EST + 2 business hours = Monday 10:00 EDT (14:00 UTC, not 15:00).
    due = add_business_time(office, at(NEW_YORK, 2026, 3, 6, 16, 0), 120)
    assert due == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    # Friday 16:00 EDT + 2 business hours = Monday 10:00 EST (15:00 UTC).
    due = add_business_time(office, at(NEW_YORK, 2026, 10, 30, 16, 0), 120)
    assert due == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_new_york_hours_inside_the_gap_and_the_overlap():
    early = make_calendar("America/New_York", {"sun": [["01:00", "04:00"]]})
    spring = at(NEW_YORK, 2026, 3, 8, 0, 0)  # 02:00–03:00 does not exist
    assert business_minutes_between(early, spring, spring + timedelta(hours=12)) == 2 * 60
    autumn = at(NEW_YORK, 2026, 11, 1, 0, 0)  # 01:00–02:00 happens twice
    assert business_minutes_between(early, autumn, autumn + timedelta(hours=12)) == 4 * 60
    # A time inside the gap reads as the same wall time plus the gap: 02:30 -> 03:30 EDT.
    gap = make_calendar("America/New_York", {"sun": [["02:30", "05:00"]]})
    assert next_open(gap, spring) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_shanghai_has_no_dst_and_24_7_is_plain_arithmetic():
    always = make_calendar("Asia/Shanghai", always_open=True)
    start = at(SHANGHAI, 2026, 3, 28, 12, 0)
    assert add_business_time(always, start, 36 * 60) == start + timedelta(hours=36)
    assert business_minutes_between(always, start, start + timedelta(days=400)) == 400 * 1440


# --- 24/7 and special dates ---------------------------------------------------------------------


def test_always_open():
    start = datetime(2026, 12, 3, 11, 54, 30, 123456, tzinfo=UTC)
    assert is_open(ALWAYS_OPEN, start)
    assert next_open(ALWAYS_OPEN, start) == start
    assert add_business_time(ALWAYS_OPEN, start, 1000) == start + timedelta(minutes=1000)
    later = start + timedelta(days=3 * 365)
    assert add_business_time(ALWAYS_OPEN, start, 3 * 365 * 1440) == later
    every_day = make_calendar("UTC", {day: [["00:00", "24:00"]] for day in DAYS})
    assert add_business_time(every_day, start, 5000) == start + timedelta(minutes=5000)


def test_holiday_closes_and_workday_opens():
    special = {date(2026, 12, 7): [], date(2026, 12, 12): SPLIT}  # Monday off, Saturday worked
    cal = make_calendar("Asia/Shanghai", OFFICE, special)
    friday_5pm = at(SHANGHAI, 2026, 12, 4, 17, 0)
    assert add_business_time(cal, friday_5pm, 120) == at(SHANGHAI, 2026, 12, 8, 10)
    assert is_open(cal, at(SHANGHAI, 2026, 12, 12, 10, 0))
    assert not is_open(cal, at(SHANGHAI, 2026, 12, 7, 10, 0))


def test_custom_hours_replace_the_day():
    cal = make_calendar("Asia/Shanghai", OFFICE, {date(2026, 12, 24): [["09:00", "11:00"]]})
    christmas_eve = at(SHANGHAI, 2026, 12, 24, 10, 0)
    assert add_business_time(cal, christmas_eve, 120) == at(SHANGHAI, 2026, 12, 25, 10)


def test_workday_hours_are_mondays_or_the_first_weekday_with_hours():
    weekly = make_calendar("UTC", OFFICE).weekly
    assert workday_hours(weekly) == ((540, 720), (780, 1080))
    tuesday_on = make_calendar("UTC", {"tue": [["10:00", "16:00"]]}).weekly
    assert workday_hours(tuesday_on) == ((600, 960),)
    assert workday_hours(make_calendar("UTC", {"sat": SPLIT}).weekly) == ()


# --- Errors -----------------------------------------------------------------------------------


def test_a_calendar_with_no_open_time_raises_quickly():
    closed = make_calendar("Europe/Berlin", {}, name="Never")
    start = at(BERLIN, 2026, 12, 3, 12, 0)
    began = time.perf_counter()
    with pytest.raises(NoOpenTimeError, match="Never"):
        add_business_time(closed, start, 1)
    with pytest.raises(NoOpenTimeError):
        next_open(closed, start)
    assert time.perf_counter() - began < 1
    assert not is_open(closed, start)
    assert business_minutes_between(closed, start, start + timedelta(days=30)) == 0


def test_only_holidays_for_two_years_raises():
    weekdays_off = {date(2027, 1, 4) + timedelta(days=n): [] for n in range(800)}
    cal = make_calendar("UTC", {"mon": SPLIT}, weekdays_off)
    with pytest.raises(NoOpenTimeError):
        add_business_time(cal, datetime(2027, 1, 1, tzinfo=UTC), 1)


@pytest.mark.parametrize(
    "hours, message",
    [
        ([["09:00", "12:00"], ["11:00", "13:00"]], "overlap"),
        ([["25:00", "26:00"]], "between"),
        ([["9:00", "12:00"]], "time like"),
        ([["24:00", "01:00"]], "24:00"),
        ([["00:00", "00:00"]], "whole day"),
        ([["09:00"]], "pair"),
        ("09:00-18:00", "list"),
    ],
)
def test_bad_hours_are_refused(hours, message):
    with pytest.raises(CalendarError, match=message):
        parse_intervals(hours)


def test_bad_zone_and_day_are_refused():
    with pytest.raises(CalendarError, match="time zone"):
        make_calendar("Mars/Olympus", OFFICE)
    with pytest.raises(CalendarError, match="Unknown day"):
        make_calendar("UTC", {"monday": SPLIT})

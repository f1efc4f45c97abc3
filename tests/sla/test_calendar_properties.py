"""Properties of the business-time maths over random calendars, zones with and without DST,
random special dates and random moments (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from sla.calendar import (
    DAYS,
    add_business_time,
    business_minutes_between,
    is_open,
    make_calendar,
    next_open,
)

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Shanghai", "UTC", "Australia/Lord_Howe"]
ONE_SECOND = 1 / 60  # in minutes
JUST_BEFORE = timedelta(microseconds=1)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_hours(draw) -> list[list[str]]:
    """0–3 intervals on a 15-minute grid; the last may run overnight."""
    cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    pairs = [[_hhmm(cuts[i] * 15), _hhmm(cuts[i + 1] * 15)] for i in range(0, len(cuts), 2)]
    pairs = [p for p in pairs if p[0] != "24:00"]
    if pairs and draw(st.booleans()) and pairs[-1][1] != "24:00":
        # Overnight: end before the start (and before the day's first interval next day is fine).
        start = pairs[-1][0]
        end = _hhmm(draw(st.integers(0, int(start[:2]) * 4)) * 15)
        if end < start:
            pairs[-1] = [start, end]
    return pairs


@st.composite
def calendars(draw):
    weekly = {day: draw(day_hours()) for day in DAYS}
    assume(any(weekly[day] for day in DAYS))
    special = draw(
        st.dictionaries(
            st.dates(date(2025, 12, 1), date(2027, 3, 1)),
            st.one_of(st.just([]), day_hours()),
            max_size=12,
        )
    )
    return make_calendar(draw(st.sampled_from(ZONES)), weekly, special)


moments = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2027, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
minutes = st.one_of(st.integers(0, 20_000), st.floats(0, 20_000, allow_nan=False))


def _inside_or_at_closing(cal, moment: datetime) -> bool:
    return is_open(cal, moment) or is_open(cal, moment - JUST_BEFORE)


@given(calendars(), moments, minutes)
def test_adding_then_measuring_is_identity(cal, start, amount):
    due = add_business_time(cal, start, amount)
    assert abs(business_minutes_between(cal, start, due) - amount) < ONE_SECOND


@given(calendars(), moments, minutes)
def test_a_deadline_never_falls_outside_business_hours(cal, start, amount):
    due = add_business_time(cal, start, amount)
    assert due >= start
    if amount > 0:
        assert _inside_or_at_closing(cal, due)


@given(calendars(), moments, minutes, minutes)
def test_monotonic_in_minutes(cal, start, a, b):
    low, high = sorted((a, b))
    assert add_business_time(cal, start, low) <= add_business_time(cal, start, high)


@given(calendars(), moments)
def test_next_open_is_open_and_nothing_is_open_before_it(cal, at):
    opens = next_open(cal, at)
    assert is_open(cal, opens)
    assert (opens == at) == is_open(cal, at)
    assert business_minutes_between(cal, at, opens) == 0


@given(calendars(), moments, st.integers(0, 10 * 1440), st.integers(0, 10 * 1440))
def test_between_adds_up(cal, start, first, second):
    middle = start + timedelta(minutes=first)
    end = middle + timedelta(minutes=second)
    whole = business_minutes_between(cal, start, end)
    parts = business_minutes_between(cal, start, middle) + business_minutes_between(
        cal, middle, end
    )
    assert abs(whole - parts) < 1e-6
    assert 0 <= whole <= first + second + 1e-6


@given(moments, minutes, st.sampled_from(ZONES))
def test_always_open_is_plain_arithmetic(start, amount, zone):
    always = make_calendar(zone, always_open=True)
    due = add_business_time(always, start, amount)
    assert abs((due - start).total_seconds() - amount * 60) < 1e-3

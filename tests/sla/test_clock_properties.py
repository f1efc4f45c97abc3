"""Properties of one SLA clock with pauses (sla.clocks), over random calendars, zones with
DST, random pauses and targets (hypothesis): the deadline counts exactly the target, never
counts paused or closed time, and never lands outside business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from sla import clocks
from sla.calendar import ALWAYS_OPEN, is_open, make_calendar
from tests.sla.test_calendar_properties import ONE_SECOND, calendars, moments

targets = st.integers(min_value=1, max_value=5 * 24 * 60)


@st.composite
def paused_clocks(draw, *, still_paused: bool | None = None):
    """A clock started at a random moment with 0–4 finished pauses after it, maybe (or, with
    `still_paused`, surely) one still going on."""
    start = draw(moments)
    gaps = draw(st.lists(st.integers(1, 3 * 24 * 60), min_size=0, max_size=8))
    if still_paused is not None:
        gaps = gaps[: len(gaps) // 2 * 2] + (
            [draw(st.integers(1, 3 * 24 * 60))] if still_paused else []
        )
    edges, at = [], start
    for gap in gaps:
        at = at + timedelta(minutes=gap)
        edges.append(at)
    if len(edges) % 2 and (still_paused or (still_paused is None and draw(st.booleans()))):
        *edges, open_since = edges
    else:
        open_since = None
        edges = edges[: len(edges) // 2 * 2]
    pauses = tuple((edges[i], edges[i + 1]) for i in range(0, len(edges), 2))
    return clocks.Clock(start, pauses, open_since)


@given(calendars(), paused_clocks(), targets)
def test_the_deadline_counts_exactly_the_target(cal, clock, minutes):
    due = clocks.due_at(cal, clock, minutes)
    assume(due is not None)
    assert abs(clocks.elapsed(cal, clock, due) - minutes) <= ONE_SECOND


@given(calendars(), paused_clocks(), targets)
def test_the_deadline_is_never_in_closed_or_paused_time(cal, clock, minutes):
    due = clocks.due_at(cal, clock, minutes)
    assume(due is not None)
    just_before = due - timedelta(seconds=1)
    assert is_open(cal, just_before)  # the last counted second was open business time
    for start, end in clock.pauses:
        assert not (start < just_before < end)
    if clock.paused_since is not None:
        assert due <= clock.paused_since


@given(calendars(), paused_clocks(still_paused=True), targets)
def test_a_clock_paused_before_its_target_has_no_deadline(cal, clock, minutes):
    counted = clocks.elapsed(cal, clock, clock.paused_since + timedelta(days=400))
    assume(abs(counted - minutes) > ONE_SECOND)
    due = clocks.due_at(cal, clock, minutes)
    if counted < minutes:
        assert due is None
    else:
        assert due is not None and due <= clock.paused_since


@given(calendars(), paused_clocks(still_paused=True), targets)
def test_resuming_later_moves_the_deadline_by_at_least_the_pause(cal, clock, minutes):
    paused_due = clocks.due_at(cal, clock, minutes)
    assume(paused_due is None)
    resumed = clock.resumed(clock.paused_since + timedelta(hours=5))
    due = clocks.due_at(cal, resumed, minutes)
    assert due is not None and due >= clock.paused_since + timedelta(hours=5)


def test_pause_and_resume_on_a_24_7_clock_add_the_pause():
    start = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    clock = clocks.Clock(start).paused(start + timedelta(minutes=20))
    assert clocks.due_at(ALWAYS_OPEN, clock, 60) is None
    clock = clock.resumed(start + timedelta(minutes=50))
    assert clocks.due_at(ALWAYS_OPEN, clock, 60) == start + timedelta(minutes=90)
    assert clocks.warn_at(ALWAYS_OPEN, clock, 60) == start + timedelta(minutes=75)
    assert clocks.elapsed(ALWAYS_OPEN, clock, start + timedelta(minutes=50)) == 20


def test_business_clock_over_berlins_spring_forward_and_a_pause_over_the_weekend():
    office = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    cal = make_calendar("Europe/Berlin", office)
    # Friday 27 March 2026 16:00 CET; 2 business hours; paused Fri 16:30 → Mon 10:00 CEST.
    start = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
    clock = clocks.Clock(start).paused(start + timedelta(minutes=30))
    clock = clock.resumed(datetime(2026, 3, 30, 8, 0, tzinfo=UTC))  # Mon 10:00 CEST
    # 30 min counted on Friday, 90 more from Monday 10:00 CEST → 11:30 CEST = 09:30 UTC.
    assert clocks.due_at(cal, clock, 120) == datetime(2026, 3, 30, 9, 30, tzinfo=UTC)

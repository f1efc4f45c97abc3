"""What agents see of SLA clocks (sla.display): the states by time, the most urgent clock of each
ticket in one query, the ticket's clocks with their trail, the words of the countdown, the
timeline sentences and the chip's markup. Timers are made the product's way: a policy, a ticket
through tickets.services, the automation jobs, the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from helpdesk.tenancy.context import tenant_context
from sla import display
from sla.models import SLATimer
from sla.sweep import sweep
from tests.factories import MembershipFactory, make_ticket
from tests.sla.factories import SLAPolicyFactory
from tests.sla.helpers import run_pending
from tickets import services
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


@pytest.fixture
def urgent_policy(tenant_a):
    return SLAPolicyFactory(
        tenant=tenant_a, name="Urgent", business_hours=False,
        conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=240,
    )  # fmt: skip


@pytest.fixture
def urgent(tenant_a, urgent_policy) -> Ticket:
    ticket = make_ticket(tenant_a, priority=Ticket.Priority.URGENT, subject="Site down")
    run_pending(tenant_a)
    return ticket


def clocks(tenant, ticket, now) -> dict[str, display.ClockView]:
    with tenant_context(tenant):
        return {c.kind: c for c in display.ticket_clocks(Ticket.objects.get(pk=ticket.pk), now=now)}


# --- Words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "<1m"),
        (60, "1m"),
        (45 * 60 + 59, "45m"),
        (2 * 3600 + 14 * 60 + 50, "2h 14m"),
        (26 * 3600 + 5 * 60, "1d 2h"),
        (-10, "\u22121m"),  # overdue rounds up: red never says "0m"
        (-5 * 60, "\u22125m"),
        (-(65 * 60 + 1), "\u22121h 6m"),
    ],
)
def test_countdown_text(seconds, text):
    assert display.countdown_text(seconds) == text


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(42, "42 min"), (60, "1 h"), (65, "1 h 5 min"), (1440, "1 d"), (1500, "25 h"), (0, "0 min")],
)
def test_duration_text(minutes, text):
    assert display.duration_text(minutes) == text


def test_time_text_is_in_the_viewers_zone_and_names_other_days():
    moment = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    with timezone.override("Asia/Shanghai"):
        assert display.time_text(moment, today=moment) == "10:00"
        assert display.time_text(moment, today=moment + timedelta(days=2)) == "March 3 10:00"
    with timezone.override("Europe/London"):
        assert display.time_text(moment, today=moment) == "02:00"


# --- States ---------------------------------------------------------------------------------


def test_states_follow_the_time_green_amber_red(tenant_a, urgent):
    created = urgent.created_at
    assert clocks(tenant_a, urgent, created + timedelta(minutes=10))["first_response"].state == "ok"
    at_50 = clocks(tenant_a, urgent, created + timedelta(minutes=50))
    assert at_50["first_response"].state == "warning"  # past 75 % of 60 minutes
    assert at_50["first_response"].countdown == "10m"
    assert at_50["resolution"].state == "ok"
    late = clocks(tenant_a, urgent, created + timedelta(minutes=65))["first_response"]
    assert late.state == "breached" and late.countdown == "\u22125m"


def test_most_urgent_clock_per_ticket_in_one_query(tenant_a, urgent_policy):
    tickets = [make_ticket(tenant_a, priority=Ticket.Priority.URGENT) for _ in range(5)]
    plain = make_ticket(tenant_a)  # no policy matches: no clock
    run_pending(tenant_a)
    now = tickets[0].created_at + timedelta(minutes=50)
    with tenant_context(tenant_a), CaptureQueriesContext(connection) as queries:
        found = display.clocks_for_tickets([t.pk for t in [*tickets, plain]], now=now)
    assert len(queries.captured_queries) == 1
    assert set(found) == {t.pk for t in tickets}
    assert {c.kind for c in found.values()} == {"first_response"}  # due first, and amber
    assert {c.state for c in found.values()} == {"warning"}
    with tenant_context(tenant_a):
        assert display.clocks_for_tickets([]) == {}


def test_the_worst_state_wins_over_the_soonest_due(tenant_a, urgent):
    with tenant_context(tenant_a):  # resolution breached by hand, first response still ahead
        SLATimer.objects.filter(ticket=urgent, kind="resolution").update(
            due_at=urgent.created_at + timedelta(minutes=70),
            warn_at=urgent.created_at + timedelta(minutes=20),
        )
    now = urgent.created_at + timedelta(minutes=30)
    with tenant_context(tenant_a):
        chosen = display.clocks_for_tickets([urgent.pk], now=now)[urgent.pk]
    assert (chosen.kind, chosen.state) == ("resolution", "warning")
    views = clocks(tenant_a, urgent, now)
    assert display.most_urgent(views.values()).kind == "resolution"


def test_paused_clocks_are_grey_and_count_what_is_left(tenant_a, urgent):
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=urgent, author=agent, body_text="Which model?",
                              set_status=Ticket.Status.PENDING)  # fmt: skip
    views = clocks(tenant_a, urgent, timezone.now() + timedelta(hours=5))
    assert views["first_response"].state == "met"
    resolution = views["resolution"]
    assert resolution.state == "paused" and resolution.due_at is None
    assert resolution.outcome_text.startswith("Paused, ") and resolution.outcome_text.endswith(
        " left"
    )
    with tenant_context(tenant_a):
        chosen = display.clocks_for_tickets([urgent.pk])[urgent.pk]
    assert chosen.state == "paused"
    html = display.chip_html(chosen)
    assert "chip-sla-paused" in html and "Paused" in html and "data-due" not in html


def test_met_clock_says_how_fast_and_late_one_how_late(tenant_a, urgent):
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=urgent, author=agent, body_text="On it.")
        first = SLATimer.objects.get(ticket=urgent, kind="first_response")
        SLATimer.objects.filter(pk=first.pk).update(
            achieved_at=first.started_at + timedelta(minutes=42)
        )
    met = clocks(tenant_a, urgent, timezone.now())["first_response"]
    assert met.state == "met" and not met.late
    assert met.outcome_text == "Met in 42 min"
    with tenant_context(tenant_a):
        SLATimer.objects.filter(pk=first.pk).update(
            achieved_at=first.started_at + timedelta(minutes=125),
            breached_at=first.due_at,
        )
    late = clocks(tenant_a, urgent, timezone.now())["first_response"]
    assert late.late and late.outcome_text == "Breached by 1 h 5 min"


def test_trail_has_each_clocks_own_events(tenant_a, urgent):
    created = urgent.created_at
    sweep(now=created + timedelta(minutes=61), send=False)  # first response: breach (and warning)
    run_pending(tenant_a)
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=urgent, author=agent, body_text="Sorry for the wait.")
    views = clocks(tenant_a, urgent, created + timedelta(minutes=70))
    first = [item.text for item in views["first_response"].trail]
    assert first[0].startswith("Started: due ")
    assert any(text.startswith("Breached: it was due ") for text in first)
    assert first[-1] == "Met late"
    assert views["first_response"].late
    resolution = [item.text for item in views["resolution"].trail]
    assert len(resolution) == 1 and resolution[0].startswith("Started: due ")


def test_ticket_page_annotations_read_without_queries(tenant_a, urgent):
    from django.db.models import QuerySet

    with tenant_context(tenant_a):
        qs: QuerySet = Ticket.objects.annotate(**display.ticket_annotations())
        ticket = qs.get(pk=urgent.pk)
        with CaptureQueriesContext(connection) as queries:
            views = display.ticket_clocks(ticket, now=urgent.created_at)
            again = display.ticket_clocks(ticket)
    assert queries.captured_queries == []  # calendar time: no calendar to load either
    assert [v.kind for v in views] == ["first_response", "resolution"]
    assert again is views
    assert views[0].trail and views[0].trail[0].text.startswith("Started")


def test_business_hours_clock_counts_on_its_calendar(tenant_a):
    from tests.sla.factories import BusinessCalendarFactory

    calendar = BusinessCalendarFactory(tenant=tenant_a, timezone="UTC", is_default=True)
    SLAPolicyFactory(tenant=tenant_a, name="Office", calendar=calendar, business_hours=True,
                     first_response_minutes=60, resolution_minutes=480)  # fmt: skip
    ticket = make_ticket(tenant_a)
    run_pending(tenant_a)
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=ticket, author=agent, body_text="Hello.")
    first = clocks(tenant_a, ticket, timezone.now())["first_response"]
    assert first.state == "met" and first.counted_minutes is not None
    assert first.target_text == "1 h, business hours"


# --- The chip -------------------------------------------------------------------------------


def test_chip_markup_carries_times_text_and_words(tenant_a, urgent):
    now = urgent.created_at + timedelta(minutes=10)
    with tenant_context(tenant_a):
        clock = display.clocks_for_tickets([urgent.pk], now=now)[urgent.pk]
    html = display.chip_html(clock, announce=True)
    assert 'class="chip chip-sla-ok"' in html
    assert f'data-due="{clock.due_at.astimezone(UTC).isoformat()}"' in html
    assert f'data-now="{now.astimezone(UTC).isoformat()}"' in html and "data-warn=" in html
    assert ">50m</time>" in html
    assert "First response: " in html and "until the SLA is due" in html
    assert "data-sla-announce" in html and "policy “Urgent”" in html
    assert "aria-live" not in html  # the chips tick quietly


def test_chip_escapes_the_policy_name(tenant_a):
    SLAPolicyFactory(tenant=tenant_a, name='<b onclick="x">Gold</b>', business_hours=False)
    ticket = make_ticket(tenant_a)
    run_pending(tenant_a)
    with tenant_context(tenant_a):
        clock = display.clocks_for_tickets([ticket.pk])[ticket.pk]
    html = display.chip_html(clock)
    assert "<b onclick" not in html and "&lt;b onclick=&quot;x&quot;&gt;Gold&lt;/b&gt;" in html


# --- Timeline sentences ---------------------------------------------------------------------


def test_timeline_sentences_of_every_sla_event(tenant_a, urgent):
    created = urgent.created_at
    sweep(now=created + timedelta(minutes=46), send=False)
    run_pending(tenant_a)
    sweep(now=created + timedelta(minutes=61), send=False)
    run_pending(tenant_a)
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=urgent, author=agent, body_text="Here.",
                              set_status=Ticket.Status.PENDING)  # fmt: skip
        urgent.refresh_from_db()
        services.ticket_add_inbound(ticket=urgent, contact=urgent.requester, body_text="Thanks")
        urgent.refresh_from_db()
        services.ticket_update(ticket=urgent, actor=agent, status=Ticket.Status.SOLVED)
    with tenant_context(tenant_a), timezone.override("UTC"), translation.override("en"):
        texts = {}
        for event in TicketEvent.objects.filter(ticket=urgent, kind__startswith="sla_"):
            texts.setdefault(event.kind, []).append(display.timeline_text(event))
    due = lambda minutes: display.time_text(created + timedelta(minutes=minutes), today=created)  # noqa: E731
    assert texts["sla_started"][0] == (
        f"SLA “Urgent” started: first response due {due(60)} (1 h), resolution due {due(240)} (4 h)"
    )
    assert texts["sla_warning"] == [
        f"First response at risk: 75 % of 1 h used (due {due(60)}, policy “Urgent”)"
    ]
    assert texts["sla_breached"] == [f"First response breached (due {due(60)}, policy “Urgent”)"]
    assert texts["sla_met"][0] == f"First response met late (was due {due(60)}, policy “Urgent”)"
    assert (
        "Resolution clock paused: status Pending on customer (policy “Urgent”)"
        in texts["sla_paused"]
    )
    assert any(t.startswith("Resolution clock resumed: due ") for t in texts["sla_resumed"])
    assert any(t.startswith("Resolution met (due ") for t in texts["sla_met"])


def test_timeline_sentences_for_recomputed_stopped_and_next_response(tenant_a):
    minute = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with timezone.override("Asia/Shanghai"), translation.override("en"):
        recomputed = display.sla_sentence(
            "sla_recomputed", {"policy": 3, "timers": [
                {"timer": "next_response", "cycle": 2, "minutes": 90, "business_hours": True,
                 "due": (minute + timedelta(minutes=90)).isoformat()},
            ]}, reason="priority changed", at=minute,
        )  # fmt: skip
        assert (
            recomputed == "SLA recomputed: next response #2 due 18:30 (1 h 30 min, business hours)"
        )
        none_left = display.sla_sentence(
            "sla_recomputed", {"policy": None, "timers": [{"timer": "resolution", "due": None}]},
            reason="", at=minute,
        )  # fmt: skip
        assert none_left == "SLA recomputed: no policy applies any more, resolution stopped"
        stopped = display.sla_sentence(
            "sla_stopped", {"timer": "first_response", "cycle": 1, "minutes": 60,
                            "due": minute.isoformat(), "status": "solved"},
            reason="Urgent", at=minute,
        )  # fmt: skip
        assert stopped == "First response clock stopped: status Solved (policy “Urgent”)"


def test_timeline_renders_sla_lines_on_the_ticket_page(client, tenant_a, agent, urgent):
    from tests.helpers import sign_in

    sign_in(client, agent, tenant_a)
    html = client.get(f"/agent/tickets/{urgent.number}/?timeline=1").content.decode()
    assert "SLA “Urgent” started: first response due " in html
    assert "Automation: sla started" not in html

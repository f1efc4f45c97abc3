"""What-if: an unsaved policy replayed over recent SLA clocks (sla.whatif). The pure maths on
hand-made clocks (a stricter target turns a met clock into a breach, business hours move a
deadline over the weekend, pauses are not counted, overrides and conditions move tickets between
policies), then the real thing over stored timers (bounded queries, 30-day window, the cap)
and the "Preview impact" button with and without htmx, which saves nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.lib import clock as wallclock
from helpdesk.tenancy.context import tenant_context
from sla import calendar as calmath
from sla import whatif
from sla.clocks import Clock
from sla.models import SLAPolicy, SLATimer
from sla.whatif import BREACHED, MET, NONE, OPEN, ClockRow, judge, policy_set, replay
from tests.factories import make_ticket
from tests.helpers import sign_in
from tests.sla.factories import OFFICE_HOURS, SLAPolicyFactory
from tickets.models import Ticket

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
MIN = timedelta(minutes=1)
OFFICE = calmath.make_calendar("Asia/Shanghai", OFFICE_HOURS)


def policy(pk: int, position: int, **fields) -> SLAPolicy:
    """An unsaved policy, as the replay sees one (24/7 unless business_hours=True)."""
    defaults = {"name": f"P{pk}", "is_active": True, "match": "all", "conditions": [],
                "business_hours": False, "first_response_minutes": 120, "per_priority": {},
                "next_response_minutes": 240, "resolution_minutes": 1440}  # fmt: skip
    defaults.update(fields)
    return SLAPolicy(pk=pk, position=position, **defaults)


def row(n: int = 1, kind: str = "first_response", *, start: datetime = T0, achieved=None,
        pauses=(), paused_since=None, priority: str = "normal", **facts) -> ClockRow:  # fmt: skip
    base = {"priority": priority, "channel": "email", "requester_tier": "standard",
            "category": "inquiry", "team": ""}  # fmt: skip
    base.update(facts)
    return ClockRow(timer_id=n, kind=kind, clock=Clock(start, tuple(pauses), paused_since),
                    achieved_at=achieved, ticket_number=n, subject=f"Ticket {n}",
                    priority=priority, facts=base)  # fmt: skip


def calendar_of(p: SLAPolicy) -> calmath.Calendar:
    return OFFICE if p.business_hours else calmath.ALWAYS_OPEN


def run(rows, before, after, now=T0 + timedelta(days=10)):
    return replay(rows, policy_set(before, None), policy_set(before, after), calendar_of, now)


def kind_stats(result, kind="first_response"):
    return next(k for k in result.kinds if k.kind == kind)


# --- The pure replay -----------------------------------------------------------------------------


def test_judge():
    now = T0 + timedelta(hours=5)
    due = T0 + timedelta(hours=2)
    assert judge(due, T0 + timedelta(hours=1), now) == MET
    assert judge(due, due, now) == MET  # on the deadline is in time
    assert judge(due, due + MIN, now) == BREACHED
    assert judge(due, None, now) == BREACHED  # not answered, deadline passed
    assert judge(now + MIN, None, now) == OPEN
    assert judge(None, T0, now) == MET  # stopped (solved) before its clock reached the target
    assert judge(None, None, now) == OPEN  # paused or stopped before the deadline


def test_the_edited_policy_takes_its_place_and_a_new_one_goes_last():
    a, b, c = policy(1, 1), policy(2, 2), policy(3, 3, is_active=False)
    edited_b = policy(2, 2, name="B edited")
    assert [p.name for p in policy_set([c, b, a], edited_b)] == ["P1", "B edited"]
    new = policy(None, 0, name="New")
    assert [p.name for p in policy_set([a, b], new)] == ["P1", "P2", "New"]
    assert [p.name for p in policy_set([a, b], policy(1, 1, is_active=False))] == ["P2"]
    assert [p.name for p in policy_set([a, c], policy(3, 3, name="C on"))] == ["P1", "C on"]


def test_a_stricter_first_response_target_turns_a_met_clock_into_a_breach():
    stored = policy(1, 1, first_response_minutes=120)
    rows = [row(1, achieved=T0 + 90 * MIN), row(2, achieved=T0 + 30 * MIN)]
    result = run(rows, [stored], policy(1, 1, first_response_minutes=60))
    first = kind_stats(result)
    assert (first.before.met, first.before.breached) == (2, 0)
    assert (first.after.met, first.after.breached) == (1, 1)
    assert (first.before.compliance, first.after.compliance) == (100.0, 50.0)
    assert first.delta == -50.0 and first.changed == 1 and result.changed == 1
    [flip] = result.examples
    assert flip.row.ticket_number == 1
    assert (flip.before.outcome, flip.after.outcome) == (MET, BREACHED)
    assert (flip.before.due, flip.after.due) == (T0 + 120 * MIN, T0 + 60 * MIN)
    # ...and a looser one turns it back: breach -> met.
    loose = run([row(1, achieved=T0 + 90 * MIN)], [policy(1, 1, first_response_minutes=60)],
                policy(1, 1, first_response_minutes=120))  # fmt: skip
    assert (loose.examples[0].before.outcome, loose.examples[0].after.outcome) == (BREACHED, MET)


def test_the_same_policies_change_nothing():
    stored = [policy(1, 1, first_response_minutes=60), policy(2, 2)]
    rows = [row(n, achieved=T0 + n * 20 * MIN) for n in range(1, 8)]
    result = run(rows, stored, policy(1, 1, first_response_minutes=60))
    assert result.changed == 0 and result.examples == [] and result.total == 7
    stats = kind_stats(result)
    assert stats.before.met == stats.after.met == 3 and stats.before.breached == 4


def test_business_hours_carry_a_deadline_over_the_weekend():
    friday_17 = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)  # Friday 17:00 in Shanghai
    monday_0930 = datetime(2026, 11, 9, 1, 30, tzinfo=UTC)
    rows = [row(1, start=friday_17, achieved=monday_0930)]
    stored = policy(1, 1, first_response_minutes=240)  # 24/7: due Friday 21:00
    result = run(rows, [stored], policy(1, 1, first_response_minutes=240, business_hours=True))
    [flip] = result.examples
    assert (flip.before.outcome, flip.after.outcome) == (BREACHED, MET)
    # 1 h on Friday (17-18), then 09-12 on Monday: due Monday 12:00 Shanghai (04:00 UTC).
    assert flip.after.due == datetime(2026, 11, 9, 4, 0, tzinfo=UTC)


def test_pauses_are_not_counted():
    pauses = [(T0 + 30 * MIN, T0 + 150 * MIN)]  # pending for two hours
    answered = T0 + 170 * MIN  # 50 minutes of counted time
    rows = [row(1, achieved=answered, pauses=pauses)]
    result = run(rows, [policy(1, 1, first_response_minutes=60)],
                 policy(1, 1, first_response_minutes=45))  # fmt: skip
    [flip] = result.examples
    assert flip.before.outcome == MET and flip.before.due == T0 + 180 * MIN
    assert flip.after.outcome == BREACHED and flip.after.due == T0 + 165 * MIN
    # Paused now, before reaching the target: open, whatever the target.
    still = run([row(2, paused_since=T0 + 10 * MIN)], [policy(1, 1)],
                policy(1, 1, first_response_minutes=5))  # fmt: skip
    assert kind_stats(still).after.breached == 1  # 5 min were used up before the pause
    assert kind_stats(still).before.open == 1


def test_overrides_conditions_and_removed_targets_move_clocks():
    urgent, normal = (
        row(1, priority="urgent", achieved=T0 + 45 * MIN),
        row(2, achieved=T0 + 45 * MIN),
    )
    stored = [policy(1, 1, first_response_minutes=60)]
    override = policy(
        1, 1, first_response_minutes=60, per_priority={"urgent": {"first_response": 30}}
    )
    result = run([urgent, normal], stored, override)
    assert [f.row.ticket_number for f in result.examples] == [1]
    # A new first policy for VIPs only takes the VIP tickets.
    vip = row(3, requester_tier="vip", achieved=T0 + 45 * MIN)
    stored = [policy(1, 1, first_response_minutes=60)]
    only_vip = [{"field": "requester_tier", "op": "in", "value": ["vip"]}]
    new = policy(None, 0, name="VIP", first_response_minutes=30, conditions=only_vip)
    result = run([vip, normal], stored, new)
    assert result.changed == 0  # appended last: the stored policy still matches first
    moved = replay([vip, normal], policy_set(stored, None), [new, *stored], calendar_of,
                   T0 + timedelta(days=1))  # fmt: skip
    assert [(f.row.ticket_number, f.after.policy) for f in moved.examples] == [(3, "VIP")]
    # No next-response target any more: those clocks have no target.
    answered = row(4, "next_response", achieved=T0 + 10 * MIN)
    result = run([answered], [policy(1, 1)], policy(1, 1, next_response_minutes=None))
    stats = kind_stats(result, "next_response")
    assert (stats.before.met, stats.after.none, stats.after.compliance) == (1, 1, None)
    assert result.examples[0].after.outcome == NONE


def test_at_most_ten_examples():
    rows = [row(n, achieved=T0 + 90 * MIN) for n in range(25)]
    result = run(rows, [policy(1, 1)], policy(1, 1, first_response_minutes=60))
    assert result.changed == 25 and len(result.examples) == whatif.MAX_EXAMPLES == 10


# --- Over stored timers --------------------------------------------------------------------------


def make_timer(ticket, kind="first_response", *, started, achieved=None, cycle=1, minutes=120,
               stored_policy=None) -> SLATimer:  # fmt: skip
    return SLATimer.objects.create(
        ticket=ticket, kind=kind, cycle=cycle, policy=stored_policy,
        policy_name=stored_policy.name if stored_policy else "", target_minutes=minutes,
        business_hours=False, started_at=started, due_at=started + timedelta(minutes=minutes),
        achieved_at=achieved, state="met" if achieved else "running",
    )  # fmt: skip


@pytest.fixture
def clocks(tenant_a):
    """A 24/7 policy (first response 2 h) and three tickets' clocks: #1 answered after 90 min,
    #2 after 30 min, #3 urgent and not answered yet, plus one clock too old to count."""
    now = wallclock.now()
    p = SLAPolicyFactory(tenant=tenant_a, name="Standard", business_hours=False,
                         first_response_minutes=120, next_response_minutes=240)  # fmt: skip
    tickets = [make_ticket(tenant_a, subject=f"Case {n}") for n in (1, 2)]
    tickets.append(make_ticket(tenant_a, subject="Case 3", priority=Ticket.Priority.URGENT))
    with tenant_context(tenant_a):
        start = now - timedelta(days=2)
        make_timer(tickets[0], started=start, achieved=start + 90 * MIN, stored_policy=p)
        make_timer(tickets[1], started=start, achieved=start + 30 * MIN, stored_policy=p)
        make_timer(tickets[2], started=now - 30 * MIN, stored_policy=p)
        make_timer(tickets[2], "next_response", started=now - timedelta(days=31), stored_policy=p)
    return p, tickets


@pytest.mark.django_db
def test_whatif_run_reads_a_fixed_number_of_queries(tenant_a, clocks, django_assert_num_queries):
    stored, tickets = clocks
    edited = SLAPolicy(pk=stored.pk, position=stored.position, name="Standard", match="all",
                       conditions=[], business_hours=False, first_response_minutes=60,
                       per_priority={"urgent": {"first_response": 15}})  # fmt: skip
    with tenant_context(tenant_a):
        with django_assert_num_queries(3):  # the policies; the clocks; their tickets
            result = whatif.whatif_run(edited)
        assert result.total == 3 and not result.capped  # the 31-day-old clock is left out
        first = kind_stats(result)
        assert (first.before.met, first.before.open) == (2, 1)
        assert (first.after.met, first.after.breached, first.after.open) == (1, 2, 0)
        assert {f.row.ticket_number for f in result.examples} == {tickets[0].number,
                                                                  tickets[2].number}  # fmt: skip
        # Many more clocks: still three queries.
        for n in range(12):
            ticket = make_ticket(tenant_a, subject=f"More {n}")
            make_timer(ticket, started=wallclock.now() - timedelta(hours=n), stored_policy=stored)
        with django_assert_num_queries(3):
            assert whatif.whatif_run(edited).total == 15
        capped = whatif.whatif_run(edited, limit=2)
        assert capped.capped and capped.total == 2


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def words_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def stricter(p: SLAPolicy, **extra) -> dict:
    return {"policy_id": str(p.pk), "name": p.name, "is_active": "on", "match": "all",
            "calendar": "", "business_hours": "", "first_response_h": "1",
            "next_response_h": "4", "resolution_h": "24", "pp_urgent_first_response_m": "15",
            "preview": "1", **extra}  # fmt: skip


@pytest.mark.django_db
def test_preview_impact_with_htmx_answers_the_fragment_and_saves_nothing(
    admin_client, tenant_a, clocks
):
    stored, tickets = clocks
    response = admin_client.post("/settings/sla/what-if/", stricter(stored), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = text_of(response)
    assert page.strip().startswith('<section class="card whatif" id="whatif"')
    assert "Impact over the last 30 days" in page and "3 clocks replayed" in page
    words = words_of(response)
    assert "2 clocks would end differently." in words
    assert "67% 2 of 3 met" not in words  # only decided clocks count: 2 of 2 met before
    assert "100% 2 of 2 met 1 open" in words and "33% 1 of 3 met" in words
    assert "-66.7 points" in words and "Next response" not in words  # no such clocks
    assert f'href="/agent/tickets/{tickets[0].number}/"' in page
    assert f'href="/agent/tickets/{tickets[2].number}/"' in page
    assert "Breached" in page and "Met" in page
    with tenant_context(tenant_a):
        assert SLAPolicy.objects.get().first_response_minutes == 120


@pytest.mark.django_db
def test_preview_impact_without_javascript_renders_the_form_again_with_the_results(
    admin_client, tenant_a, clocks
):
    stored, _tickets = clocks
    response = admin_client.post("/settings/sla/what-if/", stricter(stored, name="Renamed"))
    assert response.status_code == 200
    page = text_of(response)
    assert 'value="Renamed"' in page and 'name="first_response_h" value="1"' in page
    assert f'action="/settings/sla/{stored.pk}/"' in page  # Save still saves the policy
    assert "2 clocks would end differently." in words_of(response)
    with tenant_context(tenant_a):
        assert SLAPolicy.objects.get().name == "Standard"
    # A new policy is replayed last: the stored one still matches every ticket first.
    new = {k: v for k, v in stricter(stored, name="Newcomer").items() if k != "policy_id"}
    assert "No clock would end differently." in words_of(
        admin_client.post("/settings/sla/what-if/", new)
    )


@pytest.mark.django_db
def test_preview_of_a_form_with_errors_says_what_to_correct(admin_client, tenant_a, clocks):
    stored, _tickets = clocks
    bad = stricter(stored, first_response_h="0", first_response_m="0")
    response = admin_client.post("/settings/sla/what-if/", bad, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps 2xx only
    assert "Correct the form first" in text_of(response)
    assert "A target of 0 minutes is late at once" in text_of(response)
    full = admin_client.post("/settings/sla/what-if/", bad)
    assert full.status_code == 422 and 'value="Standard"' in text_of(full)
    assert admin_client.post("/settings/sla/what-if/", {"policy_id": "x"}).status_code == 404
    assert admin_client.get("/settings/sla/what-if/").status_code == 405


@pytest.mark.django_db
def test_preview_says_when_it_was_capped(admin_client, tenant_a, clocks, monkeypatch):
    stored, _tickets = clocks
    monkeypatch.setattr(whatif, "MAX_TIMERS", 2)
    page = text_of(admin_client.post("/settings/sla/what-if/", stricter(stored)))
    assert "Only the latest 2 clocks were replayed" in page


@pytest.mark.django_db
def test_nothing_to_replay_yet(admin_client, tenant_a):
    p = SLAPolicyFactory(tenant=tenant_a)
    page = text_of(admin_client.post("/settings/sla/what-if/", stricter(p)))
    assert "No SLA clocks started in the last 30 days" in page

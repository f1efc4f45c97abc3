"""Routing rules and assignment, run the way the worker runs them (tickets.automation.jobs.run)
against real Postgres: conditions, order and stop, explanations, strategies, skills,
availability, capacity and the team queue."""

from __future__ import annotations

import pytest

from channels_in.email import receive_email
from helpdesk.tenancy.context import tenant_context
from tests.factories import MembershipFactory
from tickets import services
from tickets.automation import jobs
from tickets.automation.assignment import Agent, choose
from tickets.automation.models import AgentProfile, AutomationJob, RoutingRule
from tickets.automation.rules import (
    Facts,
    RuleError,
    compile_rule,
    validate_actions,
    validate_conditions,
)
from tickets.contacts import contact_for_email
from tickets.models import CustomerTier, Organization, Team, TeamMember, Ticket, TicketEvent
from tickets.views.ticket import event_text

pytestmark = pytest.mark.django_db


def run_pending() -> list[str]:
    return [jobs.run(pk) for pk in
            AutomationJob.objects.filter(done_at__isnull=True).order_by("id").values_list(
                "pk", flat=True)]  # fmt: skip


def agents(tenant, n: int, prefix: str = "agent") -> list:
    return [MembershipFactory(tenant=tenant, user__email=f"{prefix}{i}@alpha.test",
                              user__full_name=f"Agent {i}").user for i in range(n)]  # fmt: skip


def team_of(users, *, name="Billing", tier=2, strategy="round_robin", skills=None) -> Team:
    team = Team.objects.create(name=name, tier=tier, assignment=strategy)
    for user in users:
        TeamMember.objects.create(team=team, user=user, skills=(skills or {}).get(user.pk, []))
    return team


def email(subject: str, body: str = "Hello", sender: str = "li.na@example.cn") -> Ticket:
    raw = (f"From: {sender}\r\nTo: support@alpha.localhost\r\nSubject: {subject}\r\n"
           f"Message-ID: <{abs(hash((subject, body, sender)))}@example.cn>\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()  # fmt: skip
    return receive_email(raw, via="smtp").ticket


# --- Vocabulary ------------------------------------------------------------------------------


def test_bad_conditions_and_actions_get_clear_errors(tenant_a):
    with tenant_context(tenant_a):
        cases = [
            ([{"field": "password", "op": "in", "value": ["x"]}], "unknown field"),
            ([{"field": "subject", "op": "in", "value": ["x"]}], "does not apply"),
            ([{"field": "subject", "op": "matches", "value": "(unclosed"}], "not valid"),
            ([{"field": "priority", "op": "in", "value": ["extreme"]}], "unknown value"),
            ([{"field": "hours_idle", "op": "gte", "value": "soon"}], "number"),
            ("not a list", "must be a list"),
        ]
        for conditions, message in cases:
            with pytest.raises(RuleError, match=message):
                validate_conditions(conditions)
        with pytest.raises(RuleError, match="team does not exist"):
            validate_actions([{"action": "set_team", "value": 999999}])
        with pytest.raises(RuleError, match="unknown action"):
            validate_actions([{"action": "drop_table", "value": 1}])


def test_conditions_match_chinese_keywords_regex_tags_and_custom_fields():
    rule = compile_rule([
        {"field": "text", "op": "contains_any", "value": ["退款", "refund"]},
        {"field": "subject", "op": "matches", "value": r"订单\s*\d{5}"},
        {"field": "tags", "op": "has_none", "value": ["spam"]},
        {"field": "custom:order_id", "op": "is_set", "value": None},
    ], "all")  # fmt: skip
    facts = Facts(subject="订单 12345 申请退款", body="", custom_fields={"order_id": "12345"})
    reasons = rule.evaluate(facts)
    assert reasons is not None
    assert [r.field for r in reasons] == ["text", "subject", "tags", "custom:order_id"]
    assert reasons[0].value == "退款" and reasons[1].value == "订单 12345"
    assert rule.evaluate(Facts(subject="订单 12345 申请退款", tags=frozenset({"spam"}),
                               custom_fields={"order_id": "1"})) is None  # fmt: skip
    either = compile_rule([{"field": "priority", "op": "in", "value": ["urgent"]},
                           {"field": "channel", "op": "in", "value": ["chat"]}], "any")  # fmt: skip
    assert either.evaluate(Facts(priority="normal", channel="chat")) is not None
    assert either.evaluate(Facts(priority="normal", channel="email")) is None


def test_a_catastrophic_pattern_times_out_instead_of_hanging():
    rule = compile_rule([{"field": "body", "op": "matches", "value": r"(a+)+$"}])
    assert rule.evaluate(Facts(body="a" * 40 + "!")) is None  # would take years without a limit


# --- Routing ---------------------------------------------------------------------------------


def test_rule_routes_assigns_and_explains_itself(tenant_a):
    with tenant_context(tenant_a):
        first, second = agents(tenant_a, 2)
        billing = team_of([first, second], strategy="least_loaded")
        vip = Organization.objects.create(name="Big Co", tier=CustomerTier.VIP)
        contact = contact_for_email(email="boss@big.example")
        contact.organization = vip
        contact.save()
        for _ in range(2):  # `first` already has two urgent tickets: load 6 against 0
            busy = services.ticket_create(requester=contact, subject="Old", priority="urgent")
            services.ticket_update(ticket=busy, actor=None, assignee=first)
        run_pending()
        RoutingRule.objects.create(name="VIP refunds", position=1, conditions=[
            {"field": "requester_tier", "op": "in", "value": ["vip"]},
            {"field": "text", "op": "contains_any", "value": ["退款"]},
        ], actions=[{"action": "set_team", "value": billing.pk},
                    {"action": "set_priority", "value": "high"},
                    {"action": "add_tags", "value": ["vip", "refund"]}])  # fmt: skip
        RoutingRule.objects.create(
            name="Never reached",
            position=2,
            conditions=[],
            actions=[{"action": "set_priority", "value": "low"}],
        )
        ticket = email("我要退款", sender="boss@big.example")
        assert run_pending() == ["done"]
        ticket.refresh_from_db()
        assert (ticket.team, ticket.priority, ticket.tier) == (billing, "high", 2)
        assert ticket.assignee == second and ticket.status == "open"
        assert sorted(services.selectors.ticket_tag_names(ticket)) == ["refund", "vip"]
        routed = TicketEvent.objects.get(ticket=ticket, kind="routed")
        assert [r["name"] for r in routed.data["rules"]] == ["VIP refunds"]
        text = event_text(routed, {u.pk: u for u in (first, second)}, {billing.pk: billing})
        assert text.startswith("Rule “VIP refunds” matched (Customer tier = VIP, keyword “退款”")
        assert "team Billing (Tier 2), priority High, tags vip, refund;" in text
        assert "assigned to Agent 1 by least-loaded (0 open vs 2)" in text
        rule = RoutingRule.objects.get(name="VIP refunds")
        assert rule.hits == 1 and rule.last_matched_at is not None
        assert RoutingRule.objects.get(name="Never reached").hits == 0  # stop = True
        # The field changes carry the rule's name too.
        assert TicketEvent.objects.get(ticket=ticket, kind="priority").reason == "VIP refunds"


def test_rules_without_stop_combine_and_later_ones_override(tenant_a):
    with tenant_context(tenant_a):
        by_mail = [{"field": "channel", "op": "in", "value": ["email"]}]
        RoutingRule.objects.create(name="All mail normal", position=1, stop=False,
                                   conditions=by_mail,
                                   actions=[{"action": "set_priority", "value": "low"},
                                            {"action": "add_tags", "value": ["mail"]}])  # fmt: skip
        RoutingRule.objects.create(name="Outage", position=2,
                                   conditions=[{"field": "subject", "op": "contains_any",
                                                "value": ["down", "宕机"]}],
                                   actions=[{"action": "set_priority",
                                             "value": "urgent"}])  # fmt: skip
        RoutingRule.objects.create(
            name="Inactive",
            position=0,
            is_active=False,
            conditions=[],
            actions=[{"action": "set_priority", "value": "high"}],
        )
        ticket = email("网站宕机了")
        quiet = email("A question")
        run_pending()
        ticket.refresh_from_db()
        quiet.refresh_from_db()
        assert ticket.priority == "urgent" and quiet.priority == "low"
        assert services.selectors.ticket_tag_names(ticket) == ["mail"]
        routed = TicketEvent.objects.get(ticket=ticket, kind="routed")
        assert [r["name"] for r in routed.data["rules"]] == ["All mail normal", "Outage"]


def test_the_same_job_twice_routes_once(tenant_a):
    with tenant_context(tenant_a):
        team = team_of(agents(tenant_a, 3))
        RoutingRule.objects.create(
            name="Everything", conditions=[], actions=[{"action": "set_team", "value": team.pk}]
        )
        ticket = email("Hello there")
        job = AutomationJob.objects.get(ticket=ticket, event="created")
        assert jobs.run(job.pk) == "done"
        assert jobs.run(job.pk) == "skipped"
        assert TicketEvent.objects.filter(ticket=ticket, kind="routed").count() == 1
        assert TicketEvent.objects.filter(ticket=ticket, kind="assignee").count() == 1
        assert Team.objects.get(pk=team.pk).last_assigned_id is not None


def test_explicit_assignment_and_a_rule_that_matches_nothing(tenant_a):
    with tenant_context(tenant_a):
        (person,) = agents(tenant_a, 1)
        RoutingRule.objects.create(name="Li Na's", conditions=[
            {"field": "requester_email", "op": "contains_any", "value": ["li.na@"]}],
            actions=[{"action": "assign_to", "value": person.pk}])  # fmt: skip
        mine = email("For Agent 0")
        other = email("Someone else", sender="x@example.com")
        run_pending()
        mine.refresh_from_db()
        other.refresh_from_db()
        assert mine.assignee == person and other.assignee is None
        assert not TicketEvent.objects.filter(ticket=other, kind="routed").exists()


# --- Strategies ------------------------------------------------------------------------------


def test_round_robin_is_fair_over_a_thousand_tickets():
    ring = [Agent(user_id=n, skills=frozenset(), online=True, capacity=10_000) for n in (3, 5, 9)]
    counts = {a.user_id: 0 for a in ring}
    last = None
    for _ in range(1000):
        choice = choose(ring, strategy="round_robin", skills=[], last_user_id=last)
        counts[choice.user_id] += 1
        choice.agent.open += 1
        last = choice.user_id
    assert max(counts.values()) - min(counts.values()) <= 1


def test_least_loaded_weights_priority_and_respects_capacity():
    a = Agent(user_id=1, skills=frozenset(), online=True, capacity=3, open=2, load=2)
    b = Agent(user_id=2, skills=frozenset(), online=True, capacity=5, open=1, load=3)
    assert choose([a, b], strategy="least_loaded", skills=[], last_user_id=None).user_id == 1
    a.open = 3  # full
    assert choose([a, b], strategy="least_loaded", skills=[], last_user_id=None).user_id == 2
    b.open = 5
    refused = choose([a, b], strategy="least_loaded", skills=[], last_user_id=None)
    assert refused.user_id is None and refused.why_not == "at_capacity"


def test_skills_and_availability_decide_who_can_take_it(tenant_a):
    with tenant_context(tenant_a):
        plain, speaker, away = agents(tenant_a, 3)
        team = team_of([plain, speaker, away], name="Japan desk",
                       skills={speaker.pk: ["japanese"], away.pk: ["japanese"]})  # fmt: skip
        AgentProfile.objects.create(user=away, availability="away")
        RoutingRule.objects.create(name="Japanese", conditions=[
            {"field": "text", "op": "contains_any", "value": ["日本語"]}],
            actions=[{"action": "set_team", "value": team.pk},
                     {"action": "require_skills", "value": ["Japanese"]}])  # fmt: skip
        tickets = [email(f"日本語 {n}") for n in range(3)]
        run_pending()
        for ticket in tickets:
            ticket.refresh_from_db()
            assert ticket.assignee == speaker and ticket.required_skills == ["japanese"]
        AgentProfile.objects.update_or_create(user=speaker, defaults={"availability": "offline"})
        waiting = email("日本語 again")
        run_pending()
        waiting.refresh_from_db()
        assert waiting.assignee is None and waiting.awaiting_assignment
        routed = TicketEvent.objects.get(ticket=waiting, kind="routed")
        assert routed.data["assignment"]["why_not"] == "no_skills"
        assert "waiting in the team queue: nobody online has the skills it needs" in event_text(
            routed, {}, {team.pk: team}
        )


def test_queued_tickets_are_assigned_when_capacity_frees_up(tenant_a):
    from tickets.tasks import assign_queue

    with tenant_context(tenant_a):
        first, second = agents(tenant_a, 2)
        team = team_of([first, second], strategy="least_loaded")
        for user, capacity in ((first, 2), (second, 3)):
            AgentProfile.objects.create(user=user, capacity=capacity)
        RoutingRule.objects.create(
            name="All", conditions=[], actions=[{"action": "set_team", "value": team.pk}]
        )
        tickets = [email(f"Question {n}") for n in range(8)]
        run_pending()
        for ticket in tickets:
            ticket.refresh_from_db()
        loads = {u.pk: sum(t.assignee_id == u.pk for t in tickets) for u in (first, second)}
        assert loads == {first.pk: 2, second.pk: 3}  # never above capacity
        waiting = [t for t in tickets if t.assignee_id is None]
        assert len(waiting) == 3 and all(t.awaiting_assignment for t in waiting)
        # Nobody has room: the queue run assigns nothing.
        assert assign_queue.run(tenant_a.pk, team_id=team.pk) == 0
        # Two tickets solved: two queued tickets, oldest first, get assigned.
        for done in [t for t in tickets if t.assignee_id == first.pk]:
            services.ticket_update(ticket=done, actor=None, status="solved")
        assert assign_queue.run(tenant_a.pk, team_id=team.pk) == 2
        assert assign_queue.run(tenant_a.pk, team_id=team.pk) == 0  # idempotent
        for ticket in waiting:
            ticket.refresh_from_db()
        assert [t.assignee_id for t in waiting] == [first.pk, first.pk, None]
        assert waiting[0].awaiting_assignment is False and waiting[2].awaiting_assignment
        event = TicketEvent.objects.get(ticket=waiting[0], kind="assigned_from_queue")
        assert event_text(event, {first.pk: first}, {}).startswith(
            "From the team queue: assigned to Agent 0"
        )


def test_tenants_rules_and_agents_stay_apart(tenant_a, tenant_b):
    with tenant_context(tenant_b):
        theirs = team_of(agents(tenant_b, 1, prefix="bravo"), name="Theirs")
        RoutingRule.objects.create(
            name="Bravo catch-all",
            conditions=[],
            actions=[{"action": "set_team", "value": theirs.pk}],
        )
    with tenant_context(tenant_a):
        ticket = email("Mine")
        run_pending()
        ticket.refresh_from_db()
        assert ticket.team is None and ticket.assignee is None
        with pytest.raises(RuleError, match="team does not exist"):
            validate_actions([{"action": "set_team", "value": theirs.pk}])


def test_a_rule_can_remove_tags_too(tenant_a):
    with tenant_context(tenant_a):
        RoutingRule.objects.create(name="Tidy", conditions=[], actions=[
            {"action": "add_tags", "value": ["keep"]},
            {"action": "remove_tags", "value": ["spam-suspect"]}])  # fmt: skip
        ticket = email("Hello")
        services.ticket_set_tags(ticket=ticket, names=["spam-suspect"], actor=None)
        run_pending()
        assert services.selectors.ticket_tag_names(ticket) == ["keep"]

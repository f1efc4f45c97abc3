"""Escalation policies through the product's own paths: the SLA sweep and the automation job
(sla.breaches → sla.escalation), customer replies and complaints (jobs.pipeline), and the
agent's manual escalation. Real Postgres; exactly once per (policy, ticket, cause)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import translation

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from sla import escalation
from sla.models import Escalation, EscalationPolicy, SLATimer
from sla.sweep import sweep
from tests.factories import MembershipFactory, make_ticket
from tests.sla.factories import SLAPolicyFactory
from tests.sla.helpers import run_pending
from tickets import services
from tickets.automation.models import Trigger
from tickets.models import Team, TeamMember, Ticket, TicketEvent
from tickets.views.ticket import event_text

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])
When = EscalationPolicy.When


@pytest.fixture
def tiers(tenant_a):
    """Tier 1 Support (agent one), Billing L2 (tier 2, round-robin, Taylor), Engineering (3)."""
    one = MembershipFactory(tenant=tenant_a, user__email="one@alpha.test").user
    taylor = MembershipFactory(tenant=tenant_a, user__email="taylor@alpha.test",
                               user__full_name="Taylor Two").user  # fmt: skip
    with tenant_context(tenant_a):
        tier1 = Team.objects.create(name="Tier 1 Support", tier=1)
        tier2 = Team.objects.create(name="Billing L2", tier=2, assignment="round_robin")
        tier3 = Team.objects.create(name="Engineering", tier=3)
        TeamMember.objects.create(team=tier1, user=one)
        TeamMember.objects.create(team=tier2, user=taylor)
    return {"tier1": tier1, "tier2": tier2, "tier3": tier3, "one": one, "taylor": taylor}


@pytest.fixture
def urgent_sla(tenant_a):
    return SLAPolicyFactory(
        tenant=tenant_a, name="Urgent", business_hours=False,
        conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=240,
    )  # fmt: skip


def policy(tenant, **fields) -> EscalationPolicy:
    with tenant_context(tenant):
        return EscalationPolicy.objects.create(**{"name": "Breach → Tier 2", **fields})


def urgent_ticket(tenant, tiers, **kw) -> Ticket:
    ticket = make_ticket(tenant, priority=Ticket.Priority.URGENT, team=tiers["tier1"],
                         assignee=tiers["one"], **kw)  # fmt: skip
    run_pending(tenant)
    return ticket


def events(tenant, ticket, kind: str) -> list[TicketEvent]:
    with tenant_context(tenant):
        return list(TicketEvent.objects.filter(ticket=ticket, kind=kind).order_by("id"))


def line(tenant, event: TicketEvent) -> str:
    with tenant_context(tenant), translation.override("en"):
        teams = {t.pk: t for t in Team.objects.all()}
        return event_text(event, {}, teams)


def fresh(tenant, ticket) -> Ticket:
    with tenant_context(tenant):
        return Ticket.objects.get(pk=ticket.pk)


def test_first_response_breach_moves_to_tier_2_and_reroutes(tenant_a, tiers, urgent_sla):
    policy(tenant_a, when=When.SLA_BREACHED, clock_kinds=["first_response"])
    ticket = urgent_ticket(tenant_a, tiers)
    result = sweep(now=ticket.created_at + timedelta(minutes=61), send=False)
    assert result.breached == 1
    run_pending(tenant_a)
    moved = fresh(tenant_a, ticket)
    assert (moved.team_id, moved.tier) == (tiers["tier2"].pk, 2)
    assert moved.assignee_id == tiers["taylor"].pk  # Billing L2's round-robin
    [event] = events(tenant_a, ticket, "escalated")
    assert event.data["from_tier"] == 1 and event.data["to_tier"] == 2
    assert event.data["why"] == {"event": "sla_breached", "clock": "first_response", "cycle": 1}
    assert line(tenant_a, event) == (
        "Escalated to Tier 2 (Billing L2) by policy “Breach → Tier 2”: first response breached"
    )
    with tenant_context(tenant_a):
        assert EscalationPolicy.objects.get().hits == 1


def test_escalation_happens_once_per_policy_ticket_and_cause(tenant_a, tiers, urgent_sla):
    policy(tenant_a, when=When.SLA_BREACHED, target="next")
    ticket = urgent_ticket(tenant_a, tiers)
    sweep(now=ticket.created_at + timedelta(minutes=61), send=False)
    run_pending(tenant_a)
    with tenant_context(tenant_a):
        timer = SLATimer.objects.get(ticket=ticket, kind="first_response")
        with transaction.atomic():  # the job runs again (a redelivery after a crash)
            locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
            escalation.on_sla_event(locked, timer, event="sla_breached")
            escalation.on_sla_event(locked, timer, event="sla_breached")
        assert Escalation.objects.filter(ticket=ticket).count() == 1
    assert len(events(tenant_a, ticket, "escalated")) == 1
    assert fresh(tenant_a, ticket).tier == 2  # not on to tier 3


def test_clock_kinds_and_conditions_choose_the_policy(tenant_a, tiers, urgent_sla):
    policy(tenant_a, name="Resolution only", when=When.SLA_BREACHED, clock_kinds=["resolution"])
    policy(tenant_a, name="Low only", when=When.SLA_BREACHED, priorities=["low"])
    policy(tenant_a, name="From tier 3", when=When.SLA_BREACHED, tiers=[3])
    ticket = urgent_ticket(tenant_a, tiers)
    sweep(now=ticket.created_at + timedelta(minutes=61), send=False)  # first response only
    run_pending(tenant_a)
    assert events(tenant_a, ticket, "escalated") == []
    assert fresh(tenant_a, ticket).tier == 1


def test_warning_to_a_named_team_raises_priority_to_a_level(tenant_a, tiers, urgent_sla):
    policy(tenant_a, name="Warn → Engineering", when=When.SLA_WARNING, target="team",
           to_team=tiers["tier3"], raise_priority="urgent", reroute=False)  # fmt: skip
    ticket = make_ticket(tenant_a, priority=Ticket.Priority.HIGH, team=tiers["tier1"],
                         assignee=tiers["one"])  # fmt: skip
    with tenant_context(tenant_a):
        urgent_sla.conditions = []
        urgent_sla.save()
    run_pending(tenant_a)
    sweep(now=ticket.created_at + timedelta(minutes=50), send=False)
    run_pending(tenant_a)
    moved = fresh(tenant_a, ticket)
    assert (moved.team_id, moved.tier, moved.priority) == (tiers["tier3"].pk, 3, "urgent")
    assert moved.assignee_id is None  # not a member of Engineering: unassigned
    [event] = events(tenant_a, ticket, "escalated")
    assert line(tenant_a, event) == (
        "Escalated to Tier 3 (Engineering) by policy “Warn → Engineering”: first response at "
        "risk (SLA warning); priority raised to Urgent"
    )


def test_third_customer_reply_escalates_once(tenant_a, tiers):
    policy(tenant_a, name="Third reply", when=When.CUSTOMER_REPLIES, reply_count=3,
           raise_priority="up")  # fmt: skip
    ticket = make_ticket(tenant_a, team=tiers["tier1"])
    run_pending(tenant_a)
    for n in range(4):
        with tenant_context(tenant_a):
            current = Ticket.objects.get(pk=ticket.pk)
            services.ticket_add_inbound(ticket=current, contact=current.requester,
                                        body_text=f"Any news? ({n})")  # fmt: skip
        run_pending(tenant_a)
        escalated = events(tenant_a, ticket, "escalated")
        assert len(escalated) == (1 if n >= 2 else 0), n
    moved = fresh(tenant_a, ticket)
    assert (moved.tier, moved.priority) == (2, "high")
    assert line(tenant_a, escalated[0]).endswith("“Third reply”: 3 customer replies; priority "
                                                 "raised to High")  # fmt: skip


def test_complaint_escalates_on_creation_and_on_a_category_change(tenant_a, tiers):
    policy(tenant_a, name="Complaints", when=When.COMPLAINT)
    complaint = make_ticket(tenant_a, team=tiers["tier1"], category=Ticket.Category.COMPLAINT)
    run_pending(tenant_a)
    assert fresh(tenant_a, complaint).tier == 2
    later = make_ticket(tenant_a, team=tiers["tier1"])
    run_pending(tenant_a)
    assert fresh(tenant_a, later).tier == 1
    with tenant_context(tenant_a):
        services.ticket_update(ticket=fresh(tenant_a, later), actor=tiers["one"],
                               category=Ticket.Category.COMPLAINT)  # fmt: skip
    run_pending(tenant_a)
    assert fresh(tenant_a, later).tier == 2
    with tenant_context(tenant_a):  # a later edit does not escalate it again
        services.ticket_update(ticket=fresh(tenant_a, later), actor=tiers["one"], priority="high")
    run_pending(tenant_a)
    assert len(events(tenant_a, later, "escalated")) == 1
    assert line(tenant_a, events(tenant_a, later, "escalated")[0]).endswith(": a complaint")


def test_negative_sentiment_counts_as_a_complaint(tenant_a):
    ticket = Ticket(category="inquiry", classification={"sentiment": {"label": "negative"}})
    assert escalation.is_complaint(ticket)
    assert not escalation.is_complaint(Ticket(category="inquiry", classification={}))


def test_manual_escalation_one_tier_up_with_the_reason(tenant_a, tiers):
    ticket = make_ticket(tenant_a, team=tiers["tier1"], assignee=tiers["one"])
    run_pending(tenant_a)
    with tenant_context(tenant_a), transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        made = escalation.escalate_manually(ticket=locked, actor=tiers["one"],
                                            note="Needs a database fix", token="t1")  # fmt: skip
        again = escalation.escalate_manually(ticket=locked, actor=tiers["one"],
                                             note="Needs a database fix", token="t1")  # fmt: skip
    assert made.pk == again.pk
    moved = fresh(tenant_a, ticket)
    assert (moved.tier, moved.assignee_id) == (2, tiers["taylor"].pk)
    [event] = events(tenant_a, ticket, "escalated")
    assert event.actor_id == tiers["one"].pk
    assert line(tenant_a, event).endswith("escalated to Tier 2 (Billing L2): Needs a database fix")


def test_manual_policy_is_used_when_configured(tenant_a, tiers):
    policy(tenant_a, name="By hand → Engineering", when=When.MANUAL, target="team",
           to_team=tiers["tier3"])  # fmt: skip
    ticket = make_ticket(tenant_a, team=tiers["tier1"])
    with tenant_context(tenant_a), transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        escalation.escalate_manually(ticket=locked, actor=tiers["one"], note="Outage")
    assert fresh(tenant_a, ticket).tier == 3
    [event] = events(tenant_a, ticket, "escalated")
    assert event.data["name"] == "By hand → Engineering"


def test_manual_escalation_needs_a_reason_and_a_higher_tier(tenant_a, tiers):
    ticket = make_ticket(tenant_a, team=tiers["tier3"])
    with tenant_context(tenant_a), transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        with pytest.raises(escalation.EscalationError):
            escalation.escalate_manually(ticket=locked, actor=tiers["one"], note="   ")
        with pytest.raises(escalation.EscalationError):
            escalation.escalate_manually(ticket=locked, actor=tiers["one"], note="Help")


def test_the_triggers_escalate_action_still_moves_a_tier_up(tenant_a, tiers):
    with tenant_context(tenant_a):
        Trigger.objects.create(
            name="Angry", event="created",
            conditions=[{"field": "subject", "op": "contains_any", "value": ["angry"]}],
            actions=[{"action": "escalate", "value": {"tier": "next", "raise_priority": True}}],
        )  # fmt: skip
    ticket = make_ticket(tenant_a, subject="Angry customer", team=tiers["tier1"],
                         assignee=tiers["one"])  # fmt: skip
    run_pending(tenant_a)
    moved = fresh(tenant_a, ticket)
    assert (moved.team_id, moved.priority, moved.assignee_id) == (tiers["tier2"].pk, "high", None)


def test_team_leads_are_members_with_manager_or_admin_role(tenant_a, tiers):
    from sla.alerts import recipients

    lead = MembershipFactory(tenant=tenant_a, role=Membership.Role.MANAGER).user
    with tenant_context(tenant_a):
        TeamMember.objects.create(team=tiers["tier2"], user=lead)
        ticket = Ticket(team=tiers["tier2"], assignee=None)
        assert [u.pk for u in recipients(ticket, ["team_leads"])] == [lead.pk]
        everyone = {u.pk for u in recipients(ticket, ["team"])}
        assert everyone == {lead.pk, tiers["taylor"].pk}
        assert [u.pk for u in recipients(ticket, ["managers"])] == [lead.pk]


def test_demo_seed_is_idempotent_and_puts_tier2_in_a_tier_2_team(tenant_b):
    from sla.demo_escalation import seed_escalation
    from sla.models import AlertRule

    tier2 = MembershipFactory(tenant=tenant_b, user__email="tier2@bravo.test").user
    with tenant_context(tenant_b):
        seed_escalation(tenant_b, None)
        seed_escalation(tenant_b, None)
        [demo_policy] = EscalationPolicy.objects.all()
        [demo_rule] = AlertRule.objects.all()
        assert demo_policy.name == "首次响应超时 → 二线"  # the tenant speaks Chinese
        assert (demo_policy.when, demo_policy.clock_kinds) == ("sla_breached", ["first_response"])
        assert (demo_rule.level, demo_rule.ack_within_minutes) == ("critical", 30)
        assert demo_rule.chain == [{"recipients": ["managers"], "users": []}]
        assert TeamMember.objects.filter(user=tier2, team__tier=2).count() == 1

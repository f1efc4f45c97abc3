"""Per-ticket SLA timers through the product's own paths (tickets.services, the automation
pipeline), with real Postgres: started, met, paused, resumed, recomputed, swept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.tenancy.context import tenant_context
from sla.models import SLATimer
from sla.sweep import sweep
from tests.factories import MembershipFactory, make_ticket
from tests.sla.factories import SLAPolicyFactory
from tests.sla.helpers import run_pending
from tickets import services
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


def timers(tenant, ticket) -> dict[tuple[str, int], SLATimer]:
    with tenant_context(tenant):
        return {(t.kind, t.cycle): t for t in SLATimer.objects.filter(ticket=ticket)}


@pytest.fixture
def urgent_policy(tenant_a):
    return SLAPolicyFactory(
        tenant=tenant_a, name="Urgent", business_hours=False, position=1,
        conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=240,
    )  # fmt: skip


def test_new_ticket_gets_its_policys_clocks_from_creation(tenant_a, urgent_policy):
    ticket = make_ticket(tenant_a, priority=Ticket.Priority.URGENT)
    assert timers(tenant_a, ticket) == {}  # started by the automation job, after routing
    run_pending(tenant_a)
    found = timers(tenant_a, ticket)
    first = found[("first_response", 1)]
    assert first.due_at == ticket.created_at + timedelta(minutes=60)
    assert first.warn_at == ticket.created_at + timedelta(minutes=45)
    assert found[("resolution", 1)].due_at == ticket.created_at + timedelta(minutes=240)
    with tenant_context(tenant_a):
        started = TicketEvent.objects.get(ticket=ticket, kind="sla_started")
    assert started.reason == "Urgent" and len(started.data["timers"]) == 2


def test_normal_ticket_without_matching_policy_has_no_clock(tenant_a, urgent_policy):
    ticket = make_ticket(tenant_a)
    run_pending(tenant_a)
    assert timers(tenant_a, ticket) == {}


def test_agent_reply_meets_first_response_and_customer_reply_starts_next(tenant_a, urgent_policy):
    agent = MembershipFactory(tenant=tenant_a).user
    ticket = make_ticket(tenant_a, priority=Ticket.Priority.URGENT)
    run_pending(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=ticket, author=agent, body_text="On it.")
    first = timers(tenant_a, ticket)[("first_response", 1)]
    assert first.state == "met" and first.breached_at is None
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="And?")
    nxt = timers(tenant_a, ticket)[("next_response", 1)]
    assert nxt.state == "running"
    assert nxt.due_at == nxt.started_at + timedelta(minutes=120)
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=ticket, author=agent, body_text="Done.")
    assert timers(tenant_a, ticket)[("next_response", 1)].state == "met"


def test_pending_pauses_and_customer_reply_resumes_with_the_pause_not_counted(
    tenant_a, urgent_policy
):
    agent = MembershipFactory(tenant=tenant_a).user
    ticket = make_ticket(tenant_a, priority=Ticket.Priority.URGENT)
    run_pending(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=ticket, author=agent, body_text="Which model?",
                              set_status=Ticket.Status.PENDING)  # fmt: skip
    resolution = timers(tenant_a, ticket)[("resolution", 1)]
    assert resolution.state == "paused" and resolution.due_at is None
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="X200")
    resolution = timers(tenant_a, ticket)[("resolution", 1)]
    assert resolution.state == "running"
    ((pause_start, pause_end),) = resolution.pauses
    paused = resolution.paused_at
    assert paused is None
    from django.utils.dateparse import parse_datetime

    length = parse_datetime(pause_end) - parse_datetime(pause_start)
    assert resolution.due_at == ticket.created_at + timedelta(minutes=240) + length


def test_priority_change_recomputes_the_deadline(tenant_a, urgent_policy):
    SLAPolicyFactory(tenant=tenant_a, name="Standard", business_hours=False, position=100_000,
                     first_response_minutes=480, resolution_minutes=2880)  # fmt: skip
    agent = MembershipFactory(tenant=tenant_a).user
    ticket = make_ticket(tenant_a)
    run_pending(tenant_a)
    assert timers(tenant_a, ticket)[("first_response", 1)].target_minutes == 480
    with tenant_context(tenant_a):
        services.ticket_update(ticket=ticket, actor=agent, priority=Ticket.Priority.URGENT)
    first = timers(tenant_a, ticket)[("first_response", 1)]
    assert (first.policy_name, first.target_minutes) == ("Urgent", 60)
    assert first.due_at == ticket.created_at + timedelta(minutes=60)
    with tenant_context(tenant_a):
        assert TicketEvent.objects.filter(ticket=ticket, kind="sla_recomputed").exists()


def test_solving_meets_resolution_and_reopening_resumes_it(tenant_a, urgent_policy):
    agent = MembershipFactory(tenant=tenant_a).user
    ticket = make_ticket(tenant_a, priority=Ticket.Priority.URGENT)
    run_pending(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.SOLVED)
    found = timers(tenant_a, ticket)
    assert found[("resolution", 1)].state == "met"
    assert found[("first_response", 1)].state == "stopped"
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="Again")
    resolution = timers(tenant_a, ticket)[("resolution", 1)]
    assert resolution.state == "running" and resolution.achieved_at is None
    assert len(resolution.pauses) == 1


def test_sweep_breaches_once_and_the_worker_side_records_it(tenant_a, urgent_policy):
    ticket = make_ticket(tenant_a, priority=Ticket.Priority.URGENT)
    run_pending(tenant_a)
    later = ticket.created_at + timedelta(minutes=50)
    first = sweep(now=later, send=False)
    assert (first.breached, first.warned) == (0, 1)  # first response past 75 %
    assert sweep(now=later, send=False).warned == 0  # exactly once
    run_pending(tenant_a)  # the worker tells the warning
    overdue = sweep(now=ticket.created_at + timedelta(minutes=61), send=False)
    assert (overdue.breached, overdue.warned) == (1, 0)
    breached = timers(tenant_a, ticket)[("first_response", 1)]
    assert breached.breached_at == breached.due_at
    run_pending(tenant_a)
    with tenant_context(tenant_a):
        kinds = list(TicketEvent.objects.filter(ticket=ticket, kind__startswith="sla_w")
                     .values_list("kind", flat=True))  # fmt: skip
        assert kinds == ["sla_warning"]
        assert TicketEvent.objects.filter(ticket=ticket, kind="sla_breached").count() == 1

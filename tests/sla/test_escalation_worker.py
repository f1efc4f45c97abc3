"""Escalation and alerts through a REAL Celery worker: an urgent ticket with a 60-minute first
response, time moved past its deadline (helpdesk.lib.clock.travel, shared with the worker via
Redis), the beat's SLA sweep run here; the worker escalates it to the Tier 2 team, whose member
gets a critical notification; nobody acknowledges, and the beat's chain sweep has the worker
tell the manager."""

from __future__ import annotations

import time

import pytest

from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from sla.models import Alert, AlertRule, EscalationPolicy, SLATimer
from sla.sweep import sweep
from sla.tasks import sweep_alert_chains
from tests.factories import MembershipFactory, make_ticket
from tests.sla.factories import SLAPolicyFactory
from tests.worker import celery_worker, smtp_sink
from tickets.automation.models import AutomationJob, Notification
from tickets.models import Team, TeamMember, Ticket, TicketEvent

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]


def wait_until(check, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(autouse=True)
def _clock():
    clock.reset()
    yield
    clock.reset()


def test_worker_escalates_a_breached_urgent_ticket_and_alerts_tier_2(tenant_a):
    one = MembershipFactory(tenant=tenant_a, user__email="one@alpha.test").user
    taylor = MembershipFactory(tenant=tenant_a, user__email="tier2@alpha.test").user
    boss = MembershipFactory(tenant=tenant_a, user__email="boss@alpha.test",
                             role=Membership.Role.MANAGER).user  # fmt: skip
    SLAPolicyFactory(
        tenant=tenant_a, name="Urgent", business_hours=False,
        conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=240,
    )  # fmt: skip
    with tenant_context(tenant_a):
        tier1 = Team.objects.create(name="Tier 1 Support", tier=1)
        tier2 = Team.objects.create(name="Tier 2 Technical", tier=2, assignment="round_robin")
        TeamMember.objects.create(team=tier1, user=one)
        TeamMember.objects.create(team=tier2, user=taylor)
        EscalationPolicy.objects.create(
            name="First response breach → Tier 2", when="sla_breached",
            clock_kinds=["first_response"],
        )  # fmt: skip
        AlertRule.objects.create(
            name="SLA breach → Tier 2 team", event="sla_breached", level="critical",
            recipients=["team"], via=["in_app", "email"], ack_within_minutes=30,
            chain=[{"recipients": ["managers"]}],
        )  # fmt: skip
    with smtp_sink() as (sink, port), celery_worker(port):
        ticket = make_ticket(tenant_a, priority=Ticket.Priority.URGENT, team=tier1, assignee=one)

        def timer_started() -> bool:
            with tenant_context(tenant_a):
                return SLATimer.objects.filter(ticket=ticket, kind="first_response").exists()

        wait_until(timer_started, what="the created job to start the SLA clocks")
        clock.travel(minutes=61)
        result = sweep()  # the beat's SLA sweep; its job goes to the worker on commit
        assert result.breached == 1

        def alerted() -> bool:
            with tenant_context(tenant_a):
                return Notification.objects.filter(recipient=taylor, level="critical").exists()

        wait_until(alerted, what="the worker to escalate and alert Tier 2")
        with tenant_context(tenant_a):
            moved = Ticket.objects.get(pk=ticket.pk)
            assert (moved.team_id, moved.tier, moved.assignee_id) == (tier2.pk, 2, taylor.pk)
            event = TicketEvent.objects.get(ticket=ticket, kind="escalated")
            assert event.data["name"] == "First response breach → Tier 2"
            assert event.data["why"]["clock"] == "first_response"
            note = Notification.objects.get(recipient=taylor)
            assert note.title.startswith(f"SLA breached (First response): #{ticket.number}")
            assert not AutomationJob.objects.filter(done_at__isnull=True).exists()
        mail = sink.wait_for(1)
        assert [m["To"] for m in mail] == ["tier2@alpha.test"]
        assert mail[0]["Auto-Submitted"] == "auto-generated"

        clock.travel(minutes=31)  # nobody acknowledged within 30 minutes
        assert sweep_alert_chains() == 1  # the beat task: one tenant, sent to the worker

        def manager_told() -> bool:
            with tenant_context(tenant_a):
                return Notification.objects.filter(recipient=boss, level="critical").exists()

        wait_until(manager_told, what="the worker to take the chain's second step")
    with tenant_context(tenant_a):
        alert = Alert.objects.get()
        assert (alert.step, alert.next_step_at, alert.acknowledged_at) == (2, None, None)
        assert Notification.objects.filter(recipient=boss).count() == 1

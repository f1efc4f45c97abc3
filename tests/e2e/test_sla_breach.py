"""The SLA story end to end, in Chromium and through a REAL Celery worker: an administrator
sets a 1-hour first-response SLA on urgent tickets in Settings; an urgent ticket shows its
countdown; time moves on (helpdesk.lib.clock.travel, the test's freezegun for every process);
the beat's sweep task breaches it on the worker, which escalates the ticket to Tier 2 and
alerts the Tier 2 team; tier2@acme.test sees the alert on the bell and acknowledges it."""

from __future__ import annotations

import pytest

from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from sla.models import AlertRule, EscalationPolicy, SLAPolicy, SLATimer
from sla.tasks import sweep_sla
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.e2e.test_routing_rule import sign_in, wait_until
from tests.factories import MembershipFactory, TenantFactory, make_ticket
from tests.worker import celery_worker, smtp_sink
from tickets.automation.models import Notification
from tickets.models import Team, TeamMember, Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support", default_language="en")
    MembershipFactory(tenant=tenant, user__email="admin@acme.test", user__full_name="Ada Admin",
                      role=Membership.Role.ADMIN)  # fmt: skip
    agent = MembershipFactory(tenant=tenant, user__email="agent1@acme.test",
                              user__full_name="Li Lei").user  # fmt: skip
    tier2 = MembershipFactory(tenant=tenant, user__email="tier2@acme.test",
                              user__full_name="Tess Tier-Two").user  # fmt: skip
    with tenant_context(tenant):
        front = Team.objects.create(name="Front desk", tier=1)
        TeamMember.objects.create(team=front, user=agent)
        second = Team.objects.create(name="Specialists", tier=2, assignment="round_robin")
        TeamMember.objects.create(team=second, user=tier2)
        EscalationPolicy.objects.create(name="First response breach → Tier 2", when="sla_breached",
                                        clock_kinds=["first_response"], reroute=True)  # fmt: skip
        AlertRule.objects.create(name="Breach alert", event="sla_breached", level="critical",
                                 recipients=["team"], via=["in_app"])  # fmt: skip
    clock.reset()
    yield tenant
    clock.reset()


@pytest.mark.worker
def test_an_urgent_ticket_breaches_escalates_to_tier_2_and_tier_2_is_alerted(
    page, browser, live_server, acme
):
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    # 1. The administrator sets the SLA in the settings pages.
    sign_in(page, live_server, acme)
    page.goto(tenant_url(live_server, acme, "/settings/sla/"))
    page.get_by_role("link", name="New policy").first.click()
    page.get_by_label("Name", exact=True).fill("Urgent: 1 hour")
    page.locator("#cond-priority").get_by_label("Urgent").check()
    page.get_by_label("Count business hours only").uncheck()
    page.get_by_label("First response: hours", exact=True).fill("1")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Urgent: 1 hour").first.wait_for()
    with tenant_context(acme):
        policy = SLAPolicy.objects.get()
        assert policy.conditions == [{"field": "priority", "op": "in", "value": ["urgent"]}]
        assert (policy.first_response_minutes, policy.business_hours) == (60, False)

    with smtp_sink() as (_sink, port), celery_worker(port):
        # 2. An urgent ticket arrives; the worker routes it and starts its clocks.
        with tenant_context(acme):
            front = Team.objects.get(name="Front desk")
        ticket = make_ticket(acme, subject="Checkout is down for everyone",
                             priority=Ticket.Priority.URGENT, team=front)  # fmt: skip

        def clock_started() -> bool:
            with tenant_context(acme):
                return SLATimer.objects.filter(ticket=ticket, kind="first_response").exists()

        wait_until(clock_started, what="the worker to start the SLA clock")
        page.goto(tenant_url(live_server, acme, f"/agent/tickets/{ticket.number}/"))
        chip = page.locator(".chip-sla-ok").first
        chip.wait_for()
        assert chip.locator("time").inner_text().strip() in {"59m", "1h 0m"}
        page.screenshot(path=shots / "sla-story-countdown-en-desktop.png", full_page=True)

        # 3. An hour and a minute later the beat's sweep runs on the worker: breach, escalation.
        clock.travel(minutes=61)
        sweep_sla.delay()

        def escalated() -> bool:
            with tenant_context(acme):
                return Ticket.objects.filter(pk=ticket.pk, team__name="Specialists",
                                             tier=2).exists()  # fmt: skip

        wait_until(escalated, what="the worker to escalate the ticket to Tier 2")
        with tenant_context(acme):
            assert TicketEvent.objects.filter(ticket=ticket, kind="sla_breached").count() == 1
            escalation = TicketEvent.objects.get(ticket=ticket, kind="escalated")
            assert escalation.data["why"]["clock"] == "first_response"
            alert = Notification.objects.get(recipient__email="tier2@acme.test", ticket=ticket)
            assert alert.level == "critical" and alert.acknowledged_at is None

    # 4. The agent's ticket page says why; the chip is red.
    page.goto(tenant_url(live_server, acme, f"/agent/tickets/{ticket.number}/?timeline=1"))
    page.locator(".chip-sla-breached").first.wait_for()
    page.locator(".timeline-text", has_text="Escalated to Tier 2").first.wait_for()
    page.screenshot(path=shots / "sla-story-breached-en-desktop.png", full_page=True)

    # 5. tier2@acme.test sees the alert on the bell and acknowledges it.
    tier2 = browser.new_page()
    try:
        sign_in(tier2, live_server, acme, email="tier2@acme.test")
        tier2.locator("#notif-count .badge").wait_for()
        assert tier2.locator("#notif-count .badge").inner_text() == "1"
        tier2.goto(tenant_url(live_server, acme, "/notifications/"))
        item = tier2.locator("#notification-list li", has_text=f"#{ticket.number}").first
        item.wait_for()
        tier2.screenshot(path=shots / "sla-story-alert-en-desktop.png", full_page=True)
        item.get_by_role("button", name="Acknowledge").click()
        item.locator(".chip-state-on", has_text="Acknowledged").wait_for()
    finally:
        tier2.close()
    with tenant_context(acme):
        alert.refresh_from_db()
        assert alert.acknowledged_at is not None

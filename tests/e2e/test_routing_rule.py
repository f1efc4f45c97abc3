"""An administrator builds a routing rule in the browser, typing into the condition/action
builder as anyone would; a matching email then arrives, a REAL Celery worker routes it, and the
ticket's timeline says which rule did it and why. Then the routing, auto-reply and agent pages
with content in them, in English and Chinese, at desktop and phone width (artifacts/screens/)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_in.email import receive_email
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.e2e.test_pages_render_well import SIZES, check
from tests.factories import PASSWORD, ContactFactory, MembershipFactory, TenantFactory, make_ticket
from tests.worker import celery_worker, smtp_sink
from tickets.automation.models import AgentProfile, AutoReply, RoutingRule
from tickets.models import CustomerTier, Team, TeamMember, Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support", default_language="en")
    MembershipFactory(
        tenant=tenant, user__email="admin@acme.test", user__full_name="Ada Admin",
        role=Membership.Role.ADMIN,
    )  # fmt: skip
    wang = MembershipFactory(
        tenant=tenant, user__email="wang.fang@acme.test", user__full_name="Wang Fang"
    ).user
    with tenant_context(tenant):
        Team.objects.create(name="Front desk", tier=1)
        billing = Team.objects.create(name="Billing", tier=2, assignment="round_robin")
        TeamMember.objects.create(team=billing, user=wang)
    return tenant


def sign_in(page, live_server, tenant, email="admin@acme.test"):
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/agent/")


def htmx_ready(page, selector: str) -> None:
    """Wait until htmx has processed a control it just swapped in (its change handler is
    attached); choosing an option any sooner would change it without re-rendering the row."""
    page.wait_for_function(
        "s => { const el = document.querySelector(s);"
        " return !!(el && el['htmx-internal-data'] && el['htmx-internal-data'].initHash); }",
        arg=selector,
    )


def wait_until(check_, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check_():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.worker
def test_a_rule_built_in_the_browser_routes_a_new_email_through_the_worker(page, live_server, acme):
    sign_in(page, live_server, acme)
    page.goto(tenant_url(live_server, acme, "/settings/routing/"))
    page.get_by_role("link", name="New rule").first.click()
    page.get_by_label("Name").fill("VIP refunds")

    # Condition 1: subject or message contains 退款 (each change re-renders the row by htmx).
    page.get_by_role("button", name="Add a condition").click()
    htmx_ready(page, "#cond-0-field")
    page.get_by_label("Condition 1: Field").select_option(label="Subject or message")
    htmx_ready(page, "#cond-0-op")
    assert page.get_by_label("Condition 1: Test").input_value() == "contains_any"
    page.get_by_label("Condition 1: Values").press_sequentially("退款")

    # Action 1: set the team to Billing; action 2: priority high.
    htmx_ready(page, "#act-0-action")
    page.get_by_label("Action 1: Action").select_option(label="Set team")
    page.locator("#act-0-value").select_option(label="Billing")
    page.get_by_role("button", name="Add an action").click()
    htmx_ready(page, "#act-1-action")
    page.get_by_label("Action 2: Action").select_option(label="Set priority")
    page.locator("#act-1-value").select_option(label="High")
    assert page.get_by_label("Stop here").is_checked()
    page.screenshot(path=ARTIFACTS / "screens" / "routing-rule-builder-en-desktop.png",
                    full_page=True)  # fmt: skip
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/settings/routing/**")
    page.get_by_text("Saved the rule “VIP refunds”.").wait_for()
    with tenant_context(acme):
        rule = RoutingRule.objects.get()
        billing = Team.objects.get(name="Billing")
        assert rule.conditions == [{"field": "text", "op": "contains_any", "value": ["退款"]}]
        assert rule.actions == [{"action": "set_team", "value": billing.pk},
                                {"action": "set_priority", "value": "high"}]  # fmt: skip

    raw = (
        "From: =?utf-8?b?5p2O5aic?= <li.na@example.cn>\r\nTo: support@acme.localhost\r\n"
        "Subject: =?utf-8?b?6K+36YCA5qy+?= order A-1029\r\nMessage-ID: <refund-1029@example.cn>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "订单 A-1029 重复扣款，请退款。"
    ).encode()  # "请退款 order A-1029": "please refund"
    with smtp_sink() as (_sink, port), celery_worker(port):
        with tenant_context(acme):
            ticket = receive_email(raw, via="smtp").ticket
        assert ticket is not None

        def routed() -> bool:
            with tenant_context(acme):
                return Ticket.objects.filter(pk=ticket.pk, team=billing, assignee__isnull=False,
                                             priority="high").exists()  # fmt: skip

        wait_until(routed, what="the worker to route the ticket")
    with tenant_context(acme):
        assert RoutingRule.objects.get().hits == 1

    page.goto(tenant_url(live_server, acme, f"/agent/tickets/{ticket.number}/?timeline=1"))
    line = page.locator(".timeline-text", has_text="Rule “VIP refunds” matched")
    line.wait_for()
    text = line.inner_text()
    assert "keyword “退款” in subject or message" in text
    assert "→ team Billing (Tier 2), priority High" in text
    # Assigned by Billing's round-robin: in the same line, or from the team queue right after.
    page.locator(".timeline-text", has_text="assigned to Wang Fang by round-robin").first.wait_for()
    page.locator("#ticket-timeline").scroll_into_view_if_needed()
    (ARTIFACTS / "screens").mkdir(parents=True, exist_ok=True)
    page.locator("#ticket-timeline").screenshot(
        path=ARTIFACTS / "screens" / "routing-ticket-timeline-en-desktop.png"
    )
    page.screenshot(path=ARTIFACTS / "screens" / "routing-ticket-en-desktop.png", full_page=True)


@pytest.fixture
def configured(acme):
    """Rules, templates, a customer and a ticket, so the pages have something to show."""
    with tenant_context(acme):
        billing = Team.objects.get(name="Billing")
        front = Team.objects.get(name="Front desk")
        wang = TeamMember.objects.get(team=billing).user
        AgentProfile.objects.create(user=wang, capacity=8, availability="online")
        agent = Membership.objects.get(user__email="admin@acme.test").user
        AgentProfile.objects.create(user=agent, availability="away")
        RoutingRule.objects.create(
            name="VIP 退款 → Billing", position=1, stop=False,
            conditions=[{"field": "requester_tier", "op": "in", "value": ["vip"]},
                        {"field": "text", "op": "contains_any", "value": ["退款", "refund"]}],
            actions=[{"action": "set_team", "value": billing.pk},
                     {"action": "set_priority", "value": "high"},
                     {"action": "add_tags", "value": ["vip", "退款"]}],
        )  # fmt: skip
        RoutingRule.objects.create(
            name="Chinese mail to the front desk", position=2, stop=False, match="any",
            conditions=[{"field": "language", "op": "in", "value": ["zh-hans"]},
                        {"field": "subject", "op": "matches", "value": r"订单\s*[A-Z]-\d+"}],
            actions=[{"action": "set_team", "value": front.pk}],
            hits=42, last_matched_at=timezone.now() - timedelta(hours=3),
        )  # fmt: skip
        RoutingRule.objects.create(
            name="Everything else", position=3, is_active=False,
            actions=[{"action": "assign_auto", "value": None}],
        )  # fmt: skip
        AutoReply.objects.create(
            name="Email (中文)", channel="email", language="zh-hans",
            subject="[#{{ ticket.number }}] 我们已收到您的请求",
            body="{{ requester.name }}，您好！\n\n{{ sla.first_response }}\n\n{{ kb.articles }}",
        )  # fmt: skip
        AutoReply.objects.create(
            name="Everything", subject="[#{{ ticket.number }}] We have your request",
            body="Hello {{ requester.name }},\n\nthank you. {{ sla.first_response }}\n\n"
                 "Follow it at {{ ticket.url }}",
        )  # fmt: skip
        AutoReply.objects.create(name="Everything (old)", subject="Thanks", body="Thanks")
    vip = ContactFactory(tenant=acme, email="li.na@example.cn", name="李娜", tier=CustomerTier.VIP)
    make_ticket(acme, requester=vip, subject="申请退款 order A-1029", channel="email",
                language="zh-hans")  # fmt: skip
    return acme


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_routing_pages_with_content(browser, live_server, configured, lang, size):
    acme = configured
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies([{"name": "django_language", "value": lang,
                          "url": f"http://acme.localhost:{port}/"}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, acme)
    with tenant_context(acme):
        rule = RoutingRule.objects.get(position=1)
        reply = AutoReply.objects.get(language="zh-hans")
        billing = Team.objects.get(name="Billing")
    for name, path in [
        ("/settings/routing/?filled", "/settings/routing/"),
        ("/settings/routing/edit", f"/settings/routing/{rule.pk}/"),
        ("/settings/routing/delete", f"/settings/routing/{rule.pk}/delete/"),
        ("/settings/auto-replies/?filled", "/settings/auto-replies/"),
        ("/settings/auto-replies/edit", f"/settings/auto-replies/{reply.pk}/"),
        ("/settings/agents/?filled", "/settings/agents/"),
        ("/settings/teams/billing", f"/settings/teams/{billing.pk}/"),
    ]:
        page.goto(tenant_url(live_server, acme, path))
        check(page, name, lang, size)

    # Test these rules: a VIP's refund request in Chinese.
    page.goto(tenant_url(live_server, acme, "/settings/routing/test/"))
    page.locator("#id_test-subject").fill("申请退款 order A-1029")
    page.locator("#id_test-body").fill("订单重复扣款，请退款。")
    page.locator("#id_test-requester_email").fill("li.na@example.cn")
    page.locator("#id_test-language").select_option("zh-hans")
    page.locator("form button[type=submit].btn-primary").click()
    page.locator(".test-result").wait_for()
    assert page.locator(".test-rule.is-matched").count() == 2
    check(page, "/settings/routing/test/?result", lang, size)

    # Test this rule, from the editor (htmx swaps the result in).
    page.goto(tenant_url(live_server, acme, f"/settings/routing/{rule.pk}/"))
    page.locator("#rule-test summary").click()
    page.locator("#id_test-subject").fill("refund please")
    page.locator("#id_test-requester_email").fill("li.na@example.cn")
    page.locator("button[name=test-run]").click()
    page.locator("#test-result .test-verdict").wait_for()
    check(page, "/settings/routing/edit?tested", lang, size)

    # The live preview follows the typing.
    page.goto(tenant_url(live_server, acme, f"/settings/auto-replies/{reply.pk}/"))
    page.locator("#reply-subject").fill("[#{{ ticket.number }}] 收到：{{ ticket.subject }}")
    page.locator("#reply-preview", has_text="收到：申请退款 order A-1029").wait_for()
    page.locator("#reply-body").fill("{{ requester.nam }}")
    page.locator("#reply-preview .alert-error").wait_for()
    check(page, "/settings/auto-replies/edit?typed", lang, size)

    # The availability menu in the top bar.
    page.goto(tenant_url(live_server, acme, "/agent/"))
    page.locator(".availability-button").click()
    page.locator("#availability-menu .availability-item").first.wait_for()
    check(page, "/agent/?availability-menu", lang, size)
    page.locator("#availability-menu button[value=online]").click()
    page.locator(".availability-button .availability-dot.is-online").wait_for()
    context.close()

"""Every page we have, in English and Chinese, at desktop and phone width: no horizontal
overflow, every form control labelled, and a screenshot in artifacts/screens/ to look at."""

from __future__ import annotations

import pytest

from channels_in.email import receive_email
from channels_in.messaging.models import MessagingThread
from channels_in.models import Mailbox, MessagingChannel
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from sla.demo import seed_sla
from sla.demo_escalation import seed_escalation
from sla.models import AlertRule, BusinessCalendar, EscalationPolicy, SLAPolicy
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import (
    PASSWORD,
    ContactFactory,
    MembershipFactory,
    TenantFactory,
    make_ticket,
)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

STAFF_PAGES = [
    "/agent/",
    "/agent/inbox/",
    "/agent/tickets/1/",
    "/agent/tickets/new/",
    "/agent/contacts/",
    "/agent/canned/",
    "/settings/teams/",
    "/settings/canned-responses/",
    "/settings/custom-fields/",
    "/settings/",
    "/settings/users/",
    "/settings/general/",
    "/settings/security/",
    "/settings/channels/",
    "/settings/channels/mailboxes/{mailbox}/",
    "/settings/channels/unprocessed/",
    "/settings/channels/messaging/new/",
    "/settings/channels/messaging/new/?provider=wecom",
    "/settings/channels/messaging/{channel}/",
    "/settings/channels/messaging/{channel}/delete/",
    "/accounts/tokens/",
    "/accounts/profile/",
    "/settings/classification/",
    "/settings/triggers/",
    "/settings/triggers/new/",
    "/settings/macros/",
    "/settings/macros/new/",
    "/notifications/",
    "/settings/routing/",
    "/settings/routing/new/",
    "/settings/routing/test/",
    "/settings/auto-replies/",
    "/settings/auto-replies/new/",
    "/settings/agents/",
    "/agent/inbox/?view=at_risk",
    "/settings/sla/",
    "/settings/sla/new/",
    "/settings/sla/{policy}/",
    "/settings/sla/calendars/",
    "/settings/sla/calendars/{calendar}/",
    "/settings/sla/escalations/",
    "/settings/sla/escalations/{escalation}/",
    "/settings/sla/alerts/",
    "/settings/sla/alerts/{alert}/",
    "/agent/tickets/1/escalate/",
    "/agent/kb/",
    "/agent/kb/new/",
    "/agent/kb/insights/",
]
ANONYMOUS_PAGES = [
    "/", "/accounts/login/", "/accounts/password-reset/", "/accounts/signup/",
    "/portal/requests/new/", "/kb/", "/kb/search/?q=refund",
]  # fmt: skip
CUSTOMER_PAGES = ["/portal/", "/portal/requests/", "/portal/requests/1/", "/portal/requests/new/"]
SIZES = {"desktop": (1280, 800), "phone": (375, 740)}

UNLABELLED_CONTROLS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support")
    MembershipFactory(
        tenant=tenant, user__email="admin@acme.test", user__full_name="Ada Admin",
        role=Membership.Role.ADMIN,
    )  # fmt: skip
    MembershipFactory(tenant=tenant, user__email="agent1@acme.test", user__full_name="Alex Agent")
    alice = ContactFactory(tenant=tenant, email="alice@customer.test", name="Alice Walker")
    make_ticket(
        tenant,
        requester=alice,
        subject="订单还没有发货 — order not shipped yet",
        body="我的订单 #A-1029 已经一周了还没有发货，请帮忙查询。",
        tags=["shipping", "物流"],
    )
    with tenant_context(tenant):
        Mailbox.objects.create(
            name="Support", address="help@acme.example", kind="imap", imap_host="imap.acme.example",
            imap_username="help", imap_password="x", last_error="LOGIN failed: wrong password",
        )  # fmt: skip
        receive_email(b"Subject: \xff broken\r\n\r\nno sender", via="command")
        bot = MessagingChannel.objects.create(
            provider="telegram", name="Acme support bot", bot_token="123456:ABC-DEF",
            token="tg-hook-secret",
        )  # fmt: skip
        MessagingThread.objects.create(channel=bot, ticket=Ticket.objects.get(), identity="1111")
        seed_sla(tenant)  # calendar (China's holidays), three policies, the ticket's clocks
        seed_escalation(tenant)  # breach → Tier 2, a critical alert with a chain
        MessagingChannel.objects.create(
            provider="wechat", name="Acme 微信公众号", app_id="wx5d94a7bcdbe6b9aa",
            app_secret="wx-app-secret", token="wechat-token", is_active=False,
        )  # fmt: skip
    return tenant


def sign_in(page, live_server, tenant, email):
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()


def check(page, name: str, lang: str, size: str) -> None:
    width = SIZES[size][0]
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width + 1, f"{name} [{lang}, {size}] is {overflow}px wide"
    assert page.evaluate(UNLABELLED_CONTROLS) == [], f"unlabelled controls on {name}"
    assert "Traceback" not in page.content()
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    slug = name.strip("/").replace("/", "-") or "home"
    page.screenshot(path=str(shots / f"{slug}-{lang}-{size}.png"), full_page=True)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_pages(browser, live_server, acme, lang, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    for host in (f"acme.localhost:{port}", f"localhost:{port}"):
        context.add_cookies([{"name": "django_language", "value": lang, "url": f"http://{host}/"}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"http://localhost:{port}/")
    check(page, "landing", lang, size)
    page.goto(f"http://localhost:{port}/signup/")
    check(page, "tenant-signup", lang, size)
    for path in ANONYMOUS_PAGES:
        page.goto(tenant_url(live_server, acme, path))
        check(page, f"anon{path}", lang, size)
    sign_in(page, live_server, acme, "admin@acme.test")
    with tenant_context(acme):
        ids = {
            "mailbox": Mailbox.objects.get().pk,
            "channel": MessagingChannel.objects.get(provider="telegram").pk,
            "policy": SLAPolicy.objects.order_by("position").first().pk,
            "calendar": BusinessCalendar.objects.get(is_default=True).pk,
            "escalation": EscalationPolicy.objects.get().pk,
            "alert": AlertRule.objects.get().pk,
        }
    for path in STAFF_PAGES:
        page.goto(tenant_url(live_server, acme, path.format(**ids)))
        check(page, path, lang, size)
    context.clear_cookies()
    for host in (f"acme.localhost:{port}",):
        context.add_cookies([{"name": "django_language", "value": lang, "url": f"http://{host}/"}])
    sign_in(page, live_server, acme, "alice@customer.test")
    for path in CUSTOMER_PAGES:
        page.goto(tenant_url(live_server, acme, path))
        check(page, path, lang, size)
    context.close()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_automation_pages_with_content(browser, live_server, acme, lang, size):
    """Triggers, macros and notifications with rows in them, the composer's macro menu and a
    macro in the composer, the bell's dropdown (tickets.automation)."""
    from tickets.automation import macros, notifications, triggers
    from tickets.models import Team

    with tenant_context(acme):
        admin = Membership.objects.get(role=Membership.Role.ADMIN).user
        team = Team.objects.create(name="Billing 账务", tier=2)
        trigger = triggers.trigger_save(
            actor=admin, name="VIP 退款 → Billing", event="customer_replied",
            conditions=[
                {"field": "requester_tier", "op": "in", "value": ["vip"]},
                {"field": "text", "op": "contains_any", "value": ["退款", "refund"]},
                {"field": "hours_idle", "op": "gte", "value": 2},
            ],
            actions=[
                {"action": "set_team", "value": team.pk},
                {"action": "add_tags", "value": ["vip", "退款"]},
                {"action": "notify", "value": {"to": "team", "via": "in_app",
                                               "subject": "VIP #{{ ticket.number }}"}},
                {"action": "webhook", "value": {"url": "https://hooks.example.com/helpdesk"}},
                {"action": "escalate", "value": {"tier": "next", "raise_priority": True}},
            ],
        )  # fmt: skip
        triggers.trigger_save(actor=admin, name="Idle 48 h", event="idle", idle_hours=48,
                              actions=[{"action": "add_tags", "value": ["stale"]}])  # fmt: skip
        macro = macros.macro_create(
            actor=admin, name="退款已处理 / Refund done", shared=True,
            actions=[{"action": "set_status", "value": "pending"},
                     {"action": "add_tags", "value": ["refund"]}],
            reply_text="{{ requester.name }}，您好：订单已退款。"
                       "Your refund for #{{ ticket.number }} is on its way.",
        )  # fmt: skip
        macros.macro_create(actor=admin, name="My follow-up", reply_text="Any news?")
        ticket = Ticket.objects.get()
        notifications.notify(recipients=[admin], title=f"SLA breached on #{ticket.number}",
                             body="First reply overdue by 25 minutes.", level="critical",
                             ticket=ticket, url=f"/agent/tickets/{ticket.number}/")  # fmt: skip
        notifications.notify(recipients=[admin], title="VIP 客户回复了 #1", level="warning")
        notifications.notify(recipients=[admin], title="Trigger “Idle 48 h” ran on 3 tickets")
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies([{"name": "django_language", "value": lang,
                          "url": f"http://acme.localhost:{port}/"}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, acme, "admin@acme.test")
    for name, path in [
        ("/settings/triggers/?filled", "/settings/triggers/"),
        ("/settings/triggers/edit", f"/settings/triggers/{trigger.pk}/"),
        ("/settings/macros/?filled", "/settings/macros/"),
        ("/settings/macros/edit", f"/settings/macros/{macro.pk}/"),
        ("/notifications/?filled", "/notifications/"),
        ("/agent/tickets/1/macros/", f"/agent/tickets/{ticket.number}/macros/"),
        ("/agent/tickets/1/macros/preview", f"/agent/tickets/{ticket.number}/macros/{macro.pk}/"),
    ]:
        page.goto(tenant_url(live_server, acme, path))
        check(page, name, lang, size)
    # The composer's menu, then the macro in the composer (htmx).
    page.goto(tenant_url(live_server, acme, f"/agent/tickets/{ticket.number}/"))
    page.locator(".macro-picker > summary").click()
    page.locator(".macro-option").first.wait_for()
    check(page, "/agent/tickets/1/?macro-menu", lang, size)
    page.locator(".macro-option a.btn").first.click()
    page.locator("[data-macro-selected]").wait_for()
    assert "订单已退款" in page.locator("#composer-body").input_value()
    check(page, "/agent/tickets/1/?macro-chosen", lang, size)
    # The bell's dropdown.
    page.locator(".notif-button").click()
    page.locator(".notif-items").wait_for()
    check(page, "/agent/tickets/1/?bell", lang, size)

    # The builder with htmx: add a condition, pick its field, add an action, save. (A row is
    # used once htmx has wired up what it just swapped in, as a person's pace allows.)
    def ready(selector: str) -> None:
        page.wait_for_function(
            "s => { const el = document.querySelector(s); const d = el && el['htmx-internal-data'];"
            " return d && d.listenerInfos && d.listenerInfos.length > 0; }",
            arg=selector,
        )

    page.goto(tenant_url(live_server, acme, "/settings/triggers/new/"))
    page.locator("#id_name").fill("Urgent to the team")
    page.locator("button[name=builder-add][value=cond]").click()
    ready("#cond-0-field")
    page.locator("#cond-0-field").select_option("priority")
    page.locator("#cond-0-value option[value=urgent]").wait_for(state="attached")
    page.locator("#cond-0-value").select_option(["urgent", "high"])
    ready("#act-0-action")
    page.locator("#act-0-action").select_option("notify")
    page.locator("#act-0-to").wait_for()
    page.locator("#act-0-to").select_option("team")
    page.locator("button[name=builder-add][value=act]").click()
    ready("#act-1-action")
    page.locator("#act-1-action").select_option("add_tags")
    page.locator("#act-1-value").fill("hot, 紧急")
    check(page, "/settings/triggers/new?built", lang, size)
    page.locator(".form-actions button[type=submit]").click()
    page.wait_for_url("**/settings/triggers/")
    with tenant_context(acme):
        built = triggers.Trigger.objects.get(name="Urgent to the team")
        assert built.conditions == [{"field": "priority", "op": "in", "value": ["high", "urgent"]}]
        assert [a["action"] for a in built.actions] == ["notify", "add_tags"]
        assert built.actions[1]["value"] == ["hot", "紧急"]
    context.close()

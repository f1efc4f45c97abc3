"""The inbox in a real browser: filter by priority, walk the list with j / k, select with x, open
with Enter, search with /, the help dialog, bulk assign, the new-activity badge; screenshots of
the page in English and Chinese, desktop and phone, land in artifacts/screens/."""

from __future__ import annotations

import re

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import PASSWORD, ContactFactory, MembershipFactory, TenantFactory, make_ticket
from tickets import services
from tickets.models import Team, TeamMember, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

UNLABELLED_CONTROLS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support", default_language="en")
    agent = MembershipFactory(
        tenant=tenant, user__email="agent1@acme.test", user__full_name="Alex Agent",
        role=Membership.Role.AGENT,
    ).user  # fmt: skip
    colleague = MembershipFactory(
        tenant=tenant, user__email="agent2@acme.test", user__full_name="Bea Lin"
    ).user
    with tenant_context(tenant):
        billing = Team.objects.create(name="Billing", tier=1)
        tier2 = Team.objects.create(name="Tier 2 Tech", tier=2)
        TeamMember.objects.create(team=billing, user=agent)
    alice = ContactFactory(tenant=tenant, name="Alice Walker", email="alice@customer.test")
    wang = ContactFactory(tenant=tenant, name="王芳", email="wang.fang@example.cn", user=None)
    bob = ContactFactory(tenant=tenant, name="Bob Stone", email="bob@customer.test")
    rows = [
        ("Card charged twice for March invoice", alice, "email", "urgent", billing, None,
         ["billing", "refund"]),
        ("退款申请：订单还没有发货", wang, "wechat", "high", billing, colleague, ["refund"]),
        ("Cannot sign in after password reset", bob, "chat", "normal", None, agent, []),
        ("API returns 502 on bulk export", alice, "api", "urgent", tier2, colleague, ["bug"]),
        ("Where can I download my receipts?", bob, "portal", "low", None, None, []),
        ("Phone call: wants to change plan", alice, "phone", "normal", billing, agent, ["sales"]),
        ("Mobile app crashes on launch (iOS 18)", bob, "web", "high", tier2, None, ["bug", "ios"]),
        ("发票抬头需要修改", wang, "dingtalk", "normal", billing, None, []),
    ]  # fmt: skip
    tickets = []
    for subject, who, channel, priority, team, assignee, tags in rows:
        tickets.append(make_ticket(
            tenant, subject=subject, requester=who, channel=channel, priority=priority,
            team=team, assignee=assignee, tags=tags,
            body=f"{subject}. Could you please take a look as soon as possible? Thanks.",
        ))  # fmt: skip
    with tenant_context(tenant):
        services.ticket_update(ticket=tickets[2], actor=agent, status=Ticket.Status.PENDING)
        services.ticket_mark_read(ticket=tickets[5], user=agent)
        services.ticket_mark_read(ticket=tickets[4], user=agent)
    return tenant


def sign_in(page, live_server, tenant, email="agent1@acme.test"):
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/agent/")


def focused_href(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.getAttribute('href')")


def test_agent_filters_walks_the_list_and_opens_a_ticket(page, live_server, acme):
    sign_in(page, live_server, acme)
    page.goto(tenant_url(live_server, acme, "/agent/inbox/"))
    assert page.get_by_role("heading", name="All open").is_visible()
    rows = page.locator("[data-shortcut-row]")
    assert rows.count() == 8

    # Filter by priority: htmx swaps the list and pushes the URL, no reload.
    page.evaluate("window.__same_page = true")
    page.get_by_label("Priority", exact=True).select_option("urgent")
    page.wait_for_url(re.compile(r"priority=urgent"))
    page.wait_for_function("document.querySelectorAll('[data-shortcut-row]').length === 2")
    assert page.evaluate("window.__same_page") is True
    assert "Urgent" in rows.first.inner_text() and "Urgent" in rows.last.inner_text()
    assert page.url.endswith("/agent/inbox/?priority=urgent")  # tidy: no empty fields

    # j / k move through the rows; x selects; Enter opens.
    page.locator("h1").click()  # focus on the page, not in a field
    page.keyboard.press("j")
    first = focused_href(page)
    page.keyboard.press("j")
    second = focused_href(page)
    assert first != second and re.fullmatch(r"/agent/tickets/\d+/", second)
    page.keyboard.press("k")
    assert focused_href(page) == first
    page.keyboard.press("x")
    assert rows.first.locator("input[type=checkbox]").is_checked()
    assert "is-selected" in rows.first.get_attribute("class")
    assert page.locator("[data-bulk-count]").inner_text() == "1 selected"
    page.keyboard.press("x")
    assert not rows.first.locator("input[type=checkbox]").is_checked()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{first}")

    # On the ticket page, r and n activate whatever carries data-shortcut="r" / "n".
    for key in ("n", "r"):
        target = page.locator(f'[data-shortcut="{key}"]')
        if not target.count():  # the ticket page is not there yet
            continue
        page.evaluate(
            """key => document.querySelector(`[data-shortcut="${key}"]`)
                 .addEventListener("click", () => { window.__pressed = key; })""",
            key,
        )
        page.locator("h1").first.click()
        page.keyboard.press(key)
        assert page.evaluate("window.__pressed") == key


def test_search_box_help_dialog_and_number_jump(page, live_server, acme):
    sign_in(page, live_server, acme)
    page.goto(tenant_url(live_server, acme, "/agent/inbox/"))
    page.keyboard.press("/")
    search = page.get_by_role("searchbox")
    assert page.evaluate("document.activeElement.name") == "q"
    search.fill("receipts")
    page.keyboard.press("j")  # typing: no shortcut fires
    assert search.input_value() == "receiptsj"
    search.fill("receipts")
    search.press("Enter")
    page.wait_for_url(re.compile(r"q=receipts"))
    page.wait_for_function("document.querySelectorAll('[data-shortcut-row]').length === 1")
    assert "download my receipts" in page.locator("[data-shortcut-row]").first.inner_text()

    page.locator("h1").click()  # focus on the page, not in a field
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert dialog.is_visible()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()

    page.keyboard.press("/")
    page.get_by_role("searchbox").fill("#3")
    page.get_by_role("searchbox").press("Enter")
    page.wait_for_url("**/agent/tickets/3/")


def test_bulk_assign_and_new_activity_badge(page, live_server, acme):
    sign_in(page, live_server, acme)
    page.goto(tenant_url(live_server, acme, "/agent/inbox/?view=unassigned"))
    rows = page.locator("[data-shortcut-row]")
    count = rows.count()
    assert count >= 3
    page.get_by_label("Select all on this page").check()
    assert page.locator("[data-bulk-count]").inner_text() == f"{count} selected"
    page.locator("#bulk-assignee").select_option("me")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text(f"Updated {count} tickets.").wait_for()
    page.wait_for_function("document.querySelectorAll('[data-shortcut-row]').length === 0")
    assert page.get_by_text("All clear").is_visible()
    tab = page.locator("#inbox-views a", has_text="My open")
    assert tab.locator(".badge").inner_text() == str(count + 2)  # counts refreshed in place

    make_ticket(acme, subject="Brand new while looking")
    page.evaluate("htmx.trigger('#new-count', 'inbox:poll')")
    link = page.get_by_role("link", name=re.compile("new activity"))
    link.wait_for()
    link.click()
    page.get_by_text("Brand new while looking").wait_for()


@pytest.mark.parametrize("size", [(1280, 800), (375, 740)], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_inbox_looks_right(browser, live_server, acme, lang, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies(
        [{"name": "django_language", "value": lang, "url": f"http://acme.localhost:{port}/"}]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, acme)
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    name = f"agent-inbox-{lang}-{'phone' if width < 500 else 'desktop'}"
    page.goto(tenant_url(live_server, acme, "/agent/inbox/?status=bogus"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    page.locator("[data-dismiss]").click()
    assert page.locator(".alert-warning").count() == 0
    page.locator("h1").click()
    page.keyboard.press("?")
    page.screenshot(path=str(shots / f"{name}-help.png"))
    context.close()

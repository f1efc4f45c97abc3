"""SLA countdowns in Chromium: an urgent ticket shows a green countdown in the inbox and on the
ticket page; an hour later by the SLA clock (helpdesk.lib.clock.travel) and a reload it is amber
and the At risk view lists it; the script ticks the text and switches the colour without a
reload. Screenshots of the inbox, the At risk view and the ticket page with the SLA panel, in
English and Chinese at desktop and phone width, land in artifacts/screens/."""

from __future__ import annotations

import re

import pytest

from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import PASSWORD, ContactFactory, MembershipFactory, TenantFactory, make_ticket
from tests.sla.factories import SLAPolicyFactory
from tests.sla.helpers import run_pending
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


@pytest.fixture(autouse=True)
def _clean_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support", default_language="en",
                           timezone="Europe/London")  # fmt: skip
    agent = MembershipFactory(
        tenant=tenant, user__email="agent1@acme.test", user__full_name="Alex Agent",
        role=Membership.Role.AGENT,
    ).user  # fmt: skip
    SLAPolicyFactory(
        tenant=tenant, name="Urgent", business_hours=False,
        conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=240,
    )  # fmt: skip
    SLAPolicyFactory(tenant=tenant, name="Standard", business_hours=False, position=100_000,
                     first_response_minutes=480, resolution_minutes=2880)  # fmt: skip
    alice = ContactFactory(tenant=tenant, name="Alice Walker", email="alice@customer.test")
    wang = ContactFactory(tenant=tenant, name="王芳", email="wang.fang@example.cn", user=None)
    rows = [
        ("Checkout is down for every customer", alice, "urgent"),
        ("退款申请：订单还没有发货", wang, "high"),
        ("Where can I download my receipts?", alice, "low"),
        ("Waiting for the serial number", alice, "normal"),
    ]
    tickets = [
        make_ticket(tenant, subject=subject, requester=who, priority=priority,
                    body=f"{subject}. Please help.")
        for subject, who, priority in rows
    ]  # fmt: skip
    run_pending(tenant)
    with tenant_context(tenant):
        services.ticket_update(ticket=tickets[3], actor=agent, status=Ticket.Status.PENDING)
    return tenant


def sign_in(page, live_server, tenant, email="agent1@acme.test"):
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/agent/")


def chip_in_row(page, subject: str):
    return page.locator("tr", has_text=subject).locator("[data-sla-chip]")


def test_countdown_goes_amber_and_the_at_risk_view_lists_it(page, live_server, acme):
    sign_in(page, live_server, acme)
    page.goto(tenant_url(live_server, acme, "/agent/inbox/"))
    chip = chip_in_row(page, "Checkout is down")
    assert "chip-sla-ok" in chip.get_attribute("class")
    assert re.fullmatch(r"(59|60)m", chip.locator("time").inner_text())
    assert chip.get_attribute("aria-live") is None
    page.locator("tr", has_text="Checkout is down").locator("a").first.click()
    page.wait_for_url("**/agent/tickets/*/")
    header_chip = page.locator("#ticket-header [data-sla-chip]")
    assert "chip-sla-ok" in header_chip.get_attribute("class")
    panel = page.locator("#ticket-sla")
    assert panel.get_by_text("First response").first.is_visible()
    assert panel.get_by_text("Resolution").first.is_visible()

    clock.travel(minutes=50)
    page.reload()
    header_chip = page.locator("#ticket-header [data-sla-chip]")
    assert "chip-sla-warning" in header_chip.get_attribute("class")
    assert re.fullmatch(r"(9|10)m", header_chip.locator("time").inner_text())
    page.goto(tenant_url(live_server, acme, "/agent/inbox/"))
    assert "chip-sla-warning" in chip_in_row(page, "Checkout is down").get_attribute("class")
    page.get_by_role("link", name=re.compile("At risk")).click()
    page.wait_for_url("**view=at_risk**")
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "Checkout is down" in rows.first.inner_text()


def test_script_ticks_and_turns_red_without_a_reload(page, live_server, acme):
    sign_in(page, live_server, acme)
    clock.travel(minutes=59, seconds=50)
    page.goto(tenant_url(live_server, acme, "/agent/inbox/?view=at_risk"))
    chip = chip_in_row(page, "Checkout is down")
    assert "chip-sla-warning" in chip.get_attribute("class")
    # The browser's clock jumps 20 s on: the next tick shows the chip overdue, in red.
    page.evaluate("""() => { const real = Date.now; const start = real();
                             Date.now = () => start + 20000 + (real() - start);
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_function(
        "() => document.querySelector('tr [data-sla-chip]').classList.contains('chip-sla-breached')"
    )
    assert chip.locator("time").inner_text() == "\u22121m"
    assert "past the SLA deadline" in chip.inner_text()


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_sla_pages_look_right(browser, live_server, acme, lang, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies(
        [{"name": "django_language", "value": lang, "url": f"http://acme.localhost:{port}/"}]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, acme)
    clock.travel(minutes=50)  # one amber countdown, the others green, one paused
    with tenant_context(acme):
        hot = Ticket.objects.get(subject__startswith="Checkout")
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    device = "phone" if width < 500 else "desktop"
    for name, path in [
        ("agent-inbox-sla", "/agent/inbox/"),
        ("agent-inbox-at-risk", "/agent/inbox/?view=at_risk"),
        ("agent-ticket-sla", f"/agent/tickets/{hot.number}/"),
    ]:
        page.goto(tenant_url(live_server, acme, path))
        if name == "agent-ticket-sla":
            panel = page.locator("[data-side-panel]:not(.kb-side)")  # not the KB panel
            if not panel.evaluate("el => el.open"):
                panel.locator("summary").first.click()
            page.locator("#ticket-sla details.sla-trail summary").first.click()
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, name
        page.screenshot(path=str(shots / f"{name}-{lang}-{device}.png"), full_page=True)
    context.close()

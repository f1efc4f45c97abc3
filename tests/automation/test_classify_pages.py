"""The classification panel and Settings › Classification in Chromium, in English and Chinese,
at desktop and phone width: a one-click correction through htmx, no horizontal overflow, every
control labelled, and screenshots in artifacts/screens/ (classify-*) to look at."""

from __future__ import annotations

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from tests.e2e import conftest as e2e
from tests.factories import PASSWORD, ContactFactory, MembershipFactory, TenantFactory, make_ticket
from tickets.automation import classify
from tickets.automation.models import TrainingLabel
from tickets.automation.rules import facts_for
from tickets.models import Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# The browser is our own, in a thread of its own (the IPv4 live server comes from
# tests/browser.py for every directory).
ARTIFACTS, tenant_url = e2e.ARTIFACTS, e2e.tenant_url


def in_browser(body):
    """`body(browser)` with a Chromium of its own, in another thread: its result, or its error
    re-raised here."""
    import threading

    from playwright.sync_api import sync_playwright

    failure: list[BaseException] = []
    result: list = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=e2e.CHROMIUM, args=e2e.ARGS)
                try:
                    result.append(body(browser))
                finally:
                    browser.close()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


SIZES = {"desktop": (1280, 900), "phone": (375, 800)}
UNLABELLED = """
() => [...document.querySelectorAll('input, select, textarea, button, summary')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)
    ? !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    : !el.textContent.trim() && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML.slice(0, 120))
"""
LABELS = {"type": ("complaint", "inquiry", "suggestion"), "topic": ("printers", "scanners")}


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support")
    MembershipFactory(tenant=tenant, user__email="admin@acme.test", user__full_name="Ada Admin",
                      role=Membership.Role.ADMIN)  # fmt: skip
    alice = ContactFactory(tenant=tenant, email="alice@customer.test", name="Alice Walker")
    body = "快递员把包裹扔在门口，外箱压扁了，这已经是第二次了。太差了！"
    ticket = make_ticket(tenant, requester=alice, subject="投诉：快递员态度恶劣", body=body)
    # Enough labels for a model of each kind: the type model does not beat the built-in rules
    # on these (shown "not in use"), the topic model learns topics the rules do not know.
    texts = {"complaint": "This is unacceptable, order {n} arrived broken",
             "inquiry": "How do I change the address of order {n}?",
             "suggestion": "Suggestion: gift wrapping for order {n}",
             "printers": "Printer {n} jams paper",
             "scanners": "Scanner {n} saves black pages"}  # fmt: skip
    for kind, labels in LABELS.items():
        for label in labels:
            for n in range(16):
                labelled = make_ticket(tenant, requester=alice, subject=texts[label].format(n=n))
                with tenant_context(tenant):
                    TrainingLabel.objects.create(ticket=labelled, kind=kind, label=label)
    with tenant_context(tenant):
        for kind in LABELS:
            classify.train(kind)
        ticket = Ticket.objects.select_related("requester").get(pk=ticket.pk)
        classify.apply(ticket, facts_for(ticket, body=body))
    return tenant, ticket


def _check(page, name: str, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width + 1, f"{name} is {overflow}px wide"
    assert page.evaluate(UNLABELLED) == [], f"unlabelled controls on {name}"
    assert "Traceback" not in page.content()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_panel_and_settings_render_and_correct_in_one_click(live_server, acme, lang, size):
    tenant, ticket = acme
    seen = in_browser(lambda browser: _panel_and_settings(browser, live_server, acme, lang, size))
    with tenant_context(tenant):
        ticket.refresh_from_db()
        assert ticket.topic == "printers"
        assert TrainingLabel.objects.get(ticket=ticket, kind="topic").label == "printers"
    assert seen["version"] == str(ticket.version)  # the properties form came back out of band


def _panel_and_settings(browser, live_server, acme, lang: str, size: str) -> dict:
    """In the browser's thread: no database access here (its connection would outlive the
    test); what the test checks in the database comes back in the result."""
    tenant, ticket = acme
    width, height = SIZES[size]
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies([{"name": "django_language", "value": lang,
                          "url": f"http://acme.localhost:{port}/"}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill("admin@acme.test")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()

    page.goto(tenant_url(live_server, tenant, f"/agent/tickets/{ticket.number}/"))
    # The properties panel (not the KB panel above it); phones start it folded.
    if page.locator("details.side-panel:not(.kb-side)[open]").count() == 0:
        page.locator("details.side-panel:not(.kb-side) > summary").click()
    panel = page.locator("#ticket-classification")
    panel.scroll_into_view_if_needed()
    _check(page, "ticket page", width)
    assert "75%" in panel.inner_text() and "投诉, 太差" in panel.inner_text()
    panel.screenshot(path=str(shots / f"classify-panel-{lang}-{size}.png"))
    # "Correct" the topic in one click: it swaps the panel (and the properties) in place.
    panel.locator("details").nth(1).locator("summary").click()
    panel.screenshot(path=str(shots / f"classify-panel-open-{lang}-{size}.png"))
    panel.locator("details").nth(1).locator("button[value=printers]").click()
    page.wait_for_selector("#ticket-classification .saved-note")
    page.locator("#ticket-classification").screenshot(
        path=str(shots / f"classify-panel-corrected-{lang}-{size}.png")
    )
    version = page.locator("#prop-version").input_value()

    page.goto(tenant_url(live_server, tenant, "/settings/classification/"))
    _check(page, "settings", width)
    page.screenshot(path=str(shots / f"classify-settings-top-{lang}-{size}.png"))
    for kind in ("type", "topic"):
        card = page.locator(f"#model-{kind}")
        card.scroll_into_view_if_needed()
        card.screenshot(path=str(shots / f"classify-model-{kind}-{lang}-{size}.png"))
    assert page.locator("#model-topic .chip-status-solved").count() == 1  # "in use"
    assert page.locator("#model-type .chip-status-solved").count() == 0  # "not in use"
    context.close()
    return {"version": version}

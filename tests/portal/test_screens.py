"""The portal in a browser, English and Chinese, desktop (1280) and phone (375): no sideways
overflow, every control labelled, no traceback; screenshots in artifacts/screens/portal/. And
the reply form through htmx."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import PASSWORD, ContactFactory, MembershipFactory, TenantFactory, make_ticket
from tickets import portal
from tickets.models import Organization
from tickets.services import ticket_add_note, ticket_reply, ticket_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": (1280, 800), "phone": (375, 812)}
UNLABELLED = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""
SHOTS = ARTIFACTS / "screens" / "portal"


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support")
    agent = MembershipFactory(
        tenant=tenant,
        user__email="agent1@acme.test",
        user__full_name="Alex Agent",
        role=Membership.Role.AGENT,
    ).user
    with tenant_context(tenant):
        org = Organization.objects.create(name="Globex Corporation", shared_requests=True)
    alice = ContactFactory(
        tenant=tenant, name="Alice Ng", email="alice@customer.test", organization=org
    )
    bob = ContactFactory(
        tenant=tenant, name="Bob Li", email="bob@customer.test", organization=org, user=None
    )
    refund = make_ticket(
        tenant,
        requester=alice,
        subject="I was charged twice for order A-1029",
        body="Hello,\n\nmy card shows two payments of €49.00 for the same order. "
        "Could you refund one of them?\n\nThanks, Alice",
        channel="portal",
    )
    with tenant_context(tenant):
        ticket_reply(
            ticket=refund,
            author=agent,
            body_text=(
                "Hi Alice,\n\nsorry about that! I can see the duplicate payment and have started "
                "the refund; it reaches your card in 3–5 working days.\n\nAlex"
            ),
        )
        ticket_add_note(ticket=refund, author=agent, body_text="INTERNAL: check the gateway")
        portal.customer_reply(
            ticket=refund,
            contact=alice,
            body_text="Thank you! Here is the bank statement in case you need it.",
            attachments=[
                SimpleUploadedFile("statement-november.pdf", b"%PDF-1.4 x" * 300, "application/pdf")
            ],
        )
        ticket_update(ticket=refund, actor=agent, status="pending")
    solved = make_ticket(
        tenant, requester=alice, subject="How do I change my delivery address?", channel="portal"
    )
    with tenant_context(tenant):
        ticket_reply(
            ticket=solved,
            author=agent,
            body_text="You can change it under Account › Addresses until the parcel ships.",
        )
        portal.customer_solve(ticket=solved, contact=alice)
    make_ticket(
        tenant,
        requester=bob,
        subject="Invoice for October is missing the VAT number",
        channel="email",
    )
    for subject in ("Login code never arrives", "Can I add a second user to our account?"):
        make_ticket(tenant, requester=alice, subject=subject, channel="portal")
    return tenant, refund, solved


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_portal_pages(browser, live_server, acme, lang, size):
    tenant, refund, solved = acme
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies(
        [{"name": "django_language", "value": lang, "url": f"http://acme.localhost:{port}/"}]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    SHOTS.mkdir(parents=True, exist_ok=True)

    def check(name: str) -> None:
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width + 1, f"{name} [{lang}, {size}] is {overflow}px wide"
        assert page.evaluate(UNLABELLED) == [], f"unlabelled controls on {name}"
        assert "Traceback" not in page.content()
        assert "INTERNAL" not in page.content()
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size}.png"), full_page=True)

    # A visitor with the acknowledgement's link (no account needed).
    with tenant_context(tenant):
        link = portal.follow_url(refund)
    page.goto(tenant_url(live_server, tenant, link))
    assert "A-1029" in page.content()
    check("portal-follow-link")

    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill("alice@customer.test")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    pages = [
        ("portal-requests", "/portal/"),
        ("portal-requests-all", "/portal/requests/?status=all"),
        ("portal-organization", "/portal/requests/?scope=organization&status=all"),
        ("portal-request", f"/portal/requests/{refund.number}/"),
        ("portal-request-solved", f"/portal/requests/{solved.number}/"),
        ("portal-follow-up", f"/portal/requests/{solved.number}/follow-up/"),
    ]
    for name, path in pages:
        page.goto(tenant_url(live_server, tenant, path))
        check(name)
    # Filtering through htmx swaps the list (and the address) without a reload.
    page.goto(tenant_url(live_server, tenant, "/portal/"))
    assert page.locator(".request-row", has_text="delivery address").count() == 0
    page.locator("#id_status").select_option("solved")
    page.locator(".request-row", has_text="delivery address").wait_for()
    assert "status=solved" in page.url
    # Replying through htmx swaps the conversation in place.
    page.goto(tenant_url(live_server, tenant, f"/portal/requests/{refund.number}/"))
    page.locator("#reply-body").fill(f"Any news? ({lang} {size})")
    page.locator("#request-thread button[type=submit]").click()
    page.locator(".thread-msg", has_text=f"Any news? ({lang} {size})").wait_for()
    assert page.locator("#reply-body").input_value() == ""
    context.close()

"""The agent's main path in Chromium, end to end: open the inbox, filter it, open a ticket, insert
a canned response, send the reply and set the ticket solved; a real Celery worker emails the reply
to an SMTP sink with the threading headers. Plus the ticket page's layout checks (no sideways
overflow, every control labelled) in English and Chinese at desktop and phone width."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.tenancy.context import tenant_context
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import PASSWORD, ContactFactory, MembershipFactory, TenantFactory, make_ticket
from tests.worker import celery_worker, smtp_sink
from tickets import services
from tickets.models import CannedResponse, Message, Ticket

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1280, 800), "phone": (375, 740)}
UNLABELLED_CONTROLS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""


@pytest.fixture
def acme(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    tenant = TenantFactory(slug="acme", name="Acme Support")
    agent = MembershipFactory(
        tenant=tenant, user__email="agent1@acme.test", user__full_name="Alex Agent"
    ).user
    alice = ContactFactory(tenant=tenant, email="alice@customer.test", name="Alice Walker")
    ticket = make_ticket(
        tenant, requester=alice, subject="Printer on fire", body="It smokes.",
        channel=Ticket.Channel.EMAIL, external_id="<abc@customer.test>",
    )  # fmt: skip
    with tenant_context(tenant):
        services.ticket_add_inbound(
            ticket=ticket, contact=alice, body_text="Photo attached.",
            attachments=[SimpleUploadedFile("photo.png", b"\\x89PNG\\r\\n\\x1a\\n", "image/png")],
        )  # fmt: skip
        services.ticket_add_note(ticket=ticket, author=agent, body_text="Known fault.")
        CannedResponse.objects.create(
            title="Engineer on the way",
            body="Hi {{ contact.first_name }}, an engineer is on the way "
            "(ticket #{{ ticket.number }}).",
        )
    return tenant, ticket


def sign_in(page, live_server, tenant, email):
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()


def test_reply_with_a_canned_response_reaches_the_customer(page, live_server, acme):
    tenant, ticket = acme
    with smtp_sink() as (sink, port), celery_worker(port):
        sign_in(page, live_server, tenant, "agent1@acme.test")
        page.goto(tenant_url(live_server, tenant, "/agent/inbox/?status=new"))
        page.locator(f"a[href='/agent/tickets/{ticket.number}/']").first.click()
        page.wait_for_selector("#composer-form")
        page.locator(".canned-picker > summary").click()
        page.locator("#canned-q").fill("engineer")
        page.locator(".canned-option", has_text="Engineer on the way").click()
        page.wait_for_function(
            "document.querySelector('#composer-body').value.includes('engineer is on the way')"
        )
        page.select_option("#composer-set_status", "solved")
        page.locator(".composer-send button").click()
        page.wait_for_selector("#ticket-header .chip-status-solved")
        [mail] = sink.wait_for(1)
    assert "Hi Alice, an engineer is on the way (ticket #1)." in mail.as_string()
    assert mail["In-Reply-To"] == "<abc@customer.test>"
    assert "<abc@customer.test>" in mail["References"]
    assert "[#1]" in mail["Subject"]
    with tenant_context(tenant):
        reply = Message.objects.get(ticket=ticket, direction="out", kind="reply")
        assert mail["Message-ID"] == reply.external_id
        assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.SOLVED


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize("size", list(SIZES))
def test_ticket_page_fits_and_is_labelled(browser, live_server, acme, lang, size):
    tenant, ticket = acme
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies([{"name": "django_language", "value": lang,
                          "url": f"http://acme.localhost:{port}/"}])  # fmt: skip
    page = context.new_page()
    sign_in(page, live_server, tenant, "agent1@acme.test")
    page.goto(tenant_url(live_server, tenant, f"/agent/tickets/{ticket.number}/"))
    if size == "phone":
        page.locator(".side-panel:not(.kb-side) > .side-summary").click()  # collapsed on phones
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width + 1, f"ticket page [{lang}, {size}] is {overflow}px wide"
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    (ARTIFACTS / "screens").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screens" / f"ticket-{lang}-{size}.png", full_page=True)
    context.close()

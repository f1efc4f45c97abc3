"""A visitor chats through the embedded widget on another site while agent1 answers from the
inbox; the visitor sees the answer within 2 seconds. The shop page is served from its own
origin (a plain HTTP server on another port), so CORS is exercised for real."""

from __future__ import annotations

import threading
import time
from datetime import time as clock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from channels_in.models import ChatSettings
from helpdesk.tenancy.context import tenant_context
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import PASSWORD, MembershipFactory, TenantFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(live_server):
    """http://127.0.0.1:<port>/ — a customer's web shop embedding the widget."""
    port = live_server.url.rsplit(":", 1)[1]
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title></head>"
        "<body><h1>Tea shop</h1><p>Green tea, oolong, pu-erh.</p>"
        f"<script src='http://acme.localhost:{port}/static/widget.js' data-tenant='acme'></script>"
        "</body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def acme(transactional_db, shop):
    tenant = TenantFactory(slug="acme", name="Acme Support")
    MembershipFactory(tenant=tenant, user__email="agent1@acme.test", user__full_name="Alex Agent")
    with tenant_context(tenant):
        ChatSettings.objects.create(
            allowed_origins=shop, days="0,1,2,3,4,5,6", opens_at=clock(0, 0),
            closes_at=clock(23, 59, 59), greeting="Hi! Ask us anything about tea.",
        )  # fmt: skip
    return tenant


def test_visitor_chats_and_sees_the_agents_answer_within_two_seconds(
    browser, live_server, acme, shop
):
    visitor = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    visitor.set_default_timeout(15_000)
    visitor.goto(shop + "/")
    visitor.get_by_role("button", name="Chat with us").click()
    visitor.get_by_text("Hi! Ask us anything about tea.").wait_for()
    visitor.get_by_label("Your name (optional)").fill("Wei")
    visitor.get_by_label("Message").fill("Is the oolong in stock?")
    visitor.keyboard.press("Enter")
    visitor.locator(".msg.visitor", has_text="Is the oolong in stock?").wait_for()
    (ARTIFACTS / "screens").mkdir(parents=True, exist_ok=True)
    visitor.screenshot(path=ARTIFACTS / "screens" / "chat-widget-en-phone.png")

    with tenant_context(acme):
        ticket = Ticket.objects.get(channel=Ticket.Channel.CHAT)
    agent = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    agent.set_default_timeout(15_000)
    agent.goto(tenant_url(live_server, acme, "/accounts/login/"))
    agent.locator("#id_username").fill("agent1@acme.test")
    agent.locator("#id_password").fill(PASSWORD)
    agent.locator("form button[type=submit]").first.click()
    agent.goto(tenant_url(live_server, acme, "/agent/inbox/"))
    row = agent.locator("[data-shortcut-row]", has_text="Is the oolong in stock?")
    assert "channel-chat" in row.inner_html()
    row.locator("a").first.click()
    agent.wait_for_selector("#composer-form")
    agent.locator("#composer-body").fill("Yes, 40 tins left. Shall I reserve one?")
    agent.locator(".composer-send button").click()
    agent.get_by_text("Yes, 40 tins left.").first.wait_for()
    answered = time.monotonic()
    visitor.locator(".msg.agent", has_text="Yes, 40 tins left.").wait_for(timeout=5_000)
    waited = time.monotonic() - answered
    assert waited <= 2.0, f"the visitor saw the answer after {waited:.2f} s"
    assert visitor.locator(".msg.agent .who").first.inner_text() == "Alex"

    visitor.get_by_label("Message").fill("Yes please!")
    visitor.keyboard.press("Enter")
    visitor.locator(".msg.visitor", has_text="Yes please!").wait_for()
    with tenant_context(acme):
        assert ticket.messages.filter(body_text="Yes please!").count() == 1
        assert Ticket.objects.filter(channel=Ticket.Channel.CHAT).count() == 1
    visitor.screenshot(path=ARTIFACTS / "screens" / "chat-widget-conversation-en-phone.png")

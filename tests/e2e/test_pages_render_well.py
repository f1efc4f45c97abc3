"""Every page we have, in English and Chinese, at desktop and phone width: no horizontal
overflow, every form control labelled, and a screenshot in artifacts/screens/ to look at."""

from __future__ import annotations

import pytest

from channels_in.email import receive_email
from channels_in.messaging.models import MessagingThread
from channels_in.models import Mailbox, MessagingChannel
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
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
]
ANONYMOUS_PAGES = [
    "/", "/accounts/login/", "/accounts/password-reset/", "/accounts/signup/",
    "/portal/requests/new/",
]  # fmt: skip
CUSTOMER_PAGES = ["/portal/", "/portal/requests/new/"]
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
        mailbox = Mailbox.objects.get().pk
        channel = MessagingChannel.objects.get(provider="telegram").pk
    for path in STAFF_PAGES:
        page.goto(tenant_url(live_server, acme, path.format(mailbox=mailbox, channel=channel)))
        check(page, path, lang, size)
    context.clear_cookies()
    for host in (f"acme.localhost:{port}",):
        context.add_cookies([{"name": "django_language", "value": lang, "url": f"http://{host}/"}])
    sign_in(page, live_server, acme, "alice@customer.test")
    for path in CUSTOMER_PAGES:
        page.goto(tenant_url(live_server, acme, path))
        check(page, path, lang, size)
    context.close()

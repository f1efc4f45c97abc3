"""The customer's self-service journey in Chromium, in Chinese (issue 8): search the knowledge
base, read an article, start a request, see the article suggested while typing, send the
request anyway, follow it in the portal and reply with an attachment; then an agent finds the
reply in the inbox. The deflection flow is recorded as "sent anyway" with the ticket."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from knowledge import services as kb
from knowledge.models import Deflection
from tests.e2e.conftest import ARTIFACTS, tenant_url
from tests.factories import PASSWORD, ContactFactory, MembershipFactory, TenantFactory
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)
SCREENS = ARTIFACTS / "screens" / "journey"


@pytest.fixture
def huaxia(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    tenant = TenantFactory(slug="huaxia", name="华夏客服", default_language="zh-hans",
                           timezone="Asia/Shanghai")  # fmt: skip
    admin = MembershipFactory(tenant=tenant, user__email="admin@huaxia.test",
                              role=Membership.Role.ADMIN).user  # fmt: skip
    MembershipFactory(tenant=tenant, user__email="agent1@huaxia.test", user__full_name="李客服")
    ContactFactory(tenant=tenant, email="alice@customer.test", name="王丽", language="zh-hans")
    with tenant_context(tenant):
        category = kb.category_save(actor=admin, name="订单与退款")
        section = kb.section_save(actor=admin, category=category, name="退款")
        article = kb.article_create(
            actor=admin, section=section, language="zh-hans", visibility="public",
            title="退款多久到账？",
            body="退货到达仓库后，我们会在 2 个工作日内办理退款。"
                 "银行卡退款需要 3 到 5 个工作日到账，支付宝和微信支付一般当天到账。",
        )  # fmt: skip
        kb.article_publish(article=article, actor=admin)
    return tenant, article


def _sign_in(page, live_server, tenant, email):
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()


def test_search_read_request_suggestion_reply_and_the_agent_sees_it(browser, live_server,
                                                                     huaxia, tmp_path):  # fmt: skip
    tenant, article = huaxia
    SCREENS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)

    # Signed in, the customer lands in the portal; the UI speaks Chinese.
    _sign_in(page, live_server, tenant, "alice@customer.test")
    assert page.url.endswith("/portal/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    # 1. Search the knowledge base in Chinese and read the article.
    page.goto(tenant_url(live_server, tenant, "/kb/"))
    page.locator("form[role=search] input[name=q]").first.fill("退款")
    page.locator("form[role=search] button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/kb/search/\?q="))
    page.get_by_role("link", name="退款多久到账？").first.click()
    page.wait_for_url(re.compile(rf"/kb/articles/{re.escape(quote(article.slug))}/"))
    assert "3 到 5 个工作日到账" in page.locator("main").inner_text()
    page.screenshot(path=str(SCREENS / "article-zh-phone.png"), full_page=True)

    # 2. Start a request: the article is suggested while typing; send the request anyway.
    page.goto(tenant_url(live_server, tenant, "/portal/requests/new/"))
    page.locator("#id_subject").fill("退款还没到账")
    page.locator("#id_description").press_sequentially("我上周申请的退款，银行卡还没到账，请问多久能到？",
                                                       delay=10)  # fmt: skip
    suggestion = page.locator("#deflect-suggestions .deflect-item")
    suggestion.first.wait_for()
    assert "退款多久到账" in suggestion.first.inner_text()
    page.screenshot(path=str(SCREENS / "request-suggestion-zh-phone.png"), full_page=True)
    page.locator("form.request-form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/portal/requests/thanks/"))

    with tenant_context(tenant):
        ticket = Ticket.objects.get(subject="退款还没到账")
        flow = Deflection.objects.get()
    assert (flow.outcome, flow.ticket_number) == ("submitted", ticket.number)

    # 3. Follow it in the portal and reply with an attachment.
    page.goto(tenant_url(live_server, tenant, "/portal/requests/"))
    page.get_by_role("link", name=re.compile("退款还没到账")).first.click()
    page.wait_for_url(re.compile(rf"/portal/requests/{ticket.number}/"))
    assert "银行卡还没到账" in page.locator("main").inner_text()
    receipt = tmp_path / "收据.png"
    receipt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    page.locator("#reply-body").fill("补充一下：订单号 20261201-88，退款金额 199 元。")
    page.locator("input[type=file][name=attachments]").set_input_files(str(receipt))
    page.get_by_role("button", name="发送回复").click()
    page.locator("#request-thread", has_text="订单号 20261201-88").wait_for()
    page.screenshot(path=str(SCREENS / "request-replied-zh-phone.png"), full_page=True)
    context.close()

    with tenant_context(tenant):
        reply = Message.objects.filter(ticket=ticket).order_by("-id").first()
        assert "20261201-88" in reply.body_text
        assert reply.attachments.count() == 1

    # 4. The agent finds the reply from the inbox.
    agent_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    agent = agent_context.new_page()
    agent.set_default_timeout(15_000)
    _sign_in(agent, live_server, tenant, "agent1@huaxia.test")
    agent.goto(tenant_url(live_server, tenant, "/agent/inbox/"))
    row = agent.locator(f"a[href='/agent/tickets/{ticket.number}/']").first
    row.wait_for()
    row.click()
    agent.wait_for_url(re.compile(rf"/agent/tickets/{ticket.number}/"))
    agent.get_by_text("订单号 20261201-88").first.wait_for()
    agent_context.close()

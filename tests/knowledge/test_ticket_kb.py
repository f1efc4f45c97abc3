"""The knowledge base on the agent's ticket page: the KB panel (knowledge:suggest?ticket=),
the composer's article picker (knowledge:article_picker), and the page's pieces; then, in a
browser, "Insert link" from the panel and the picker driven by the keyboard, with screenshots
of the page (en, zh-hans; desktop, phone) in artifacts/screens/ticket_kb/."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from knowledge.models import Article
from tests.factories import make_ticket
from tests.helpers import sign_in
from tests.knowledge.conftest import write
from tickets.services import ticket_add_inbound

HTMX = {"HTTP_HX_REQUEST": "true"}
SUGGEST = "knowledge:suggest"
PICKER = "knowledge:article_picker"


@pytest.fixture
def agent_client(client, tenant_a, agent):
    return sign_in(client, agent, tenant_a)


@pytest.fixture
def articles(tenant_a, section, admin):
    refund = write(tenant_a, section, admin, "How to get a refund",
                   "Refunds reach your card within 5 working days of the return.")  # fmt: skip
    internal = write(tenant_a, section, admin, "Refund exceptions for agents",
                     "When a refund needs a manager's approval.",
                     visibility=Article.Visibility.INTERNAL)  # fmt: skip
    zh = write(tenant_a, section, admin, "如何申请退款", "进入我的订单，申请退款，三日内到账。",
               language="zh-hans")  # fmt: skip
    draft = write(tenant_a, section, admin, "Refund draft nobody should link", "refund refund",
                  publish=False)  # fmt: skip
    tracking = write(tenant_a, section, admin, "Tracking your parcel",
                     "Every order gets a tracking number when it ships.")  # fmt: skip
    return {"refund": refund, "internal": internal, "zh": zh, "draft": draft,
            "tracking": tracking}  # fmt: skip


def _get(client, name, **params):
    return client.get(reverse(name), params, **HTMX)


def test_the_panel_suggests_articles_for_an_english_ticket(agent_client, tenant_a, articles):
    ticket = make_ticket(tenant_a, subject="Refund for my order", language="en",
                         body="Where is my refund? I sent the item back.")  # fmt: skip
    response = _get(agent_client, SUGGEST, ticket=ticket.number)
    assert response.status_code == 200
    body = response.content.decode()
    assert "How to get a refund" in re.sub(r"</?mark>", "", body)
    assert "如何申请退款" not in body  # the ticket's language
    assert "Tracking your parcel" not in body
    # Insert link: the public link, absolute, on the tenant's host.
    slug = articles["refund"].slug
    assert re.search(
        rf'data-kb-insert="How to get a refund: http://alpha\.localhost[^"]*/kb/articles/{slug}/"',
        body,
    )
    assert reverse("knowledge:article", kwargs={"article_id": articles["refund"].pk}) in body
    assert "Refund draft nobody should link" not in body


def test_the_panel_suggests_articles_for_a_chinese_ticket(agent_client, tenant_a, articles):
    ticket = make_ticket(tenant_a, subject="退款问题", body="我想申请退款，订单已经退货了。",
                         language="zh-hans")  # fmt: skip
    body = _get(agent_client, SUGGEST, ticket=ticket.number).content.decode()
    assert "如何申请退款" in re.sub(r"</?mark>", "", body)
    assert "How to get a refund" not in body
    assert 'data-kb-insert="如何申请退款: http://alpha.localhost' in body


def test_the_panel_matches_the_latest_customer_message(agent_client, tenant_a, articles):
    ticket = make_ticket(tenant_a, subject="Question", body="Hello there", language="en")
    assert "kb-hit" not in _get(agent_client, SUGGEST, ticket=ticket.number).content.decode()
    with tenant_context(tenant_a):
        ticket_add_inbound(ticket=ticket, contact=ticket.requester,
                           body_text="Tracking number of my parcel has not changed")  # fmt: skip
    body = _get(agent_client, SUGGEST, ticket=ticket.number).content.decode()
    assert "Tracking your parcel" in re.sub(r"</?mark>", "", body)


def test_the_panel_marks_internal_articles_and_offers_no_insert_for_them(agent_client, tenant_a,
                                                                          articles):  # fmt: skip
    ticket = make_ticket(
        tenant_a, subject="Refund exceptions", body="refund approval", language="en"
    )
    body = _get(agent_client, SUGGEST, ticket=ticket.number, q="refund exceptions").content.decode()
    item = body[body.index("Refund exceptions") - 600 : body.index("Refund exceptions") + 1200]
    assert "kb-internal" in item
    internal_item = item.split("</li>")[0]
    assert "data-kb-insert" not in internal_item
    assert f"/agent/kb/articles/{articles['internal'].pk}/" in internal_item  # Copy: agents' link


def test_the_panel_search_box_finds_other_articles(agent_client, tenant_a, articles):
    ticket = make_ticket(tenant_a, subject="Refund", body="Refund please", language="en")
    body = _get(agent_client, SUGGEST, ticket=ticket.number, q="tracking").content.decode()
    assert "Tracking your parcel" in re.sub(r"</?mark>", "", body)
    assert "How to get a refund" not in body
    body = _get(agent_client, SUGGEST, ticket=ticket.number, q="zebra crossing").content.decode()
    assert "No published article matches “zebra crossing”." in body


def test_the_empty_panel_says_so_and_offers_to_write_one(agent_client, tenant_a, articles):
    ticket = make_ticket(
        tenant_a, subject="Printer on fire", body="Smoke everywhere", language="en"
    )
    body = _get(agent_client, SUGGEST, ticket=ticket.number).content.decode()
    assert "No article matches this ticket yet." in body
    assert f"{reverse('knowledge:article_new')}?from_ticket={ticket.number}" in body


def test_q_alone_still_works(agent_client, tenant_a, articles):
    body = _get(agent_client, SUGGEST, q="refund card working days").content.decode()
    assert "How to get a refund" in re.sub(r"</?mark>", "", body)


@pytest.mark.parametrize("name", [SUGGEST, PICKER])
def test_another_tenants_or_a_missing_ticket_number_is_a_404(agent_client, tenant_a, tenant_b,
                                                             articles, name):  # fmt: skip
    make_ticket(tenant_a, subject="Ours")  # number 1 here
    theirs = [make_ticket(tenant_b, subject=f"Theirs {i}") for i in range(3)][-1]
    assert theirs.number == 3
    for value in (theirs.number, 999, "abc", "-1", ""):
        assert _get(agent_client, name, ticket=value).status_code == 404, value
    assert _get(agent_client, name, ticket=1).status_code == 200


def test_a_customer_and_a_stranger_get_404s(client, tenant_a, outsider, customer, articles):
    ticket = make_ticket(tenant_a, subject="Refund", body="refund", language="en")
    for user in (customer, outsider):
        client.logout()
        sign_in(client, user, tenant_a)
        for name in (SUGGEST, PICKER):
            assert _get(client, name, ticket=ticket.number).status_code == 404


def test_the_picker_marks_internal_articles(agent_client, tenant_a, articles):
    ticket = make_ticket(tenant_a, subject="Refund", body="refund", language="en")
    body = _get(
        agent_client, PICKER, ticket=ticket.number, q="refund", kind="reply"
    ).content.decode()
    options = {m.group(1): m.group(0) for m in re.finditer(
        r'<li id="kb-picker-option-(\d+)".*?>', body, re.S)}  # fmt: skip
    public, internal = options[str(articles["refund"].pk)], options[str(articles["internal"].pk)]
    slug = articles["refund"].slug
    assert re.search(
        rf'data-public-link="How to get a refund: http://alpha\.localhost[^"]*/kb/articles/{slug}/"',
        public,
    )
    assert "aria-disabled" not in public
    assert "data-internal" in internal and 'aria-disabled="true"' in internal
    assert "data-public-link" not in internal
    assert f"/agent/kb/articles/{articles['internal'].pk}/" in internal  # for notes
    assert "it can go in an internal note, not in a reply" in body
    assert str(articles["draft"].pk) not in options  # drafts have no page to link
    # In an internal note the internal article may be chosen.
    body = _get(
        agent_client, PICKER, ticket=ticket.number, q="refund", kind="note"
    ).content.decode()
    assert 'aria-disabled="true"' not in body and "data-internal" in body


def test_the_picker_without_words_lists_the_tickets_suggestions(agent_client, tenant_a, articles):
    ticket = make_ticket(tenant_a, subject="Refund for my order", body="Where is my refund?",
                         language="en")  # fmt: skip
    body = _get(agent_client, PICKER, ticket=ticket.number).content.decode()
    assert 'role="listbox"' in body and "How to get a refund" in re.sub(r"</?mark>", "", body)
    body = _get(agent_client, PICKER, q="zebra crossing").content.decode()
    assert "No published article matches" in body and 'role="listbox"' not in body
    assert _get(agent_client, PICKER, q="refund", kind="x' or 1=1").status_code == 200


def test_the_ticket_page_has_the_panel_the_picker_and_the_action(agent_client, tenant_a, articles):
    ticket = make_ticket(tenant_a, subject="Refund", body="refund", language="en")
    body = agent_client.get(
        reverse("tickets:detail", kwargs={"number": ticket.number})
    ).content.decode()
    assert f'hx-get="{reverse(SUGGEST)}?ticket={ticket.number}"' in body
    assert 'id="kb-panel-q"' in body and 'for="kb-panel-q"' in body
    assert (
        'id="kb-picker"' in body and 'for="kb-picker-q"' in body and "data-kb-picker-open" in body
    )
    assert f"{reverse('knowledge:article_new')}?from_ticket={ticket.number}" in body
    assert "js/kb-picker.js" in body


# --- In a browser -------------------------------------------------------------------------------

SIZES = {"desktop": (1280, 800), "phone": (375, 812)}
UNLABELLED = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""
EN_SUBJECT = "My refund has not arrived"
ZH_SUBJECT = "退款多久到账"


class _Spec:
    language = "en"


@pytest.fixture
def acme(transactional_db):
    from helpdesk.tenancy.models import Membership
    from knowledge.demo import seed_knowledge
    from tests.factories import MembershipFactory, TenantFactory

    tenant = TenantFactory(slug="acme", name="Acme Support")
    MembershipFactory(tenant=tenant, user__email="admin@acme.test", user__full_name="Ada Admin",
                      role=Membership.Role.ADMIN)  # fmt: skip
    MembershipFactory(tenant=tenant, user__email="agent1@acme.test", user__full_name="Alex Agent")
    with tenant_context(tenant):
        seed_knowledge(tenant, _Spec())
    en = make_ticket(tenant, subject=EN_SUBJECT, language="en",
                     body="I returned the item two weeks ago; the refund is not here.")  # fmt: skip
    zh = make_ticket(tenant, subject=ZH_SUBJECT, language="zh-hans",
                     body="我两周前退货了，退款什么时候到账？")  # fmt: skip
    tenant.tickets = {"en": en, "zh-hans": zh}
    return tenant


def _signed_in(browser, live_server, tenant, *, lang="en", size="desktop"):
    from tests.e2e.conftest import tenant_url
    from tests.factories import PASSWORD

    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies([{"name": "django_language", "value": lang,
                          "url": f"http://acme.localhost:{port}/"}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill("agent1@acme.test")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    return context, page


def _article(tenant, title: str) -> Article:
    with tenant_context(tenant):
        return Article.objects.get(title=title)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_insert_links_from_the_panel_and_from_the_picker(browser, live_server, acme):
    from tests.e2e.conftest import tenant_url

    context, page = _signed_in(browser, live_server, acme)
    ticket = acme.tickets["en"]
    page.goto(tenant_url(live_server, acme, f"/agent/tickets/{ticket.number}/"))
    textarea = page.locator("#composer-body")
    # The panel loads the article that matches the ticket; "Insert link" puts its public link in.
    refund = _article(acme, "How long does a refund take?")
    hit = page.locator("#kb-suggest .kb-hit", has_text="How long does a refund take?")
    hit.wait_for()
    textarea.fill("Hello, see")
    hit.get_by_role("button", name="Insert link").click()
    value = textarea.input_value()
    assert value.startswith("Hello, see How long does a refund take?: http://acme.localhost")
    assert value.endswith(f"/kb/articles/{refund.slug}/")
    # The picker, from the keyboard: open it, search, arrow down, Enter.
    page.keyboard.type("\nAnd ")
    opener = page.locator("[data-kb-picker-open]")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#kb-picker")
    dialog.wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "kb-picker-q"
    page.keyboard.type("invoice VAT")
    option = page.locator("#kb-picker-list [role=option]", has_text="Getting an invoice")
    option.wait_for()
    page.keyboard.press("ArrowDown")
    assert option.first.get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    dialog.wait_for(state="hidden")
    invoice = _article(acme, "Getting an invoice with your VAT number")
    value = textarea.input_value()
    assert "And Getting an invoice with your VAT number: http://acme.localhost" in value
    assert value.endswith(f"/kb/articles/{invoice.slug}/")
    assert page.evaluate("document.activeElement.id") == "composer-body"
    # An internal article is greyed in a reply, with the reason, and Enter does not insert it.
    opener.focus()
    page.keyboard.press("Enter")
    page.locator("#kb-picker-q").fill("refund batch failed")
    internal = page.locator("#kb-picker-list [role=option]", has_text="Refund batch failed")
    internal.wait_for()
    assert internal.get_attribute("aria-disabled") == "true"
    assert internal.locator(".kb-picker-reason").is_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert dialog.is_visible()
    before = textarea.input_value()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.hasAttribute('data-kb-picker-open')")
    assert textarea.input_value() == before
    # In an internal note it may go in, as the agents' link.
    page.locator("label.composer-tab", has_text="Internal note").click()
    opener.click()
    page.locator("#kb-picker-q").fill("refund batch failed")
    internal.wait_for()
    assert internal.get_attribute("aria-disabled") is None
    internal.click()
    batch = _article(acme, "Refund batch failed: re-queue it by hand")
    assert textarea.input_value().endswith(f"/agent/kb/articles/{batch.pk}/")
    context.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_ticket_page_screens(browser, live_server, acme, lang, size):
    from tests.e2e.conftest import ARTIFACTS, tenant_url

    shots = ARTIFACTS / "screens" / "ticket_kb"
    shots.mkdir(parents=True, exist_ok=True)
    width = SIZES[size][0]
    context, page = _signed_in(browser, live_server, acme, lang=lang, size=size)
    ticket = acme.tickets[lang]
    page.goto(tenant_url(live_server, acme, f"/agent/tickets/{ticket.number}/"))
    panel = page.locator(".kb-side")
    if size == "phone":  # folded on phones, like the properties
        assert panel.get_attribute("open") is None
        panel.locator("summary").click()
    page.locator("#kb-suggest .kb-hit").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert page.evaluate(UNLABELLED) == []
    page.screenshot(path=str(shots / f"ticket-{lang}-{size}.png"), full_page=True)
    panel.screenshot(path=str(shots / f"panel-{lang}-{size}.png"))
    # The picker, open over the page.
    page.locator("#composer-body").click()
    page.locator("[data-kb-picker-open]").click()
    page.locator("#kb-picker-list [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.screenshot(path=str(shots / f"picker-{lang}-{size}.png"))
    context.close()

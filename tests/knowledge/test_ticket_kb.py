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

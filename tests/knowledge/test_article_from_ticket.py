"""'Create article' from the agent's ticket page: knowledge:article_new?from_ticket=<number>
prefills the editor from the ticket (subject, the customer's question quoted, the agents' public
replies without quoted history or signature, the ticket's language; no section), and saving
leaves a trace on both sides (an ArticleEvent, a TicketEvent on the timeline). The number is
looked up in the tenant: another tenant's or none is a 404; only staff reach the editor."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from knowledge import from_ticket, services
from knowledge.models import Article, ArticleEvent
from knowledge.services import KnowledgeError
from tests.factories import UserFactory, make_ticket
from tests.helpers import sign_in
from tickets.models import TicketEvent
from tickets.services import ticket_add_inbound, ticket_add_note, ticket_reply

QUESTION = """Hello,

My refund for order 1234 has not arrived. I returned the parcel two weeks ago.

Thanks,
Carol

On Mon, 1 Dec 2026 at 10:00, Alpha Support <support@alpha.test> wrote:
> We are sorry to hear that.
"""
REPLY = """Hi Carol,

Refunds reach your card within 5 working days of the return reaching our warehouse.
Yours reached us yesterday, so expect it by Friday.

--
Alex from Alpha Support
"""
NOTE = "Checked with finance: the warehouse scan is late this week."


@pytest.fixture
def agent_client(client, tenant_a, agent):
    return sign_in(client, agent, tenant_a)


@pytest.fixture
def ticket(tenant_a, agent):
    ticket = make_ticket(tenant_a, subject="Refund not received", body=QUESTION, language="en")
    with tenant_context(tenant_a):
        ticket_reply(ticket=ticket, author=agent, body_text=REPLY)
        ticket_add_note(ticket=ticket, author=agent, body_text=NOTE)
        ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="Thank you!")
    return ticket


def _new(number) -> str:
    return f"{reverse('knowledge:article_new')}?from_ticket={number}"


def test_the_draft_is_the_question_quoted_and_the_agents_public_replies(tenant_a, ticket):
    with tenant_context(tenant_a):
        draft = from_ticket.article_draft_from_ticket(ticket)
    assert draft.title == "Refund not received"
    assert draft.language == "en"
    assert "> My refund for order 1234 has not arrived." in draft.body
    assert "Refunds reach your card within 5 working days" in draft.body
    assert "expect it by Friday." in draft.body
    for gone in ("We are sorry to hear that", "wrote:", "Alex from Alpha Support", "Carol\n",
                 "Hi Carol", "Hello,", "Thanks,", NOTE, "Thank you!"):  # fmt: skip
        assert gone not in draft.body, gone
    # The question comes first, quoted; the answer after it.
    assert draft.body.index("> My refund") < draft.body.index("Refunds reach")


def test_the_editor_is_prefilled_from_the_ticket(agent_client, tenant_a, ticket):
    response = agent_client.get(_new(ticket.number))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["title"] == "Refund not received"
    assert form.initial["language"] == "en"
    assert form.initial["section"] is None
    assert "> My refund for order 1234" in form.initial["body"]
    body = response.content.decode()
    assert 'value="Refund not received"' in body
    assert "Written from ticket #" in body  # the reminder to choose a section, take out data


def test_a_chinese_ticket_gives_a_chinese_draft(agent_client, tenant_a):
    text = "您好，\n\n我的退款还没有到账。\n\n谢谢"
    ticket = make_ticket(tenant_a, subject="退款没有到账", body=text, language="zh-hans")
    form = agent_client.get(_new(ticket.number)).context["form"]
    assert form.initial["language"] == "zh-hans"
    assert form.initial["title"] == "退款没有到账"
    assert form.initial["body"].strip() == "> 我的退款还没有到账。"


def test_saving_records_events_on_the_article_and_the_ticket(agent_client, tenant_a, ticket,
                                                            section, agent):  # fmt: skip
    form = agent_client.get(_new(ticket.number)).context["form"]
    data = {"title": form.initial["title"], "body": form.initial["body"], "language": "en",
            "visibility": "public", "section": section.pk, "review_every_days": 180,
            "reviewer": "", "note": form.initial["note"]}  # fmt: skip
    response = agent_client.post(_new(ticket.number), data)
    assert response.status_code == 302
    with tenant_context(tenant_a):
        article = Article.objects.get(title="Refund not received")
        assert article.status == Article.Status.DRAFT and article.author == agent
        assert article.language == "en" and "> My refund" in article.body
        event = ArticleEvent.objects.get(article=article, kind="created_from_ticket")
        assert event.data == {"ticket": ticket.number} and event.actor == agent
        drafted = TicketEvent.objects.get(ticket=ticket, kind="article_drafted")
        assert drafted.data["article_id"] == article.pk
        assert drafted.data["title"] == "Refund not received" and drafted.actor == agent
        assert article.versions.get().note == f"Created from ticket #{ticket.number}"
    # Both sides say so in words.
    page = agent_client.get(reverse("knowledge:article", kwargs={"article_id": article.pk}))
    assert f"Created from ticket #{ticket.number}" in page.content.decode()
    timeline = agent_client.get(
        reverse("tickets:detail", kwargs={"number": ticket.number}) + "?timeline=1"
    ).content.decode()
    assert "drafted the article “Refund not received” from this ticket" in timeline


def test_without_a_section_nothing_is_saved(agent_client, tenant_a, ticket):
    data = {"title": "Refund not received", "body": "x", "language": "en",
            "visibility": "public", "section": "", "review_every_days": 180}  # fmt: skip
    assert agent_client.post(_new(ticket.number), data).status_code == 400
    with tenant_context(tenant_a):
        assert not Article.objects.exists()
        assert not TicketEvent.objects.filter(kind="article_drafted").exists()


def test_another_tenants_or_a_missing_ticket_is_a_404(agent_client, tenant_a, tenant_b, section):
    make_ticket(tenant_a, subject="Ours")
    theirs = [make_ticket(tenant_b, subject=f"Theirs {i}") for i in range(3)][-1]
    data = {"title": "Stolen", "body": "x", "language": "en", "visibility": "public",
            "section": section.pk, "review_every_days": 180}  # fmt: skip
    for value in (theirs.number, 999, "abc", ""):
        assert agent_client.get(_new(value)).status_code == 404, value
        assert agent_client.post(_new(value), data).status_code == 404, value
    with tenant_context(tenant_a):
        assert not Article.objects.exists()
    # The plain editor is unchanged.
    assert agent_client.get(reverse("knowledge:article_new")).status_code == 200


def test_only_staff_reach_it(client, tenant_a, ticket, customer, outsider, agent, admin):
    # Customers and members of another tenant: a 404, as for every KB agent page.
    for user in (customer, outsider):
        client.logout()
        sign_in(client, user, tenant_a)
        assert client.get(_new(ticket.number)).status_code == 404
        assert client.get(reverse("knowledge:article_new")).status_code == 404
    # Every staff role writes drafts, so every staff member sees the action on the ticket.
    for user in (agent, admin):
        client.logout()
        sign_in(client, user, tenant_a)
        page = client.get(reverse("tickets:detail", kwargs={"number": ticket.number}))
        assert _new(ticket.number) in page.content.decode()
    # The service refuses someone who is not staff here, whoever calls it.
    with tenant_context(tenant_a):
        assert services.can_draft(agent) and not services.can_draft(UserFactory())
        with pytest.raises(KnowledgeError):
            services.article_create_from_ticket(
                actor=outsider, ticket=ticket, section=None, title="x", language="en"
            )

"""Deflection: the request form shows public articles for what the visitor writes, "this solved
it" counts the flow once, sending anyway marks it submitted, and nothing internal, unpublished
or of another tenant is ever suggested or accepted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from knowledge import deflection
from knowledge.models import Article, Deflection
from tests.helpers import host_of
from tests.knowledge.conftest import write

pytestmark = pytest.mark.django_db
FLOW = "f" * 24
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def refund(tenant_a, section, admin) -> Article:
    body = "Refunds reach your card within five working days after the return arrives."
    return write(tenant_a, section, admin, "How long does a refund take", body)


@pytest.fixture
def internal(tenant_a, section, admin) -> Article:
    return write(tenant_a, section, admin, "Refund approval for agents",
                 "Agents approve refund overrides in the billing console.",
                 visibility=Article.Visibility.INTERNAL)  # fmt: skip


@pytest.fixture
def visitor(client, tenant_a):
    client.defaults["HTTP_HOST"] = host_of(tenant_a)
    return client


def _suggest(visitor, subject: str, description: str = "", token: str = FLOW):
    url = reverse("knowledge:deflect")
    return visitor.get(url, {"subject": subject, "description": description, "token": token},
                       **HTMX)  # fmt: skip


def test_typing_shows_public_articles_and_notes_the_flow(visitor, tenant_a, refund, internal):
    response = _suggest(visitor, "refund", "how long does my refund take to reach my card?")
    assert response.status_code == 200
    html = response.content.decode()
    assert "How long does a refund take" in html.replace("<mark>", "").replace("</mark>", "")
    assert "Refund approval for agents" not in html  # internal: never shown to customers
    assert reverse("knowledge:article_public", kwargs={"slug": refund.slug}) in html
    with tenant_context(tenant_a):
        row = Deflection.objects.get(flow=FLOW)
    assert row.outcome == "shown" and row.shown_articles == [refund.pk]
    assert row.query == "refund"

    _suggest(visitor, "refund card", "my refund has not reached my card after five days")
    with tenant_context(tenant_a):
        assert Deflection.objects.count() == 1  # one flow, however often it types


def test_nothing_matching_shows_nothing_and_records_nothing(visitor, tenant_a, refund):
    response = _suggest(visitor, "printer", "the office printer jams")
    assert response.status_code == 200
    assert b"deflect-item" not in response.content
    with tenant_context(tenant_a):
        assert not Deflection.objects.exists()


def test_this_solved_it_counts_once_and_replaces_the_form(visitor, tenant_a, refund):
    _suggest(visitor, "refund", "how long does a refund take to reach my card")
    url = reverse("knowledge:deflect_solved")
    response = visitor.post(url, {"token": FLOW, "article_id": refund.pk}, **HTMX)
    assert response.status_code == 200
    assert b"Glad that helped" in response.content
    assert visitor.post(url, {"token": FLOW, "article_id": refund.pk}).status_code == 200
    since = timezone.now() - timedelta(days=1)
    with tenant_context(tenant_a):
        stats = deflection.deflection_stats(since=since)
        assert (stats.offered, stats.solved, stats.submitted, stats.rate) == (1, 1, 0, 1.0)
        top = deflection.top_deflecting_articles(since=since)
    assert top == [{"article_id": refund.pk, "title": refund.title, "solved": 1}]


def test_solved_refuses_an_article_that_was_not_shown(visitor, tenant_a, refund, internal):
    _suggest(visitor, "refund", "how long does a refund take to reach my card")
    url = reverse("knowledge:deflect_solved")
    assert visitor.post(url, {"token": FLOW, "article_id": internal.pk}).status_code == 400
    assert visitor.post(url, {"token": "x" * 24, "article_id": refund.pk}).status_code == 400
    assert visitor.post(url, {"token": FLOW, "article_id": "nope"}).status_code == 400
    with tenant_context(tenant_a):
        assert Deflection.objects.get(flow=FLOW).outcome == "shown"


def test_an_article_unpublished_after_being_shown_does_not_count(visitor, tenant_a, refund,
                                                                 admin):  # fmt: skip
    from knowledge import services

    _suggest(visitor, "refund", "how long does a refund take to reach my card")
    with tenant_context(tenant_a):
        services.article_archive(article=refund, actor=admin)
    url = reverse("knowledge:deflect_solved")
    assert visitor.post(url, {"token": FLOW, "article_id": refund.pk}).status_code == 400


def test_sending_anyway_marks_the_flow_submitted(visitor, tenant_a, refund):
    from tickets.forms import form_token

    token = form_token()
    _suggest(visitor, "refund", "how long does a refund take to reach my card", token=token)
    response = visitor.post(reverse("portal:request_new"), {
        "token": token, "name": "Dana", "email": "dana@example.test", "subject": "Refund",
        "description": "How long does a refund take to reach my card? It has been a week.",
    })  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        row = Deflection.objects.get(flow=token)
        assert row.outcome == "submitted" and row.ticket_number
        stats = deflection.deflection_stats(since=timezone.now() - timedelta(days=1))
    assert (stats.offered, stats.solved, stats.submitted) == (1, 0, 1)


def test_another_tenant_never_sees_or_counts_these_articles(client, tenant_a, tenant_b, refund):
    client.defaults["HTTP_HOST"] = host_of(tenant_b)
    response = _suggest(client, "refund", "how long does a refund take to reach my card")
    assert b"deflect-item" not in response.content
    url = reverse("knowledge:deflect_solved")
    assert client.post(url, {"token": FLOW, "article_id": refund.pk}).status_code == 400
    with tenant_context(tenant_b):
        assert not Deflection.objects.exists()
    with tenant_context(tenant_a):
        assert not Deflection.objects.exists()


def test_a_chinese_request_finds_the_chinese_article_on_an_english_page(visitor, tenant_a, section,
                                                                       admin):  # fmt: skip
    body = "退货到达仓库后两个工作日内退款，银行卡三到五个工作日到账。"
    zh = write(tenant_a, section, admin, "退款多久到账", body, language="zh-hans")
    response = _suggest(visitor, "退款", "我的退款多久能到账？")
    url = reverse("knowledge:article_public", kwargs={"slug": zh.slug})
    assert f'href="{url}?lang=zh-hans"' in response.content.decode()  # that language's version


def test_self_service_page_reports_the_period(client, visitor, tenant_a, tenant_b, refund, agent,
                                              outsider):  # fmt: skip
    from knowledge import search, services
    from knowledge.models import SearchLog
    from tests.helpers import sign_in

    _suggest(visitor, "refund", "how long does a refund take to reach my card")
    visitor.post(reverse("knowledge:deflect_solved"), {"token": FLOW, "article_id": refund.pk})
    with tenant_context(tenant_a):
        search.search("warranty for scooters", language="en", audience="customer")
        services.article_feedback_record(article=refund, helpful=False, comment="Too vague",
                                         session_key="s1")  # fmt: skip
    with tenant_context(tenant_b):
        SearchLog.objects.create(query="bravo secret query", audience="customer", result_count=0)

    agent_client = sign_in(client, agent, tenant_a)
    response = agent_client.get(reverse("knowledge:insights"), {"days": 7})
    assert response.status_code == 200
    report = response.context["report"]
    assert report.days == 7
    assert (report.deflection.offered, report.deflection.solved) == (1, 1)
    assert report.deflecting[0]["article_id"] == refund.pk
    assert report.unanswered == [{"query": "warranty for scooters", "searches": 1}]
    assert report.unhelpful[0]["not_helpful"] == 1
    html = response.content.decode()
    assert "100 %" in html and "warranty for scooters" in html
    assert "bravo secret query" not in html
    assert agent_client.get(reverse("knowledge:insights"), {"days": 5}).context["report"].days == 30

"""Search (knowledge.search) and the customer-facing selectors: the wall (internal, drafts,
archived never reach customers), languages, typos, one or two Chinese characters, snippets,
the zero-result log, the auto-reply hook and suggestions."""

from __future__ import annotations

import pytest

from helpdesk.tenancy.context import tenant_context
from knowledge import search, selectors, services
from knowledge.models import Article, SearchLog
from knowledge.suggest import article_suggester
from tests.knowledge.conftest import write
from tickets.automation import autoreply

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(tenant_a, section, admin):
    made = {
        "public": write(tenant_a, section, admin, "How to get a refund",
                        "Refunds reach your card in 3 to 5 days."),
        "internal": write(tenant_a, section, admin, "Refund batch failed: retry by hand",
                          "Internal: re-queue the refund batch.", visibility="internal"),
        "draft": write(tenant_a, section, admin, "Refund draft", "Refund text not ready.",
                       publish=False),
        "archived": write(tenant_a, section, admin, "Old refund policy", "Refund in 2019."),
        "zh": write(tenant_a, section, admin, "退款多久到账", "银行卡退款三到五个工作日到账。",
                    language="zh-hans"),
        "zh_internal": write(tenant_a, section, admin, "退款批次失败处理", "人工重试退款批次。",
                             language="zh-hans", visibility="internal"),
    }  # fmt: skip
    with tenant_context(tenant_a):
        services.article_archive(article=made["archived"], actor=admin)
    return made


def titles(result) -> list[str]:
    return [h.article.title for h in result.hits]


def test_customers_see_published_public_articles_only(tenant_a, articles):
    with tenant_context(tenant_a):
        # Whatever the caller asks for, the customer audience is published + public.
        for kwargs in ({}, {"statuses": ("draft", "archived", "review")},
                       {"visibility": "internal"}):  # fmt: skip
            result = search.search("refund", language="en", audience="customer", **kwargs)
            assert titles(result) == ["How to get a refund"], kwargs
        assert titles(search.search("退款", language="zh-hans")) == ["退款多久到账"]
        assert search.suggest_for_text("refund batch retry", "en") == [] or all(
            h.article.is_public for h in search.suggest_for_text("refund batch retry", "en")
        )
        listed = {a.title for a in selectors.public_articles()}
        assert listed == {"How to get a refund", "退款多久到账"}
        assert selectors.public_article_get(slug=articles["internal"].slug, language="en") is None
        assert selectors.public_article_get(slug=articles["draft"].slug, language="en") is None
        assert selectors.public_popular(language="en") == [articles["public"]]
        [category] = selectors.public_categories(language="en")
        assert category.article_count == 1


def test_agents_also_find_internal_articles(tenant_a, articles):
    with tenant_context(tenant_a):
        found = titles(search.search("refund batch", language="en", audience="agent"))
        assert found[0] == "Refund batch failed: retry by hand"
        assert "Refund draft" not in found  # published only, unless asked
        every = search.search("refund", language="en", audience="agent",
                              statuses=tuple(Article.Status.values))  # fmt: skip
        assert {"Refund draft", "Old refund policy"} <= set(titles(every))


def test_an_unknown_audience_is_refused(tenant_a, articles):
    with tenant_context(tenant_a), pytest.raises(ValueError):
        search.search("refund", language="en", audience="everyone")


def test_language_filter_and_no_language(tenant_a, articles):
    with tenant_context(tenant_a):
        assert titles(search.search("退款", language="en")) == []
        assert titles(search.search("退款", language=None)) == ["退款多久到账"]
        assert titles(search.search("退款", language="zh-CN")) == ["退款多久到账"]  # normalised


def test_typos_and_short_chinese_queries(tenant_a, articles):
    with tenant_context(tenant_a):
        typo = search.search("refnud", language="en")
        assert titles(typo) == ["How to get a refund"] and typo.hits[0].matched_by == "similar"
        # One character that is no word of its own for jieba, inside a word of the text.
        assert titles(search.search("账", language="zh-hans")) == ["退款多久到账"]
        assert titles(search.search("到账", language="zh-hans")) == ["退款多久到账"]


def test_snippets_are_escaped_and_marked(tenant_a, section, admin):
    write(tenant_a, section, admin, "Refund <b>now</b>",
          "Long text " * 30 + "then the refund & <script>x</script> part.")  # fmt: skip
    with tenant_context(tenant_a):
        [hit] = search.search("refund", language="en").hits
    assert str(hit.title_html) == "<mark>Refund</mark> &lt;b&gt;now&lt;/b&gt;"
    assert "<mark>refund</mark> &amp; &lt;script&gt;" in str(hit.snippet_html)
    assert str(hit.snippet_html).startswith("… ")


def test_searches_with_no_result_are_logged(tenant_a, articles):
    with tenant_context(tenant_a):
        search.search("warranty extension", language="en")
        search.search("refund", language="en")
        search.search("保修", language="zh-hans", log=False)
        rows = list(SearchLog.objects.values_list("query", "language", "result_count"))
    assert rows == [("warranty extension", "en", 0)]


def test_empty_and_punctuation_queries_find_nothing_quietly(tenant_a, articles):
    with tenant_context(tenant_a):
        assert titles(search.search("", language="en")) == []
        assert titles(search.search("?!… ", language="en")) == []
        assert titles(search.search("refund:* | !x & (", language="en")) == ["How to get a refund"]
        assert not SearchLog.objects.filter(query="").exists()


def test_paging(tenant_a, section, admin):
    for n in range(5):
        write(tenant_a, section, admin, f"Refund case {n}", "refund")
    with tenant_context(tenant_a):
        first = search.search("refund", language="en", limit=3)
        second = search.search("refund", language="en", limit=3, offset=3)
    assert first.has_more and not second.has_more
    assert len(first.hits) == 3 and len(second.hits) == 2
    assert not {h.article.pk for h in first} & {h.article.pk for h in second}


def test_suggestions_for_a_ticket_text(tenant_a, articles):
    text = "Hello, my refund for order A-1029 has not reached my card yet. How long does it take?"
    with tenant_context(tenant_a):
        hits = search.suggest_for_text(text, "en", 3)
        assert [h.article.title for h in hits] == ["How to get a refund"]
        assert search.suggest_for_text("Printer on fire", "en", 3) == []
        zh = search.suggest_for_text("你好，我的退款什么时候到账？", "zh-hans", 3)
        assert [h.article.title for h in zh] == ["退款多久到账"]
        agent = search.suggest_for_text("refund batch failed", "en", 3, audience="agent")
        assert agent[0].article.title == "Refund batch failed: retry by hand"


def test_the_auto_reply_hook_is_registered_and_suggests_public_articles(tenant_a, articles):
    assert article_suggester in autoreply.ARTICLE_SUGGESTERS
    with tenant_context(tenant_a):
        found = article_suggester("Where is my refund? It has not reached my card", "", 3)
    assert [s.title for s in found] == ["How to get a refund"]
    assert found[0].url == f"http://alpha.localhost/kb/articles/{articles['public'].slug}/" or \
        found[0].url.endswith(f"/kb/articles/{articles['public'].slug}/")  # fmt: skip


def test_a_ticket_acknowledgement_lists_the_article(tenant_a, articles):
    """End to end through tickets.automation: {{ kb.articles }} in an auto-reply."""
    from tests.factories import make_ticket

    ticket = make_ticket(tenant_a, subject="Refund not on my card", body="Where is my refund?")
    with tenant_context(tenant_a):
        ticket.language = "en"
        text = autoreply.articles_text(ticket)
    assert "How to get a refund" in text and "/kb/articles/" in text
    assert "Refund batch failed" not in text

"""The help centre's behaviour: the reader's language with the tenant's default as fallback,
"Was this helpful?" once per visitor, views counted once per session, search (highlights,
bounded pages, the no-result state and its log), the public file route's headers, the staff
link, the branded home page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from knowledge.models import Article, ArticleFeedback, SearchLog
from tests.helpers import host_of, sign_in
from tests.knowledge.conftest import write

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def visitor(client, tenant_a):
    client.defaults["HTTP_HOST"] = host_of(tenant_a)
    return client


def _article(tenant, pk) -> Article:
    with tenant_context(tenant):
        return Article.objects.get(pk=pk)


def _zh(client):
    client.cookies["django_language"] = "zh-hans"
    return client


def test_a_chinese_reader_gets_chinese_articles_and_english_where_none(visitor, kb):
    body = _zh(visitor).get(reverse("knowledge:index")).content.decode()
    assert "如何申请退款" in body  # the translation, in place of the English one
    assert "How to get a refund" not in body
    assert "Delivery times" in body  # no Chinese version: the tenant's default stands in
    assert 'lang="en"' in body  # …marked as English
    assert '<html lang="zh-hans">' in body


def test_an_english_reader_gets_english_only(visitor, kb):
    body = visitor.get(reverse("knowledge:index")).content.decode()
    assert "How to get a refund" in body and "如何申请退款" not in body


def test_article_page_in_another_language_than_the_ui(visitor, kb):
    url = reverse("knowledge:article_public", kwargs={"slug": kb.delivery.slug})
    body = _zh(visitor).get(url).content.decode()
    assert '<article class="hc-article" lang="en">' in body
    visitor.cookies["django_language"] = "en"
    english = visitor.get(url).content.decode()
    assert '<article class="hc-article">' in english  # same language: no attribute


def test_article_page_head_and_body(visitor, kb):
    url = reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug})
    body = visitor.get(url).content.decode()
    host = host_of(kb.refund.tenant)
    assert f'<link rel="canonical" href="http://{host}{url}?lang=en">' in body
    # The translation kept the English slug: links to one language say which.
    zh_url = reverse("knowledge:article_public", kwargs={"slug": kb.refund_zh.slug})
    assert zh_url == url
    assert f'hreflang="zh-hans" href="http://{host}{zh_url}?lang=zh-hans"' in body
    assert f'<a href="{zh_url}?lang=zh-hans" hreflang="zh-hans" lang="zh-hans">' in body
    zh_page = visitor.get(zh_url + "?lang=zh-hans").content.decode()
    assert (
        "<h1>如何申请退款</h1>" in zh_page and f'href="http://{host}{url}?lang=zh-hans"' in zh_page
    )
    assert '<meta name="description" content="Ask for a refund within 30 days.">' in body
    assert "<strong>refund</strong>" in body
    assert "Edit in agent view" not in body


def test_customer_image_references_point_at_the_public_file_route(visitor, kb, tenant_a, admin):
    from knowledge import services

    with tenant_context(tenant_a):
        article = Article.objects.get(pk=kb.refund.pk)
        services.article_update(
            article=article, actor=admin, title=article.title,
            body=f"![Chart](attachment:{kb.image.pk})", section=article.section,
            visibility="public", reviewer=None, review_every_days=180,
        )  # fmt: skip
    body = visitor.get(reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug}))
    src = reverse("knowledge:file_public", kwargs={"file_id": kb.image.pk}) + "?inline=1"
    assert f'src="{src}"' in body.content.decode()


def test_staff_see_an_edit_link(client, tenant_a, agent, kb):
    sign_in(client, agent, tenant_a)
    body = client.get(reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug}))
    edit = reverse("knowledge:article", kwargs={"article_id": kb.refund.pk})
    assert f'href="{edit}"' in body.content.decode()


def test_views_count_once_per_session(client, tenant_a, customer, kb):
    url = reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug})
    before = _article(tenant_a, kb.refund.pk).view_count
    sign_in(client, customer, tenant_a)  # a visitor with a session
    for _ in range(3):
        assert client.get(url).status_code == 200
    assert _article(tenant_a, kb.refund.pk).view_count == before + 1


def test_views_without_a_session_count_once_per_address_and_browser(client, tenant_a, kb):
    url = reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug})
    before = _article(tenant_a, kb.refund.pk).view_count
    client.defaults["HTTP_HOST"] = host_of(tenant_a)
    for _ in range(3):
        response = client.get(url, REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Firefox")
        assert response.status_code == 200
        assert "sessionid" not in response.cookies  # no session row per anonymous hit
    assert _article(tenant_a, kb.refund.pk).view_count == before + 1
    client.get(url, REMOTE_ADDR="198.51.100.8", HTTP_USER_AGENT="Firefox")  # someone else
    assert _article(tenant_a, kb.refund.pk).view_count == before + 2


def test_feedback_counts_once_per_session_and_changes_with_the_answer(visitor, tenant_a, kb):
    url = reverse("knowledge:article_feedback", kwargs={"slug": kb.refund.slug})
    for _ in range(3):  # a refresh re-posting, a double click
        response = visitor.post(url, {"helpful": "yes", "language": "en"})
        assert response.status_code == 302
        assert response.url.endswith("#feedback")
    article = _article(tenant_a, kb.refund.pk)
    assert (article.helpful_count, article.not_helpful_count) == (1, 0)
    page = visitor.get(reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug}))
    assert "Thanks for your feedback!" in page.content.decode()
    visitor.post(url, {"helpful": "no", "language": "en", "comment": "Say how long it takes"})
    article = _article(tenant_a, kb.refund.pk)
    assert (article.helpful_count, article.not_helpful_count) == (0, 1)
    with tenant_context(tenant_a):
        feedback = ArticleFeedback.objects.get(article_id=kb.refund.pk)
    assert feedback.comment == "Say how long it takes" and feedback.contact is None


def test_feedback_with_htmx_swaps_in_the_thank_you_fragment(visitor, tenant_a, kb):
    url = reverse("knowledge:article_feedback", kwargs={"slug": kb.refund.slug})
    response = visitor.post(url, {"helpful": "no", "language": "en"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="feedback"')
    assert "Thanks for your feedback!" in body and "<html" not in body
    assert 'name="comment"' in body  # …and asks what was missing
    response = visitor.post(url, {"helpful": "no", "language": "en", "comment": "More"}, **HTMX)
    assert "Your comment reached our team." in response.content.decode()
    assert _article(tenant_a, kb.refund.pk).not_helpful_count == 1


def test_a_signed_in_customer_answers_as_themselves(client, tenant_a, customer, kb):
    sign_in(client, customer, tenant_a)
    url = reverse("knowledge:article_feedback", kwargs={"slug": kb.refund.slug})
    client.post(url, {"helpful": "yes", "language": "en"})
    client.post(url, {"helpful": "yes", "language": "en"})
    with tenant_context(tenant_a):
        feedback = ArticleFeedback.objects.get(article_id=kb.refund.pk)
        assert feedback.contact.user_id == customer.pk
    assert _article(tenant_a, kb.refund.pk).helpful_count == 1


def test_bad_feedback_is_refused(visitor, kb):
    url = reverse("knowledge:article_feedback", kwargs={"slug": kb.refund.slug})
    assert visitor.post(url, {"helpful": "maybe", "language": "en"}).status_code == 400
    assert visitor.get(url).status_code == 405
    # Delivery is published in English only (its Chinese translation is a draft).
    delivery = reverse("knowledge:article_feedback", kwargs={"slug": kb.delivery.slug})
    assert visitor.post(delivery, {"helpful": "yes", "language": "zh-hans"}).status_code == 404


def test_search_highlights_pages_and_bounds(visitor, kb):
    body = visitor.get(reverse("knowledge:search") + "?q=refund").content.decode()
    assert "<mark>" in body and "How to get a" in body
    deep = visitor.get(reverse("knowledge:search") + "?q=refund&page=500")
    assert deep.status_code == 200 and deep.context["page_number"] == 10
    for junk in ("x", "0", "-3"):
        response = visitor.get(reverse("knowledge:search") + f"?q=refund&page={junk}")
        assert response.context["page_number"] == 1 and "<mark>" in response.content.decode()


def test_no_result_offers_a_request_and_is_logged_once(visitor, tenant_a, kb):
    response = visitor.get(reverse("knowledge:search") + "?q=zzyzx+quux")
    body = response.content.decode()
    assert "No articles match" in body
    assert reverse("portal:request_new") in body
    with tenant_context(tenant_a):
        logs = list(SearchLog.objects.values_list("query", "audience"))
    assert logs == [("zzyzx quux", "customer")]


def test_a_chinese_reader_searching_english_words_finds_the_default_language(visitor, kb):
    body = _zh(visitor).get(reverse("knowledge:search") + "?q=parcels").content.decode()
    assert "Delivery times" in body


def test_public_file_route_headers(visitor, kb):
    response = visitor.get(reverse("knowledge:file_public", kwargs={"file_id": kb.image.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_public_file_route_never_renders_svg_or_html(visitor, tenant_a, admin, kb):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from knowledge import services

    with tenant_context(tenant_a):
        article = Article.objects.get(pk=kb.refund.pk)
        svg = services.attachment_add(article=article, actor=admin, upload=SimpleUploadedFile(
            "x.svg", b"<svg onload='alert(1)'/>", content_type="image/svg+xml"))  # fmt: skip
    response = visitor.get(reverse("knowledge:file_public", kwargs={"file_id": svg.pk}))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_home_page_is_the_branded_help_centre(visitor, kb):
    body = visitor.get("/").content.decode()
    assert 'action="/kb/search/"' in body
    assert "How to get a refund" in body  # popular
    assert "Refunds" in body  # a section of a category
    assert 'class="brand-mark hc-brand-mark"' in body  # no logo: the initial
    assert 'action="/portal/requests/new/"' in body  # the request form card stays
    assert reverse("accounts:login") in body


def test_faq_page_is_accordions(visitor, kb):
    body = visitor.get(reverse("knowledge:faq_public", kwargs={"faq_slug": kb.faq.slug}))
    text = body.content.decode()
    assert text.count("<details") == 2  # refund and delivery; the hidden four are left out
    assert "<summary>How to get a refund</summary>" in text


def test_list_pages_cost_the_same_queries_whatever_the_number_of_articles(visitor, tenant_a,
                                                                          admin, kb):  # fmt: skip
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from knowledge import services

    category = kb.refund.section.category
    slugs = {"category_slug": category.slug, "section_slug": kb.refund.section.slug}
    section = reverse("knowledge:section", kwargs=slugs)
    pages = ["/", reverse("knowledge:index"), reverse("knowledge:sitemap"), section]

    def counts() -> list[int]:
        result = []
        for path in pages:
            with CaptureQueriesContext(connection) as queries:
                assert visitor.get(path).status_code == 200
            result.append(len(queries))
        return result

    counts()  # warm: the host lookup and the session are cached after the first request
    before = counts()
    with tenant_context(tenant_a):
        other = services.section_save(actor=admin, category=category, name="Exchanges")
    for n in range(6):
        write(tenant_a, other if n % 2 else kb.refund.section, admin, f"Exchange rule {n}", "x")
    assert counts() == before


def test_feedback_is_rate_limited_per_address(visitor, tenant_a, kb, monkeypatch):
    from knowledge import views_public

    monkeypatch.setattr(views_public, "FEEDBACK_PER_IP", (2, 3600))
    url = reverse("knowledge:article_feedback", kwargs={"slug": kb.refund.slug})
    codes = [visitor.post(url, {"helpful": "yes", "language": "en"},
                          REMOTE_ADDR="203.0.113.9").status_code for _ in range(3)]  # fmt: skip
    assert codes == [302, 302, 429]
    assert _article(tenant_a, kb.refund.pk).helpful_count == 1


def test_a_chinese_tenant_shows_english_readers_its_chinese_articles(client, tenant_b, outsider):
    from knowledge import services

    with tenant_context(tenant_b):
        category = services.category_save(actor=outsider, name="订单")
        section = services.section_save(actor=outsider, category=category, name="退货")
    write(tenant_b, section, outsider, "退货运费谁付", "退货运费由我们承担。", language="zh-hans")
    client.cookies["django_language"] = "en"
    body = client.get(reverse("knowledge:index"), HTTP_HOST=host_of(tenant_b)).content.decode()
    assert "退货运费谁付" in body and 'lang="zh-hans"' in body
    assert '<html lang="en">' in body


def test_section_pages(visitor, tenant_a, admin, kb):
    from knowledge import views_public

    category = kb.refund.section.category
    url = reverse("knowledge:section", kwargs={"category_slug": category.slug,
                                               "section_slug": kb.refund.section.slug})  # fmt: skip
    for n in range(views_public.SECTION_PAGE):
        write(tenant_a, kb.refund.section, admin, f"Returns rule {n:02d}", "x")
    first = visitor.get(url)
    assert first.status_code == 200 and len(first.context["page"].object_list) == 20
    assert 'rel="next"' in first.content.decode()
    second = visitor.get(url + "?page=2").content.decode()
    assert "Page 2 of 2" in second and "Returns rule" in second
    for bad in ("?page=3", "?page=x", "?page=0"):
        assert visitor.get(url + bad).status_code == 404, bad

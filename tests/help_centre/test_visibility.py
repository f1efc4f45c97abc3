"""The publishing wall on every public page: drafts, articles in review, archived and internal
articles never appear — not on /, /kb/, category, section, article, search, FAQ, sitemap,
related or "other languages", nor through the file route — for a signed-out visitor and for a
signed-in customer. Their own addresses are 404s."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from tests.helpers import host_of, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["anonymous", "customer"])
def visitor(request, client, tenant_a):
    if request.param == "customer":
        return sign_in(client, request.getfixturevalue("customer"), tenant_a)
    client.defaults["HTTP_HOST"] = host_of(tenant_a)
    return client


def _pages(kb) -> list[str]:
    category = kb.refund.section.category
    return [
        "/",
        reverse("knowledge:index"),
        reverse("knowledge:category", kwargs={"category_slug": category.slug}),
        reverse(
            "knowledge:section",
            kwargs={"category_slug": category.slug, "section_slug": kb.refund.section.slug},
        ),  # fmt: skip
        reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug}),
        reverse("knowledge:article_public", kwargs={"slug": kb.refund_zh.slug}),
        reverse("knowledge:article_public", kwargs={"slug": kb.delivery.slug}),
        reverse("knowledge:search") + "?q=refund",
        reverse("knowledge:search") + "?q=secret",
        reverse("knowledge:search") + "?q=refund&page=2",
        reverse("knowledge:faq_public", kwargs={"faq_slug": kb.faq.slug}),
        reverse("knowledge:sitemap"),
    ]


def test_no_public_page_shows_a_hidden_article(visitor, kb):
    for path in _pages(kb):
        response = visitor.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert "Secret" not in body, path
        for article in kb.hidden.values():
            assert f"/kb/articles/{article.slug}/" not in body, (path, article.status)


def test_published_public_articles_are_listed(visitor, kb):
    body = visitor.get(reverse("knowledge:index")).content.decode()
    assert "How to get a refund" in body and "Delivery times" in body
    results = visitor.get(reverse("knowledge:search") + "?q=refund").content.decode()
    assert "<mark>refund</mark>" in results.lower()
    article = visitor.get(reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug}))
    assert "Delivery times" in article.content.decode()  # the related article that is public
    assert 'hreflang="zh-hans"' in article.content.decode()  # its published translation


def test_hidden_articles_and_their_files_are_404(visitor, kb):
    for key, article in kb.hidden.items():
        url = reverse("knowledge:article_public", kwargs={"slug": article.slug})
        assert visitor.get(url).status_code == 404, key
        feedback = reverse("knowledge:article_feedback", kwargs={"slug": article.slug})
        assert visitor.post(feedback, {"helpful": "yes", "language": "en"}).status_code == 404
        file_url = reverse("knowledge:file_public", kwargs={"file_id": kb.hidden_files[key].pk})
        assert visitor.get(file_url).status_code == 404, key


def test_the_untranslated_draft_is_not_an_other_language(visitor, kb):
    body = visitor.get(reverse("knowledge:article_public",
                               kwargs={"slug": kb.delivery.slug})).content.decode()  # fmt: skip
    assert 'hreflang="zh-hans"' not in body


def test_unpublishing_takes_an_article_off_at_once(visitor, kb, tenant_a, admin):
    from knowledge import services

    url = reverse("knowledge:article_public", kwargs={"slug": kb.delivery.slug})
    assert visitor.get(url).status_code == 200
    with tenant_context(tenant_a):
        services.article_archive(article=kb.delivery, actor=admin)
    assert visitor.get(url).status_code == 404
    assert kb.delivery.slug not in visitor.get(reverse("knowledge:sitemap")).content.decode()
    assert "Delivery times" not in visitor.get(reverse("knowledge:index")).content.decode()


def test_an_unknown_faq_category_or_section_is_404(visitor, kb):
    category = kb.refund.section.category
    for url in [
        reverse("knowledge:faq_public", kwargs={"faq_slug": "nope"}),
        reverse("knowledge:category", kwargs={"category_slug": "nope"}),
        reverse(
            "knowledge:section", kwargs={"category_slug": category.slug, "section_slug": "nope"}
        ),  # fmt: skip
        reverse("knowledge:article_public", kwargs={"slug": "nope"}),
    ]:
        assert visitor.get(url).status_code == 404, url


def test_another_tenants_host_knows_none_of_our_pages(client, tenant_b, kb):
    """Tenant B's host, with tenant A's slugs and file ids: 404 everywhere, and nothing of
    A's on B's index, search or sitemap."""
    client.defaults["HTTP_HOST"] = host_of(tenant_b)
    category = kb.refund.section.category
    for url in [
        reverse("knowledge:article_public", kwargs={"slug": kb.refund.slug}),
        reverse("knowledge:category", kwargs={"category_slug": category.slug}),
        reverse(
            "knowledge:section",
            kwargs={"category_slug": category.slug, "section_slug": kb.refund.section.slug},
        ),  # fmt: skip
        reverse("knowledge:faq_public", kwargs={"faq_slug": kb.faq.slug}),
        reverse("knowledge:file_public", kwargs={"file_id": kb.image.pk}),
    ]:
        assert client.get(url).status_code == 404, url
    feedback = reverse("knowledge:article_feedback", kwargs={"slug": kb.refund.slug})
    assert client.post(feedback, {"helpful": "yes", "language": "en"}).status_code == 404
    for path in ["/", reverse("knowledge:index"), reverse("knowledge:search") + "?q=refund",
                 reverse("knowledge:sitemap")]:  # fmt: skip
        body = client.get(path).content.decode()
        assert "how to get a refund" not in body.lower() and kb.refund.slug not in body, path

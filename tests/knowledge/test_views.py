"""Agent/admin pages under /agent/kb/: every page renders, the list filters and searches
(allow-listed parameters), the editor saves versions and previews with htmx, publishing
buttons follow the roles, history diffs and restores, files download safely, categories and
FAQ collections are administrators' pages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from knowledge import services
from knowledge.models import Article, Category, FAQCollection, Section
from tests.helpers import sign_in
from tests.knowledge.conftest import write

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def agent_client(client, tenant_a, agent):
    return sign_in(client, agent, tenant_a)


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


def test_every_page_renders_for_an_administrator(admin_client, tenant_a, section, admin,
                                                 settings, tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    article = write(tenant_a, section, admin, "How to get a refund", "# Refunds\n\nIn **5** days.")
    with tenant_context(tenant_a):
        services.article_update(
            article=article, actor=admin, title="How to get a refund",
            body="# Refunds\n\nIn **3** days.", section=section, visibility="public",
            reviewer=None, review_every_days=180,
        )  # fmt: skip
        faq = services.faq_save(actor=admin, name="Top", language="en")
        services.faq_add(actor=admin, collection=faq, article=article)
        version = article.versions.get(number=1)
    pages = [
        reverse("knowledge:agent_index"),
        reverse("knowledge:agent_index") + "?q=refund&status=published&language=en",
        reverse("knowledge:agent_index")
        + f"?category={section.category_id}&visibility=public&reviewed=90",
        reverse("knowledge:review_queue"),
        reverse("knowledge:stale"),
        reverse("knowledge:article_new"),
        reverse("knowledge:article", kwargs={"article_id": article.pk}),
        reverse("knowledge:article_edit", kwargs={"article_id": article.pk}),
        reverse("knowledge:article_history", kwargs={"article_id": article.pk}),
        reverse("knowledge:article_history", kwargs={"article_id": article.pk}) + "?old=1&new=2",
        reverse("knowledge:categories"),
        reverse("knowledge:category_edit", kwargs={"category_id": section.category_id}),
        reverse("knowledge:section_edit", kwargs={"section_id": section.pk}),
        reverse("knowledge:faq"),
        reverse("knowledge:faq_edit", kwargs={"faq_id": faq.pk}),
        reverse("knowledge:suggest") + "?q=refund+days",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    history = admin_client.get(pages[9]).content.decode()
    assert "In **5** days." in history and "In **3** days." in history
    assert version.number == 1
    # The knowledge item of the agent navigation leads here.
    assert reverse("knowledge:agent_index") in admin_client.get(pages[0]).content.decode()


def test_the_list_filters_and_ignores_junk(agent_client, tenant_a, section, admin):
    write(tenant_a, section, admin, "Published one")
    write(tenant_a, section, admin, "A draft", publish=False)
    url = reverse("knowledge:agent_index")
    body = agent_client.get(url + "?status=draft").content.decode()
    assert "A draft" in body and "Published one" not in body
    body = agent_client.get(url + "?status=author__password&category=x&page=-3").content.decode()
    assert "A draft" in body and "Published one" in body  # invalid filters fall back to none
    partial = agent_client.get(url + "?q=draft", **HTMX).content.decode()
    assert 'id="article-list"' in partial and "<html" not in partial
    assert "<mark>draft</mark>" in partial.lower()


def test_an_agent_writes_a_draft_and_submits_it_but_cannot_publish(agent_client, tenant_a,
                                                                   section, agent):  # fmt: skip
    response = agent_client.post(reverse("knowledge:article_new"), {
        "title": "Where is my parcel?", "section": section.pk, "language": "en",
        "visibility": "public", "body": "Track it **here**.", "review_every_days": 180,
    })  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        article = Article.objects.get(title="Where is my parcel?")
    assert article.status == "draft" and article.author == agent
    edit = reverse("knowledge:article_edit", kwargs={"article_id": article.pk})
    response = agent_client.post(edit, {
        "title": "Where is my parcel?", "section": section.pk, "visibility": "internal",
        "body": "Track it **there**.", "review_every_days": 90, "version": 1, "note": "wording",
    })  # fmt: skip
    assert response.status_code == 302
    # A second save based on version 1 is a conflict, shown on the form.
    old = {"title": "x", "section": section.pk, "visibility": "public", "body": "old",
           "review_every_days": 90, "version": 1}  # fmt: skip
    stale = agent_client.post(edit, old)
    assert stale.status_code == 400 and "Someone saved this article" in stale.content.decode()
    status = reverse("knowledge:article_status", kwargs={"article_id": article.pk})
    agent_client.post(status, {"action": "submit"})
    response = agent_client.post(status, {"action": "publish"}, follow=True)
    assert "Only an administrator" in response.content.decode()
    with tenant_context(tenant_a):
        article.refresh_from_db()
    assert (article.status, article.visibility, article.version) == ("review", "internal", 2)
    page = agent_client.get(reverse("knowledge:article", kwargs={"article_id": article.pk}))
    assert 'value="publish"' not in page.content.decode()


def test_the_reviewer_and_admin_publish_from_the_page(admin_client, tenant_a, section, agent):
    article = write(tenant_a, section, agent, "Refunds", publish=False)
    status = reverse("knowledge:article_status", kwargs={"article_id": article.pk})
    page = admin_client.get(reverse("knowledge:article", kwargs={"article_id": article.pk}))
    assert 'value="publish"' in page.content.decode()
    admin_client.post(status, {"action": "publish"})
    admin_client.post(status, {"action": "bogus"})
    with tenant_context(tenant_a):
        article.refresh_from_db()
    assert article.status == "published"


def test_live_preview_is_sanitised_markdown(agent_client):
    body = {"body": "**bold** <img src=x onerror=alert(1)>"}
    response = agent_client.post(reverse("knowledge:preview"), body, **HTMX)
    html = response.content.decode()
    assert 'id="preview"' in html and "<strong>bold</strong>" in html
    assert "onerror" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")


def test_restore_and_translate_from_the_pages(agent_client, tenant_a, section, agent):
    article = write(tenant_a, section, agent, "Refunds", "one", publish=False)
    with tenant_context(tenant_a):
        services.article_update(article=article, actor=agent, title="Refunds", body="two",
                                section=section, visibility="public", reviewer=None,
                                review_every_days=180)  # fmt: skip
        first = article.versions.get(number=1)
    kwargs = {"article_id": article.pk, "version_id": first.pk}
    agent_client.post(reverse("knowledge:version_restore", kwargs=kwargs))
    response = agent_client.post(reverse("knowledge:translate", kwargs={"article_id": article.pk}),
                                 {"language": "zh-hans"})  # fmt: skip
    with tenant_context(tenant_a):
        article.refresh_from_db()
        zh = Article.objects.get(language="zh-hans")
    assert (article.body, article.version) == ("one", 3)
    assert response.url == reverse("knowledge:article_edit", kwargs={"article_id": zh.pk})
    assert zh.translation_group == article.translation_group


def test_files_upload_and_download_safely(agent_client, tenant_a, section, agent, settings,
                                          tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    article = write(tenant_a, section, agent, "Label", publish=False)
    upload = reverse("knowledge:file_upload", kwargs={"article_id": article.pk})
    agent_client.post(upload, {"file": SimpleUploadedFile("label.png", b"\x89PNG", "image/png")})
    agent_client.post(upload, {"file": SimpleUploadedFile("x.svg", b"<svg/>", "image/svg+xml")})
    agent_client.post(upload, {"file": SimpleUploadedFile("evil.exe", b"MZ")})
    with tenant_context(tenant_a):
        png, svg = article.attachments.order_by("id")
        assert article.attachments.count() == 2
    inline = agent_client.get(reverse("knowledge:file", kwargs={"file_id": png.pk}) + "?inline=1")
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["Content-Security-Policy"] == "default-src 'none'; sandbox"
    svg_response = agent_client.get(
        reverse("knowledge:file", kwargs={"file_id": svg.pk}) + "?inline=1"
    )
    assert svg_response["Content-Disposition"].startswith("attachment")
    assert svg_response["Content-Type"] == "application/octet-stream"
    agent_client.post(reverse("knowledge:file_delete", kwargs={"file_id": svg.pk}))
    with tenant_context(tenant_a):
        assert list(article.attachments.all()) == [png]


def test_categories_sections_and_faq_are_for_administrators(admin_client, tenant_a, agent,
                                                            section):  # fmt: skip
    from django.test import Client

    agent_client = sign_in(Client(), agent, tenant_a)
    assert agent_client.get(reverse("knowledge:categories")).status_code == 403
    assert agent_client.get(reverse("knowledge:faq")).status_code == 403
    admin_client.post(
        reverse("knowledge:categories"),
        {"kind": "category", "cat-name": "Billing", "cat-icon": "briefcase", "cat-position": 1},
    )
    with tenant_context(tenant_a):
        billing = Category.objects.get(name="Billing")
    admin_client.post(reverse("knowledge:categories"), {"kind": "section", "sec-name": "Invoices",
                                                        "sec-category": billing.pk,
                                                        "sec-position": 0})  # fmt: skip
    bad = admin_client.post(reverse("knowledge:categories"), {"kind": "category", "cat-name": ""})
    assert bad.status_code == 400
    response = admin_client.post(reverse("knowledge:faq"), {"name": "Top", "language": "en",
                                                            "position": 0})  # fmt: skip
    with tenant_context(tenant_a):
        assert Section.objects.filter(category=billing, name="Invoices").exists()
        faq = FAQCollection.objects.get(name="Top")
        assert billing.slug == "billing"
    assert response.url == reverse("knowledge:faq_edit", kwargs={"faq_id": faq.pk})
    delete = reverse("knowledge:section_delete", kwargs={"section_id": section.pk})
    response = admin_client.post(delete, follow=True)
    assert response.status_code == 200


def test_suggest_fragment(agent_client, tenant_a, section, admin):
    write(tenant_a, section, admin, "How to get a refund", "refund card days")
    write(tenant_a, section, admin, "Refund batch retry", "refund batch", visibility="internal")
    body = agent_client.get(reverse("knowledge:suggest") + "?q=refund+batch+card").content.decode()
    assert "<mark>batch</mark> retry" in body and "Internal" in body and "<html" not in body

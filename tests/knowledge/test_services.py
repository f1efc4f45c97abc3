"""Publishing workflow, who may do what, versions (diff, restore), translations, feedback,
views, attachments and slugs (knowledge.services)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from knowledge import selectors, services
from knowledge.models import Article, ArticleEvent, ArticleFeedback, ArticleVersion
from knowledge.services import KnowledgeError
from tests.factories import ContactFactory
from tests.knowledge.conftest import write
from tickets.automation.models import Notification

pytestmark = pytest.mark.django_db
S = Article.Status


def test_a_draft_goes_through_review_to_published_and_archived(
    tenant_a, section, agent, admin, reviewer
):
    article = write(tenant_a, section, agent, "How to request a refund", "Open **Orders**.",
                    publish=False, reviewer=reviewer)  # fmt: skip
    with tenant_context(tenant_a):
        assert article.status == S.DRAFT and article.version == 1
        assert "<strong>Orders</strong>" in article.body_html
        article = services.article_submit(article=article, actor=agent)
        assert article.status == S.REVIEW
        # The reviewer is told, once.
        assert (
            Notification.objects.filter(recipient=reviewer, key__startswith="kb-review:").count()
            == 1
        )
        with pytest.raises(KnowledgeError):
            services.article_publish(article=article, actor=agent)  # an agent may not
        article = services.article_publish(article=article, actor=reviewer)
        assert article.status == S.PUBLISHED
        assert article.published_at and article.last_reviewed_at and article.review_due_at
        first_published = article.published_at
        with pytest.raises(KnowledgeError):
            services.article_archive(article=article, actor=agent)
        article = services.article_archive(article=article, actor=admin)
        assert article.status == S.ARCHIVED
        article = services.article_return_to_draft(article=article, actor=admin)
        article = services.article_publish(article=article, actor=admin)
        assert article.published_at == first_published  # first publication date is kept
        kinds = list(ArticleEvent.objects.filter(article=article).order_by("id")
                     .values_list("kind", flat=True))  # fmt: skip
        assert kinds == ["created", "submitted", "published", "archived", "returned", "published"]


def test_a_step_from_the_wrong_status_is_refused(tenant_a, section, admin):
    article = write(tenant_a, section, admin, "Delivery times")
    with tenant_context(tenant_a), pytest.raises(KnowledgeError):
        services.article_submit(article=article, actor=admin)  # already published


def test_only_publishers_change_a_published_article(tenant_a, section, agent, admin, reviewer):
    article = write(tenant_a, section, agent, "Refunds", "v1", publisher=admin, reviewer=reviewer)
    fields = {"title": "Refunds", "body": "v2", "section": section, "visibility": "public",
              "reviewer": reviewer, "review_every_days": 180}  # fmt: skip
    with tenant_context(tenant_a):
        with pytest.raises(KnowledgeError):
            services.article_update(article=article, actor=agent, **fields)
        article = services.article_update(article=article, actor=reviewer, **fields)
        assert article.body == "v2" and article.version == 2 and article.status == S.PUBLISHED


def test_every_save_is_a_version_with_a_diff_and_restore_makes_a_new_one(tenant_a, section, agent):
    article = write(tenant_a, section, agent, "Tracking", "line one\nline two", publish=False)
    common = {"section": section, "visibility": "public", "reviewer": None,
              "review_every_days": 180}  # fmt: skip
    with tenant_context(tenant_a):
        article = services.article_update(article=article, actor=agent, title="Tracking parcels",
                                          body="line one\nline 2\nline three", note="fix",
                                          **common)  # fmt: skip
        # Settings only: no new version.
        article = services.article_update(article=article, actor=agent,
                                          title="Tracking parcels", body=article.body,
                                          **{**common, "review_every_days": 90})  # fmt: skip
        versions = list(selectors.versions_of(article))
        assert [v.number for v in versions] == [2, 1]
        diff = selectors.version_diff(versions[1], versions[0])
        assert diff["title_changed"] and (diff["added"], diff["removed"]) == (2, 1)
        assert [(x.kind, x.text) for x in diff["lines"]] == [
            ("same", "line one"), ("removed", "line two"), ("added", "line 2"),
            ("added", "line three"),
        ]  # fmt: skip
        article = services.article_restore(article=article, version=versions[1], actor=agent)
        assert (article.title, article.body, article.version) == (
            "Tracking",
            "line one\nline two",
            3,
        )
        assert ArticleVersion.objects.get(article=article, number=3).note == "Restored version 1"


def test_an_edit_on_an_old_version_is_a_conflict(tenant_a, section, agent):
    article = write(tenant_a, section, agent, "Tracking", "a", publish=False)
    common = {"section": section, "visibility": "public", "reviewer": None,
              "review_every_days": 180, "title": "Tracking"}  # fmt: skip
    with tenant_context(tenant_a):
        services.article_update(article=article, actor=agent, body="b", expected_version=1,
                                **common)  # fmt: skip
        with pytest.raises(KnowledgeError):
            services.article_update(article=article, actor=agent, body="c", expected_version=1,
                                    **common)  # fmt: skip


def test_a_translation_is_linked_and_one_per_language(tenant_a, section, agent):
    article = write(tenant_a, section, agent, "How to request a refund", "Open Orders.")
    with tenant_context(tenant_a):
        zh = services.article_translate(article=article, language="zh-hans", actor=agent)
        assert zh.translation_group == article.translation_group and zh.status == S.DRAFT
        assert zh.language == "zh-hans" and zh.slug == article.slug  # slugs are per language
        again = services.article_translate(article=article, language="zh-hans", actor=agent)
        assert again.pk == zh.pk
        assert [t.pk for t in selectors.translations_of(article)] == [zh.pk]
        # The public side shows only published translations.
        assert selectors.public_translations(article) == []
        services.article_update(article=zh, actor=agent, title="如何申请退款", body="打开订单。",
                                section=section, visibility="public", reviewer=None,
                                review_every_days=180)  # fmt: skip
        assert Article.objects.get(pk=zh.pk).slug == article.slug  # the address stays
        with pytest.raises(KnowledgeError):
            services.article_create(actor=agent, section=section, title="dup", language="zh-hans",
                                    translation_group=article.translation_group)  # fmt: skip


def test_slugs_are_unique_per_language(tenant_a, section, agent):
    first = write(tenant_a, section, agent, "Refunds")
    second = write(tenant_a, section, agent, "Refunds")
    chinese = write(tenant_a, section, agent, "如何申请退款", language="zh-hans")
    assert (first.slug, second.slug, chinese.slug) == ("refunds", "refunds-2", "如何申请退款")


def test_feedback_is_one_answer_per_visitor_and_moves_the_counts(tenant_a, section, agent):
    article = write(tenant_a, section, agent, "Refunds")
    contact = ContactFactory(tenant=tenant_a)
    with tenant_context(tenant_a):
        services.article_feedback_record(article=article, helpful=True, contact=contact)
        services.article_feedback_record(article=article, helpful=False, comment="Too short",
                                         contact=contact)  # fmt: skip
        services.article_feedback_record(article=article, helpful=True, session_key="s1")
        services.article_feedback_record(article=article, helpful=True, session_key="s1")
        services.article_view_record(article=article)
        article.refresh_from_db()
        assert (article.helpful_count, article.not_helpful_count, article.view_count) == (1, 1, 1)
        assert ArticleFeedback.objects.count() == 2
        assert [f.comment for f in selectors.feedback_of(article)] == ["Too short"]
        with pytest.raises(KnowledgeError):
            services.article_feedback_record(article=article, helpful=True)  # nobody
        draft = write(tenant_a, section, agent, "Draft", publish=False)
        with pytest.raises(KnowledgeError):
            services.article_feedback_record(article=draft, helpful=True, session_key="s1")


def test_attachments_are_validated_and_referenced_from_markdown(tenant_a, section, agent,
                                                                settings, tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    article = write(tenant_a, section, agent, "Return label", publish=False)
    with tenant_context(tenant_a):
        image = services.attachment_add(
            article=article, actor=agent,
            upload=SimpleUploadedFile("label.png", b"\x89PNG\r\n", "image/png"),
        )  # fmt: skip
        svg = services.attachment_add(
            article=article, actor=agent,
            upload=SimpleUploadedFile("logo.svg", b"<svg onload=alert(1)>", "image/svg+xml"),
        )  # fmt: skip
        with pytest.raises(services.AttachmentError):
            services.attachment_add(article=article, actor=agent,
                                    upload=SimpleUploadedFile("run.exe", b"MZ"))  # fmt: skip
        assert image.is_image and not svg.is_image
        body = (
            f"![label](attachment:{image.pk}) [logo](attachment:{svg.pk}) ![x](attachment:999999)"
        )
        article = services.article_update(article=article, actor=agent, title="Return label",
                                          body=body, section=section, visibility="public",
                                          reviewer=None, review_every_days=180)  # fmt: skip
        shown = selectors.article_html(article, audience="agent")
        assert f'src="/agent/kb/files/{image.pk}/?inline=1"' in shown
        assert f'href="/agent/kb/files/{svg.pk}/"' in shown  # a download, never inline
        assert 'src=""' in shown  # not this article's file: emptied
        services.attachment_delete(attachment=svg, actor=agent)
        assert [a.pk for a in selectors.attachments_of(article)] == [image.pk]


def test_markdown_is_sanitised(tenant_a, section, agent):
    body = ("<script>alert(1)</script>\n\n[x](javascript:alert(1)) ![t](https://tracker.example/p.gif)"
            "\n\n| a | b |\n|:-|-:|\n| 1 | 2 |")  # fmt: skip
    article = write(tenant_a, section, agent, "Unsafe", body, publish=False)
    html = article.body_html
    assert "<script>" not in html and 'href="javascript' not in html
    assert "tracker.example" not in html and '<img alt="t">' in html  # remote image dropped
    assert "&lt;script&gt;" in html  # shown as text, not run
    assert "<table>" in html and 'style="text-align:right"' in html


def test_categories_and_sections_refuse_deleting_what_is_in_use(tenant_a, section, agent, admin):
    write(tenant_a, section, agent, "Refunds")
    with tenant_context(tenant_a):
        with pytest.raises(KnowledgeError):
            services.section_delete(actor=admin, section=section)
        with pytest.raises(KnowledgeError):
            services.category_delete(actor=admin, category=section.category)
        assert AuditEvent.objects.filter(action="kb.section_created").exists()


def test_faq_collection_keeps_order_and_hides_what_customers_may_not_see(tenant_a, section, admin):
    first = write(tenant_a, section, admin, "First")
    second = write(tenant_a, section, admin, "Second")
    internal = write(tenant_a, section, admin, "Internal", visibility="internal")
    zh = write(tenant_a, section, admin, "中文", language="zh-hans")
    with tenant_context(tenant_a):
        faq = services.faq_save(actor=admin, name="Top questions", language="en")
        for article in (first, second, internal):
            services.faq_add(actor=admin, collection=faq, article=article)
        with pytest.raises(KnowledgeError):
            services.faq_add(actor=admin, collection=faq, article=zh)
        item = faq.items.get(article=second)
        services.faq_move(actor=admin, collection=faq, item_id=item.pk, direction="up")
        assert [a.title for a in selectors.faq_public_articles(faq)] == ["Second", "First"]
        collection, articles = selectors.public_faq(slug=faq.slug, language="en")
        assert collection == faq and internal not in articles

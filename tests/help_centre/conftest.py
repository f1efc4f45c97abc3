"""Help-centre fixtures: tenant A (English by default) with a published article and its
Chinese translation, an English-only article, a related link, an FAQ collection, and one
article in every state a customer must never see (draft, in review, archived, internal), each
with "Secret" in its title and a file of its own."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.tenancy.context import tenant_context
from knowledge import services
from knowledge.models import Article, ArticleAttachment, FAQCollection
from tests.knowledge.conftest import section, write  # noqa: F401 - fixture re-exported

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
       b"\x9a\xa5\x18\x00\x00\x00\x00IEND\xaeB`\x82")  # fmt: skip


@dataclass
class KB:
    refund: Article  # published public, en
    refund_zh: Article  # its published public translation
    delivery: Article  # published public, en only (the fallback for Chinese readers)
    hidden: dict[str, Article]  # draft, review, archived, internal
    faq: FAQCollection
    image: ArticleAttachment  # of `refund`
    hidden_files: dict[str, ArticleAttachment]


def _upload(name: str, content: bytes = PNG, content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def kb(tenant_a, admin, section, settings, tmp_path) -> KB:  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    refund = write(tenant_a, section, admin, "How to get a refund",
                   "Ask for a **refund** within 30 days.")  # fmt: skip
    delivery = write(tenant_a, section, admin, "Delivery times",
                     "Parcels arrive in 2 days; a refund is possible if late.")  # fmt: skip
    hidden = {
        "draft": write(
            tenant_a, section, admin, "Secret draft refund plan", "refund draft", publish=False
        ),  # fmt: skip
        "review": write(
            tenant_a, section, admin, "Secret review refund memo", "refund review", publish=False
        ),  # fmt: skip
        "archived": write(
            tenant_a, section, admin, "Secret archived refund policy", "refund archived"
        ),  # fmt: skip
        "internal": write(
            tenant_a,
            section,
            admin,
            "Secret internal refund runbook",
            "refund internal",
            visibility=Article.Visibility.INTERNAL,
        ),  # fmt: skip
    }
    with tenant_context(tenant_a):
        services.article_submit(article=hidden["review"], actor=admin)
        services.article_archive(article=hidden["archived"], actor=admin)
        zh = services.article_translate(article=refund, language="zh-hans", actor=admin)
        zh = services.article_update(
            article=zh, actor=admin, title="如何申请退款", body="三十天内可以申请**退款**。",
            section=section, visibility="public", reviewer=None, review_every_days=180,
        )  # fmt: skip
        zh = services.article_publish(article=zh, actor=admin)
        # A hidden translation must not show up as "other language" of delivery.
        services.article_translate(article=delivery, language="zh-hans", actor=admin)
        refund = services.article_update(
            article=refund, actor=admin, title=refund.title, body=refund.body,
            section=section, visibility="public", reviewer=None, review_every_days=180,
            related=[delivery, *hidden.values()],
        )  # fmt: skip
        faq = services.faq_save(actor=admin, name="Top questions", language="en")
        for article in [refund, delivery, *hidden.values()]:
            services.faq_add(actor=admin, collection=faq, article=article)
        image = services.attachment_add(article=refund, upload=_upload("chart.png"), actor=admin)
        hidden_files = {
            key: services.attachment_add(article=a, upload=_upload(f"{key}.png"), actor=admin)
            for key, a in hidden.items()
        }
        refund = Article.objects.select_related("section__category").get(pk=refund.pk)
    return KB(refund, zh, delivery, hidden, faq, image, hidden_files)

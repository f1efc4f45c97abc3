"""Knowledge base reads.

Customer-facing (the public /kb/ site, the portal, deflection): `public_*`, `search(...,
audience="customer")`, `attachment_get_public`, `article_html(..., audience="customer")`. They
return published public articles only, whatever they are asked; build customer pages on these
and nothing else. Staff-facing: `article_list`, `article_get`, review queue, stale list,
versions and their diff.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from django.db.models import Count, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from helpdesk.accounts.models import User

from . import markdown
from .models import (
    Article,
    ArticleAttachment,
    ArticleEvent,
    ArticleFeedback,
    ArticleVersion,
    Category,
    FAQCollection,
    FAQItem,
    Section,
)
from .search import SearchResult, search, suggest_for_text

Status = Article.Status
PUBLIC = Q(status=Status.PUBLISHED, visibility=Article.Visibility.PUBLIC)

__all__ = ["search", "suggest_for_text", "SearchResult"]


# --- Customer-facing ------------------------------------------------------------------------


def public_articles(
    *,
    language: str | None = None,
    category_id: int | None = None,
    section_id: int | None = None,
) -> QuerySet[Article]:
    """Published public articles, newest first."""
    rows = Article.objects.filter(PUBLIC).select_related("section", "section__category")
    if language:
        rows = rows.filter(language=language)
    if category_id:
        rows = rows.filter(section__category_id=category_id)
    if section_id:
        rows = rows.filter(section_id=section_id)
    return rows.order_by("-published_at", "-id")


def public_article_get(*, slug: str, language: str) -> Article | None:
    return public_articles(language=language).filter(slug=slug).first()


def public_popular(*, language: str, limit: int = 10) -> list[Article]:
    return list(public_articles(language=language).order_by("-view_count", "-id")[:limit])


def public_categories(*, language: str) -> list[Category]:
    """Categories with at least one public article in `language`, each with `.article_count`
    and `.public_sections` (sections that have some)."""
    sections = (
        Section.objects.annotate(
            article_count=Count(
                "articles",
                filter=Q(
                    articles__status=Status.PUBLISHED,
                    articles__visibility=Article.Visibility.PUBLIC,
                    articles__language=language,
                ),
            )  # fmt: skip
        )
        .filter(article_count__gt=0)
        .select_related("category")
        .order_by("category__position", "category__name", "position", "name")
    )
    categories: dict[int, Category] = {}
    for section in sections:
        category = categories.setdefault(section.category_id, section.category)
        if not hasattr(category, "public_sections"):
            category.public_sections = []
            category.article_count = 0
        category.public_sections.append(section)
        category.article_count += section.article_count
    return list(categories.values())


def public_translations(article: Article) -> list[Article]:
    """The other languages of a published public article, published and public too."""
    return list(
        Article.objects.filter(PUBLIC, translation_group=article.translation_group)
        .exclude(pk=article.pk)
        .only("pk", "title", "slug", "language")
    )


def public_related(article: Article, *, limit: int = 5) -> list[Article]:
    return list(
        Article.objects.filter(PUBLIC, pk__in=article.related_links.values("related_id"))
        .order_by("title")
        .only("pk", "title", "slug", "language")[:limit]
    )


def public_faq(*, slug: str, language: str) -> tuple[FAQCollection | None, list[Article]]:
    collection = FAQCollection.objects.filter(slug=slug, language=language).first()
    if collection is None:
        return None, []
    return collection, faq_public_articles(collection)


def faq_public_articles(collection: FAQCollection) -> list[Article]:
    items = FAQItem.objects.filter(collection=collection).filter(
        article__status=Status.PUBLISHED, article__visibility=Article.Visibility.PUBLIC
    )
    return [item.article for item in items.select_related("article").order_by("position", "id")]


def attachment_get_public(file_id: int) -> ArticleAttachment | None:
    """A file a customer may download: one of a published public article."""
    return (
        ArticleAttachment.objects.filter(
            pk=file_id,
            article__status=Status.PUBLISHED,
            article__visibility=Article.Visibility.PUBLIC,
        )  # fmt: skip
        .select_related("article")
        .first()
    )


def _file_url(name: str, file_id: int, inline: bool) -> str | None:
    try:
        url = reverse(name, kwargs={"file_id": file_id})
    except NoReverseMatch:
        return None
    return url + ("?inline=1" if inline else "")


def article_html(article: Article, *, audience: Literal["customer", "agent"]) -> str:
    """The stored (sanitised) HTML with its `attachment:` references turned into URLs this
    reader may open; references to anything but this article's own files are emptied.
    Customers' URLs come from the public site's `knowledge:file_public` route once it
    exists; until then their images are left empty."""
    files = {f.pk: f for f in ArticleAttachment.objects.filter(article=article)
             .only("pk", "filename", "content_type")}  # fmt: skip
    name = "knowledge:file" if audience == "agent" else "knowledge:file_public"

    def url_for(file_id: int) -> str | None:
        attachment = files.get(file_id)
        if attachment is None:
            return None
        return _file_url(name, file_id, attachment.is_image)

    return markdown.expand_files(article.body_html, url_for)


# --- Staff-facing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleFilters:
    """The agent list's filters, already validated (knowledge.forms.ArticleFilterForm)."""

    query: str = ""
    status: str = ""
    language: str = ""
    category_id: int | None = None
    visibility: str = ""
    reviewed_days: int | None = None  # last reviewed more than N days ago (or never)


def article_list(filters: ArticleFilters) -> QuerySet[Article]:
    rows = Article.objects.select_related("section", "section__category", "author")
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.language:
        rows = rows.filter(language=filters.language)
    if filters.category_id:
        rows = rows.filter(section__category_id=filters.category_id)
    if filters.visibility:
        rows = rows.filter(visibility=filters.visibility)
    if filters.reviewed_days:
        before = timezone.now() - timedelta(days=filters.reviewed_days)
        rows = rows.filter(Q(last_reviewed_at__lt=before) | Q(last_reviewed_at__isnull=True))
    return rows.defer("body", "body_html", "body_text", "search_title", "search_body").order_by(
        "-updated_at", "-id"
    )


def article_search_for_staff(filters: ArticleFilters, *, limit: int, offset: int) -> SearchResult:
    """The agent list with a search query: every status unless one is chosen."""
    statuses = (filters.status,) if filters.status else tuple(Status.values)
    return search(
        filters.query, language=filters.language or None, audience="agent", limit=limit,
        offset=offset, statuses=statuses, visibility=filters.visibility or None,
        category_id=filters.category_id, log=False,
    )  # fmt: skip


def article_get(article_id: int) -> Article | None:
    return (
        Article.objects.select_related("section", "section__category", "author", "reviewer")
        .filter(pk=article_id)
        .first()
    )


def translations_of(article: Article) -> list[Article]:
    return list(
        Article.objects.filter(translation_group=article.translation_group)
        .exclude(pk=article.pk)
        .only("pk", "title", "language", "status", "visibility")
    )


def related_of(article: Article) -> list[Article]:
    return [
        link.related
        for link in article.related_links.select_related("related").order_by("position", "id")
    ]


def related_choices(article: Article | None, language: str) -> QuerySet[Article]:
    rows = Article.objects.filter(language=language).exclude(status=Status.ARCHIVED)
    if article is not None:
        rows = rows.exclude(pk=article.pk)
    return rows.only("pk", "title", "status").order_by("title")


def versions_of(article: Article) -> QuerySet[ArticleVersion]:
    return (
        ArticleVersion.objects.filter(article=article).select_related("author").order_by("-number")
    )


def events_of(article: Article, *, limit: int = 50) -> list[ArticleEvent]:
    return list(ArticleEvent.objects.filter(article=article).select_related("actor")[:limit])


def feedback_of(article: Article, *, limit: int = 20) -> list[ArticleFeedback]:
    return list(
        ArticleFeedback.objects.filter(article=article).exclude(comment="")
        .select_related("contact")[:limit]
    )  # fmt: skip


def attachments_of(article: Article) -> list[ArticleAttachment]:
    return list(ArticleAttachment.objects.filter(article=article).order_by("id"))


def attachment_get(file_id: int) -> ArticleAttachment | None:
    """Staff: any file of this tenant's articles (internal and drafts included)."""
    return ArticleAttachment.objects.filter(pk=file_id).select_related("article").first()


def review_queue(user: User) -> QuerySet[Article]:
    """Articles waiting for review: the ones this user reviews first."""
    return (
        Article.objects.filter(status=Status.REVIEW)
        .select_related("section", "author", "reviewer")
        .order_by("updated_at", "id")
    )


def stale_articles() -> QuerySet[Article]:
    """Published articles whose review is due (last reviewed + its review interval passed)."""
    return (
        Article.objects.filter(status=Status.PUBLISHED, review_due_at__lt=timezone.now())
        .select_related("section", "author", "reviewer")
        .order_by("review_due_at", "id")
    )


def status_counts() -> dict[str, int]:
    rows = Article.objects.values("status").annotate(n=Count("id")).order_by()
    counts = {s: 0 for s in Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def categories_with_sections() -> list[Category]:
    categories = list(
        Category.objects.annotate(section_count=Count("sections")).order_by("position", "name")
    )
    sections = Section.objects.annotate(article_count=Count("articles")).order_by(
        "position", "name"
    )
    by_category: dict[int, list[Section]] = {}
    for section in sections:
        by_category.setdefault(section.category_id, []).append(section)
    for category in categories:
        category.section_list = by_category.get(category.pk, [])
    return categories


def section_choices() -> QuerySet[Section]:
    return Section.objects.select_related("category").order_by(
        "category__position", "category__name", "position", "name"
    )


def faq_collections() -> QuerySet[FAQCollection]:
    return FAQCollection.objects.annotate(item_count=Count("items")).order_by("position", "name")


def faq_items(collection: FAQCollection) -> list[FAQItem]:
    return list(
        FAQItem.objects.filter(collection=collection)
        .select_related("article")
        .order_by("position", "id")
    )


# --- Versions and their differences ---------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: Literal["same", "added", "removed", "gap"]
    old_number: int | None
    new_number: int | None
    text: str


def version_diff(old: ArticleVersion, new: ArticleVersion, *, context: int = 3) -> dict:
    """Line diff (difflib) of two versions' text, plus whether the title changed."""
    old_lines, new_lines = old.body.splitlines(), new.body.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("gap", None, None, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine("same", i + 1, j + 1, old_lines[i])
                          for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]  # fmt: skip
                continue
            lines += [DiffLine("removed", i + 1, None, old_lines[i]) for i in range(i1, i2)]
            lines += [DiffLine("added", None, j + 1, new_lines[j]) for j in range(j1, j2)]
    added = sum(1 for line in lines if line.kind == "added")
    removed = sum(1 for line in lines if line.kind == "removed")
    return {
        "old": old,
        "new": new,
        "lines": lines,
        "title_changed": old.title != new.title,
        "added": added,
        "removed": removed,
    }


def public_article_url(article: Article, *, absolute: bool = False) -> str:
    """Where customers read `article` (DESIGN.md §3: /kb/articles/<slug>/). Slugs are unique
    per language, so the public site looks the slug up in the reader's language first."""
    try:
        path = reverse("knowledge:article_public", kwargs={"slug": article.slug})
    except NoReverseMatch:
        path = f"/kb/articles/{article.slug}/"
    if not absolute:
        return path
    from helpdesk.tenancy.context import require_current_tenant
    from helpdesk.tenancy.resolve import tenant_base_url

    return tenant_base_url(require_current_tenant()) + path


def public_article_link(article: Article) -> str:
    """The article's own address in its language. Slugs are unique per language only (a
    translation often keeps its source's slug), so links that must reach this one language —
    canonical, hreflang alternates, "other languages", the sitemap, suggestions — say which."""
    return f"{public_article_url(article)}?lang={article.language}"

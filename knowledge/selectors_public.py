"""Reads of the public help centre (/ and /kb/), built on the customer-facing wall in
knowledge.selectors: every row here comes from `public_articles` (published and public), so
nothing in this module can show a draft, an article in review, an archived or an internal one.

The reader's language comes first; where an article has no translation in it, the tenant's
default language stands in ("fallback"). A translated article is shown once, in the reader's
language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet

from .models import Article, Category, FAQCollection, Section
from .selectors import faq_public_articles, public_article_get, public_articles

SITEMAP_URLS = 5_000  # URLs per sitemap file (the protocol allows 50,000; keep pages light)


def reader_articles(*, language: str, fallback: str) -> QuerySet[Article]:
    """Published public articles for a reader of `language`: theirs, plus the `fallback`
    language's articles that have no published public translation in `language`."""
    if not fallback or fallback == language:
        return public_articles(language=language)
    translated = public_articles(language=language).order_by().values("translation_group")
    return public_articles().filter(
        Q(language=language) | (Q(language=fallback) & ~Q(translation_group__in=translated))
    )


def reader_categories(*, language: str, fallback: str) -> list[Category]:
    """Categories with something to read, each with `.public_sections` (sections with their
    `.article_count`) and `.article_count`, in the editors' order."""
    counts = dict(
        reader_articles(language=language, fallback=fallback)
        .order_by()
        .values_list("section_id")
        .annotate(n=Count("id"))
    )
    sections = (
        Section.objects.filter(pk__in=list(counts))
        .select_related("category")
        .order_by("category__position", "category__name", "position", "name")
    )
    categories: dict[int, Category] = {}
    for section in sections:
        section.article_count = counts[section.pk]
        category = categories.setdefault(section.category_id, section.category)
        if not hasattr(category, "public_sections"):
            category.public_sections = []
            category.article_count = 0
        category.public_sections.append(section)
        category.article_count += section.article_count
    return list(categories.values())


def reader_category(*, slug: str, language: str, fallback: str) -> Category | None:
    """A category with its public sections, or None when it has nothing public to read
    (an internal-only category is not shown to customers, not even its name)."""
    for category in reader_categories(language=language, fallback=fallback):
        if category.slug == slug:
            return category
    return None


def reader_section(*, category_slug: str, slug: str, language: str, fallback: str
                   ) -> Section | None:  # fmt: skip
    section = (
        Section.objects.filter(category__slug=category_slug, slug=slug)
        .select_related("category")
        .first()
    )
    if section is None:
        return None
    rows = reader_articles(language=language, fallback=fallback).filter(section=section)
    return section if rows.exists() else None


def reader_section_articles(*, section: Section, language: str, fallback: str
                            ) -> QuerySet[Article]:  # fmt: skip
    return (
        reader_articles(language=language, fallback=fallback)
        .filter(section=section)
        .defer("body", "body_html", "search_title", "search_body")
        .order_by("title", "id")
    )


def reader_popular(*, language: str, fallback: str, limit: int = 8) -> list[Article]:
    return list(
        reader_articles(language=language, fallback=fallback)
        .defer("body", "body_html", "body_text", "search_title", "search_body")
        .order_by("-view_count", "-id")[:limit]
    )


def reader_faqs(*, language: str, fallback: str) -> list[FAQCollection]:
    """FAQ collections of the reader's language (else the fallback's) with at least one
    published public article."""
    public = Q(items__article__status=Article.Status.PUBLISHED,
               items__article__visibility=Article.Visibility.PUBLIC)  # fmt: skip
    for lang in dict.fromkeys([language, fallback]):
        if not lang:
            continue
        rows = list(
            FAQCollection.objects.filter(language=lang)
            .annotate(public_count=Count("items", filter=public))
            .filter(public_count__gt=0)
            .order_by("position", "name")
        )
        if rows:
            return rows
    return []


def reader_faq(*, slug: str, language: str, fallback: str
               ) -> tuple[FAQCollection | None, list[Article]]:  # fmt: skip
    """An FAQ collection by slug, the reader's language first, then any language."""
    collection = (
        FAQCollection.objects.filter(slug=slug, language=language).first()
        or FAQCollection.objects.filter(slug=slug, language=fallback).first()
        or FAQCollection.objects.filter(slug=slug).order_by("id").first()
    )
    if collection is None:
        return None, []
    articles = faq_public_articles(collection)
    return (collection, articles) if articles else (None, [])


def reader_article(*, slug: str, language: str, fallback: str) -> Article | None:
    """The article at /kb/articles/<slug>/: slugs are unique per language, so the reader's
    language first, then the tenant's default, then any."""
    return (
        public_article_get(slug=slug, language=language)
        or (fallback and public_article_get(slug=slug, language=fallback))
        or public_articles().filter(slug=slug).order_by("id").first()
    )


# --- Sitemap ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SitemapArticle:
    article: Article
    alternates: list[Article]  # every published public language of it, itself included


def sitemap_counts() -> tuple[int, int]:
    """(categories with public articles, published public articles), every language."""
    articles = public_articles()
    categories = (
        Category.objects.filter(
            sections__articles__status=Article.Status.PUBLISHED,
            sections__articles__visibility=Article.Visibility.PUBLIC,
        )
        .distinct()
        .count()
    )
    return categories, articles.count()


def sitemap_categories() -> list[tuple[Category, datetime | None]]:
    rows = (
        Category.objects.filter(
            sections__articles__status=Article.Status.PUBLISHED,
            sections__articles__visibility=Article.Visibility.PUBLIC,
        )
        .annotate(lastmod=Max("sections__articles__updated_at"))
        .order_by("position", "name")
    )
    return [(category, category.lastmod) for category in rows]


def sitemap_articles(*, offset: int, limit: int) -> list[SitemapArticle]:
    """One page of published public articles (every language, by id) with their published
    public translations; two queries whatever the page size."""
    articles = list(
        public_articles()
        .select_related(None)
        .only("pk", "slug", "language", "translation_group", "updated_at")
        .order_by("id")[offset : offset + limit]
    )
    groups: dict = {}
    siblings = (
        public_articles()
        .select_related(None)
        .filter(translation_group__in={a.translation_group for a in articles})
    )
    for row in siblings.only("pk", "slug", "language", "translation_group").order_by("language"):
        groups.setdefault(row.translation_group, []).append(row)
    return [SitemapArticle(a, groups.get(a.translation_group, [a])) for a in articles]

"""The tenant's public help centre, for signed-out visitors and customers alike.

  /kb/                                         search box, categories, popular, FAQ, request CTA
  /kb/categories/<category_slug>/              a category: its sections and their articles
  /kb/categories/<category_slug>/<section_slug>/  a section: its articles, paginated
  /kb/articles/<slug>/                         an article (view counted once per session)
  /kb/articles/<slug>/feedback/                "Was this helpful?" (POST; htmx or plain form)
  /kb/search/?q=                               highlighted results, bounded pages
  /kb/faq/<faq_slug>/                          an FAQ collection as <details> accordions
  /kb/files/<file_id>/                         files and images of public published articles
  /sitemap.xml, /sitemap-<n>.xml, /robots.txt, /brand/logo

Everything is read through knowledge.selectors_public (built on the customer-facing wall in
knowledge.selectors): a draft, an article in review, an archived or internal one is a 404.
"""

from __future__ import annotations

import hashlib

from django.core.paginator import InvalidPage, Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk.lib.params import int_param
from helpdesk.lib.ratelimit import allow

from . import selectors, selectors_public, services
from .forms_public import FeedbackForm, PublicSearchForm
from .models import Article
from .search import normalise_language, search
from .services import KnowledgeError
from .views import RISKY_TYPES, _content_disposition

NAV = {"nav_active": "kb"}
SECTION_PAGE = 20
CATEGORY_PREVIEW = 6  # articles per section on a category page ("See all" for the rest)
SEARCH_PAGE = 10
SEARCH_MAX_PAGES = 10  # deeper pages are not worth the database's time
VIEWED_KEY = "kb_viewed"  # article ids this session has been counted for
VIEWED_MAX = 300
VIEW_WINDOW = 30 * 60  # a visitor without a session counts again after half an hour
FEEDBACK_KEY = "kb_feedback"  # {article id: "yes" | "no"} answered in this session
FEEDBACK_PER_IP = (60, 60 * 60)  # a person reads fewer articles an hour; a script more
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp"}  # fmt: skip


def _tenant(request: HttpRequest):
    if getattr(request, "tenant", None) is None:
        raise Http404
    return request.tenant


def reader_languages(request: HttpRequest) -> dict[str, str]:
    """{"language": the reader's, "fallback": the tenant's default} for selectors_public."""
    tenant = _tenant(request)
    language = normalise_language(request.LANGUAGE_CODE) or tenant.default_language
    return {"language": language, "fallback": tenant.default_language}


def home_context(request: HttpRequest) -> dict:
    """What the branded front page (/) and /kb/ both show."""
    langs = reader_languages(request)
    return {
        "categories": selectors_public.reader_categories(**langs),
        "popular": selectors_public.reader_popular(**langs),
        "search_form": PublicSearchForm(),
    }


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    context = home_context(request)
    context["faqs"] = selectors_public.reader_faqs(**reader_languages(request))
    return render(request, "knowledge/public/index.html", {**context, **NAV})


@require_GET
def category(request: HttpRequest, category_slug: str) -> HttpResponse:
    langs = reader_languages(request)
    found = selectors_public.reader_category(slug=category_slug, **langs)
    if found is None:
        raise Http404
    for section in found.public_sections:
        section.preview = list(selectors_public.reader_section_articles(section=section, **langs)
                               [:CATEGORY_PREVIEW])  # fmt: skip
    context = {"category": found, "search_form": PublicSearchForm(), **NAV}
    return render(request, "knowledge/public/category.html", context)


@require_GET
def section(request: HttpRequest, category_slug: str, section_slug: str) -> HttpResponse:
    langs = reader_languages(request)
    found = selectors_public.reader_section(category_slug=category_slug, slug=section_slug,
                                            **langs)  # fmt: skip
    if found is None:
        raise Http404
    paginator = Paginator(selectors_public.reader_section_articles(section=found, **langs),
                          SECTION_PAGE)  # fmt: skip
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        raise Http404 from None
    context = {"section": found, "category": found.category, "page": page,
               "search_form": PublicSearchForm(), **NAV}  # fmt: skip
    return render(request, "knowledge/public/section.html", context)


article_url = selectors.public_article_link


def _count_view(request: HttpRequest, article: Article) -> None:
    """One view per session per article: a refresh is not a second reader. A visitor with no
    session (most, and every crawler) is not given one just for this — that would be a
    session row per hit — but remembered for VIEW_WINDOW by address and browser instead."""
    if request.session.session_key:
        viewed: list[int] = request.session.get(VIEWED_KEY, [])
        if article.pk in viewed:
            return
        request.session[VIEWED_KEY] = [*viewed, article.pk][-VIEWED_MAX:]
    else:
        who = "|".join((request.META.get("REMOTE_ADDR", ""),
                        request.headers.get("User-Agent", "")[:200], str(article.pk)))  # fmt: skip
        if not allow("kb-view", who, limit=1, window=VIEW_WINDOW):
            return
    services.article_view_record(article=article)


def _article_context(request: HttpRequest, article: Article, **extra) -> dict:
    answered = request.session.get(FEEDBACK_KEY, {}).get(str(article.pk))
    form = extra.pop("form", None) or FeedbackForm(initial={"language": article.language,
                                                            "helpful": answered})  # fmt: skip
    return {"article": article, "answered": answered, "feedback_form": form, **extra}


@require_GET
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    asked = normalise_language(request.GET.get("lang", ""))
    article = (asked and selectors.public_article_get(slug=slug, language=asked)) or (
        selectors_public.reader_article(slug=slug, **reader_languages(request))
    )
    if article is None:
        raise Http404
    _count_view(request, article)
    translations = selectors.public_translations(article)
    url = article_url(article)
    context = _article_context(
        request, article,
        body_html=selectors.article_html(article, audience="customer"),
        translations=[(t, article_url(t)) for t in translations],
        alternates=[(a.language, request.build_absolute_uri(article_url(a)))
                    for a in sorted([article, *translations], key=lambda a: a.language)],
        related=selectors.public_related(article),
        canonical_url=request.build_absolute_uri(url),
        search_form=PublicSearchForm(),
        staff_edit_url=(reverse("knowledge:article", kwargs={"article_id": article.pk})
                        if request.user.is_authenticated and request.membership else None),
        **NAV,
    )  # fmt: skip
    return render(request, "knowledge/public/article.html", context)


@require_POST
def article_feedback(request: HttpRequest, slug: str) -> HttpResponse:
    """Record "Was this helpful?" for this visitor (a signed-in customer, else the browser
    session): answering again replaces the answer, so a refresh or a double click counts once."""
    _tenant(request)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose yes or no."))
    article = selectors.public_article_get(slug=slug, language=form.cleaned_data["language"])
    if article is None:
        raise Http404
    ip = request.META.get("REMOTE_ADDR", "")
    if not allow("kb-feedback-ip", ip, limit=FEEDBACK_PER_IP[0], window=FEEDBACK_PER_IP[1]):
        return HttpResponse(_("Too many answers from your network; try again later."),
                            status=429)  # fmt: skip
    if not request.session.session_key:
        request.session.save()
    contact = request.contact or None if request.user.is_authenticated else None
    try:
        services.article_feedback_record(
            article=article, helpful=form.is_helpful, comment=form.cleaned_data["comment"],
            contact=contact, session_key="" if contact else request.session.session_key,
        )  # fmt: skip
    except KnowledgeError:
        raise Http404 from None
    answers = request.session.get(FEEDBACK_KEY, {})
    answers[str(article.pk)] = form.cleaned_data["helpful"]
    request.session[FEEDBACK_KEY] = answers
    commented = bool(form.cleaned_data["comment"])
    if request.htmx:
        context = _article_context(request, article, commented=commented)
        return render(request, "knowledge/public/article.html#feedback", context)
    return redirect(article_url(article) + "#feedback")


@require_GET
def search_results(request: HttpRequest) -> HttpResponse:
    langs = reader_languages(request)
    form = PublicSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = min(int_param(request, "page", 1), SEARCH_MAX_PAGES)
    result = None
    if query:
        offset = (page - 1) * SEARCH_PAGE
        other = langs["fallback"] if langs["fallback"] != langs["language"] else None
        result = search(query, language=langs["language"], audience="customer",
                        limit=SEARCH_PAGE, offset=offset, log=other is None)  # fmt: skip
        if not result.hits and other and page == 1:
            result = search(query, language=other, audience="customer", limit=SEARCH_PAGE)
    context = {
        "search_form": PublicSearchForm(initial={"q": query}),
        "query": query,
        "result": result,
        "page_number": page,
        "has_next": bool(result and result.has_more and page < SEARCH_MAX_PAGES),
        **NAV,
    }
    return render(request, "knowledge/public/search.html", context)


@require_GET
def faq(request: HttpRequest, faq_slug: str) -> HttpResponse:
    collection, articles = selectors_public.reader_faq(slug=faq_slug, **reader_languages(request))
    if collection is None:
        raise Http404
    items = [(a, selectors.article_html(a, audience="customer")) for a in articles]
    context = {"collection": collection, "items": items, "search_form": PublicSearchForm(), **NAV}
    return render(request, "knowledge/public/faq.html", context)


@require_GET
def file_public(request: HttpRequest, file_id: int) -> HttpResponse:
    """A file of a published public article: raster images inline, anything else (SVG and
    HTML included) as a download; a strict CSP and nosniff either way (DESIGN.md §9)."""
    _tenant(request)
    attachment = selectors.attachment_get_public(file_id)
    if attachment is None:
        raise Http404
    inline = attachment.is_image
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    content_type = attachment.content_type or "application/octet-stream"
    if not inline and content_type.lower().startswith(RISKY_TYPES):
        content_type = "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = _content_disposition(
        "inline" if inline else "attachment", attachment.filename
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    # Short: an article taken down stops serving its files within minutes.
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# --- Host root: sitemap, robots, brand ------------------------------------------------------


def _sitemap_pages() -> tuple[int, int, int]:
    categories, articles = selectors_public.sitemap_counts()
    total = 1 + categories + articles  # the /kb/ index, categories, articles
    pages = max(1, -(-total // selectors_public.SITEMAP_URLS))
    return pages, categories, articles


def _sitemap_urlset(request: HttpRequest, number: int, categories: int) -> HttpResponse:
    """Page `number` (1-based) of [kb index, categories…, articles…]."""
    size = selectors_public.SITEMAP_URLS
    start, stop = (number - 1) * size, number * size
    entries: list[dict] = []
    if start == 0:
        entries.append({"loc": request.build_absolute_uri(reverse("knowledge:index"))})
    head = 1 + categories
    if start < head:
        for cat, lastmod in selectors_public.sitemap_categories()[max(0, start - 1) : stop - 1]:
            path = reverse("knowledge:category", kwargs={"category_slug": cat.slug})
            entries.append({"loc": request.build_absolute_uri(path), "lastmod": lastmod})
    offset = max(0, start - head)
    limit = stop - max(start, head)
    if limit > 0:
        for row in selectors_public.sitemap_articles(offset=offset, limit=limit):
            alternates = [
                {"hreflang": a.language, "href": request.build_absolute_uri(article_url(a))}
                for a in row.alternates
            ]  # fmt: skip
            entries.append({
                "loc": request.build_absolute_uri(article_url(row.article)),
                "lastmod": row.article.updated_at,
                "alternates": alternates if len(alternates) > 1 else [],
            })  # fmt: skip
    return render(request, "knowledge/public/sitemap.xml", {"entries": entries},
                  content_type="application/xml; charset=utf-8")  # fmt: skip


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    """The tenant's public articles (every language, with hreflang alternates) and category
    pages; past SITEMAP_URLS entries this is a sitemap index of sitemap-<n>.xml pages."""
    _tenant(request)
    pages, categories, _articles = _sitemap_pages()
    if pages == 1:
        return _sitemap_urlset(request, 1, categories)
    locations = [
        request.build_absolute_uri(reverse("knowledge:sitemap_page", kwargs={"sitemap_page": n}))
        for n in range(1, pages + 1)
    ]
    return render(request, "knowledge/public/sitemap_index.xml", {"locations": locations},
                  content_type="application/xml; charset=utf-8")  # fmt: skip


@require_GET
def sitemap_page(request: HttpRequest, sitemap_page: int) -> HttpResponse:
    _tenant(request)
    pages, categories, _articles = _sitemap_pages()
    if not 1 <= sitemap_page <= pages:
        raise Http404
    return _sitemap_urlset(request, sitemap_page, categories)


ROBOTS_DISALLOW = ("/agent/", "/settings/", "/portal/", "/api/", "/reports/", "/accounts/")


@require_GET
def robots(request: HttpRequest) -> HttpResponse:
    _tenant(request)
    sitemap_url = request.build_absolute_uri(reverse("knowledge:sitemap"))
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW), "Allow: /",
             "", f"Sitemap: {sitemap_url}"]  # fmt: skip
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def logo_version(tenant) -> str:
    """A short token that changes with the logo file, for cache-busting its URL."""
    return hashlib.sha256(tenant.logo.name.encode()).hexdigest()[:10] if tenant.logo else ""


@require_GET
def brand_logo(request: HttpRequest) -> HttpResponse:
    """This host's tenant's logo (uploads are PNG, JPEG or WebP only: see
    helpdesk.tenancy.forms.TenantSettingsForm). Cached a day; the URL carries ?v=<version>."""
    tenant = _tenant(request)
    if not tenant.logo:
        raise Http404
    extension = "." + tenant.logo.name.rsplit(".", 1)[-1].lower()
    content_type = LOGO_TYPES.get(extension)
    if content_type is None:  # not one we accept: never serve it as anything renderable
        raise Http404
    etag = f'"{logo_version(tenant)}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        try:
            handle = tenant.logo.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404 from None
        response = FileResponse(handle, content_type=content_type)
        response["Content-Disposition"] = "inline"
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

"""Agent and administrator pages of the knowledge base, under /agent/kb/.

  ""                                   articles: filters, search, pages (htmx list)
  review/, stale/                      the review queue; published articles due for a check
  new/, articles/<id>/edit/            the editor (live preview through preview/)
  articles/<id>/                       an article as agents see it, its workflow buttons
  articles/<id>/status/                submit, publish, archive, back to draft, mark reviewed
  articles/<id>/history/               versions, the diff of any two, restore one
  articles/<id>/translate/             start (or open) the other language's version
  articles/<id>/files/, files/<id>/…   attachments: upload, download (permission-checked), delete
  categories/…, sections/…             categories and sections (administrators)
  faq/…                                FAQ collections (administrators)
  suggest/                             articles for a text or a ticket (the ticket page's KB panel)
  new/?from_ticket=<number>            the editor prefilled from a ticket

Thin views: access → form → service → response. Another tenant's ids are 404s (the scoped
manager cannot see them); refused workflow steps say why (knowledge.services.KnowledgeError).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from helpdesk.accounts.decorators import ADMINS, staff_required
from helpdesk.lib.params import int_param
from tickets.attachments import AttachmentError
from tickets.models import Ticket

from . import from_ticket, markdown, selectors, services
from .forms import (
    ArticleFilterForm,
    ArticleForm,
    CategoryForm,
    FAQAddForm,
    FAQForm,
    PreviewForm,
    SectionForm,
    UploadForm,
)
from .models import Article, ArticleVersion, Category, FAQCollection, Section
from .services import KnowledgeError

PAGE_SIZE = 25
NAV = {"nav_active": "knowledge"}
LIST = "knowledge/article_list.html"
EDIT = "knowledge/article_edit.html"


def _article(article_id: int) -> Article:
    article = selectors.article_get(article_id)
    if article is None:
        raise Http404
    return article


def _ticket_param(request: HttpRequest, name: str) -> Ticket | None:
    """The ticket whose number is in `?<name>=`, None without it; a 404 for a number this
    tenant has no ticket for, another tenant's or junk (the tenant-scoped ticket selector)."""
    if name not in request.GET:
        return None
    raw = request.GET[name]
    ticket = from_ticket.ticket_for_kb(int(raw)) if raw.isascii() and raw.isdigit() else None
    if ticket is None:
        raise Http404
    return ticket


def _methods(*allowed: str) -> Callable:
    """Like require_http_methods, but the ids in the URL are looked up first: another
    tenant's id is a 404 whatever the method, never a 405 that would tell it exists."""
    allowed_set = set(allowed) | ({"HEAD"} if "GET" in allowed else set())

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in allowed_set:
                for name, value in kwargs.items():
                    _LOOKUPS[name](value)
                return HttpResponseNotAllowed(sorted(allowed_set))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _role(request: HttpRequest) -> str:
    return request.membership.role


def _detail(article: Article) -> HttpResponse:
    return redirect("knowledge:article", article_id=article.pk)


# --- The list -------------------------------------------------------------------------------


@staff_required()
@_methods("GET")
def article_list(request: HttpRequest) -> HttpResponse:
    form = ArticleFilterForm(request.GET)
    filters = form.filters()
    page = int_param(request, "page", 1)
    offset = (page - 1) * PAGE_SIZE
    if filters.query:
        result = selectors.article_search_for_staff(filters, limit=PAGE_SIZE, offset=offset)
        rows, has_next, hits = [h.article for h in result.hits], result.has_more, result.hits
    else:
        found = list(selectors.article_list(filters)[offset : offset + PAGE_SIZE + 1])
        rows, has_next, hits = found[:PAGE_SIZE], len(found) > PAGE_SIZE, None
    context = {**NAV, "form": form, "filters": filters, "rows": rows, "hits": hits,
               "page_number": page, "has_next": has_next,
               "counts": selectors.status_counts()}  # fmt: skip
    template = f"{LIST}#article-list" if request.htmx and not request.htmx.boosted else LIST
    return render(request, template, context)


@staff_required()
@_methods("GET")
def review_queue(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.review_queue(request.user)[:200])
    mine = [a for a in rows if a.reviewer_id == request.user.pk]
    others = [a for a in rows if a.reviewer_id != request.user.pk]
    return render(request, "knowledge/review_queue.html", {**NAV, "mine": mine, "others": others})


@staff_required()
@_methods("GET")
def stale_list(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.stale_articles()[:200])
    return render(request, "knowledge/stale_list.html", {**NAV, "rows": rows})


# --- One article ----------------------------------------------------------------------------


@staff_required()
@_methods("GET")
def article_detail(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _article(article_id)
    role = _role(request)
    translations = selectors.translations_of(article)
    have = {article.language, *(t.language for t in translations)}
    context = {
        **NAV,
        "article": article,
        "body_html": selectors.article_html(article, audience="agent"),
        "translations": translations,
        "missing_languages": [(c, n) for c, n in settings.LANGUAGES if c not in have],
        "related": selectors.related_of(article),
        "attachments": selectors.attachments_of(article),
        "feedback": selectors.feedback_of(article),
        "events": selectors.events_of(article, limit=15),
        "can_edit": services.can_edit(request.user, article, role=role),
        "can_publish": services.can_publish(request.user, article, role=role),
        "public_url": selectors.public_article_url(article),
    }
    return render(request, "knowledge/article_detail.html", context)


ACTIONS = {
    "submit": (services.article_submit, _("Sent for review.")),
    "publish": (services.article_publish, _("Published.")),
    "archive": (services.article_archive, _("Archived: customers no longer see it.")),
    "draft": (services.article_return_to_draft, _("Back to draft.")),
    "reviewed": (services.article_mark_reviewed, _("Marked as reviewed.")),
}


@staff_required()
@_methods("POST")
def article_status(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _article(article_id)
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Unknown action."))
        return _detail(article)
    service, done = action
    try:
        service(article=article, actor=request.user)
    except KnowledgeError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, str(done))
    return _detail(article)


# --- The editor -----------------------------------------------------------------------------


def _editor(request: HttpRequest, form: ArticleForm, article: Article | None,
            status: int = 200) -> HttpResponse:  # fmt: skip
    body = form.data.get("body") if form.is_bound else form.initial.get("body", "")
    context = {
        **NAV, "form": form, "article": article, "preview_html": markdown.render(body or ""),
        "attachments": selectors.attachments_of(article) if article else [],
        "upload_form": UploadForm(), "has_sections": Section.objects.exists(),
    }  # fmt: skip
    return render(request, EDIT, context, status=status)


@staff_required()
@_methods("GET", "POST")
def article_new(request: HttpRequest) -> HttpResponse:
    """The editor for a new draft; `?from_ticket=<number>` prefills it from that ticket (the
    number is looked up in this tenant: anything else is a 404) and, on save, leaves the trace
    on the article and on the ticket (services.article_create_from_ticket)."""
    ticket = _ticket_param(request, "from_ticket")
    initial = {"language": request.tenant.default_language, "review_every_days": 180,
               "visibility": Article.Visibility.PUBLIC,
               "section": int_param(request, "section", 0) or None}  # fmt: skip
    if ticket is not None:
        draft = from_ticket.article_draft_from_ticket(ticket)
        initial.update(title=draft.title, body=draft.body, language=draft.language,
                       note=_("Created from ticket #%(n)s") % {"n": ticket.number})  # fmt: skip
    form = ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = dict(
            actor=request.user, section=data["section"], title=data["title"], body=data["body"],
            language=data["language"], visibility=data["visibility"],
            reviewer=data["reviewer"], review_every_days=data["review_every_days"],
            related=data["related"], note=data["note"],
        )  # fmt: skip
        if ticket is None:
            article = services.article_create(**fields)
        else:
            article = services.article_create_from_ticket(ticket=ticket, **fields)
        messages.success(request, _("Draft saved."))
        return redirect("knowledge:article_edit", article_id=article.pk)
    if ticket is not None and not form.is_bound:
        note = _("Written from ticket #%(n)s: choose a section, and take out anything personal "
                 "before you publish.") % {"n": ticket.number}  # fmt: skip
        messages.info(request, note)
    return _editor(request, form, None, status=400 if form.is_bound else 200)


@staff_required()
@_methods("GET", "POST")
def article_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _article(article_id)
    if not services.can_edit(request.user, article, role=_role(request)):
        messages.error(request, _("Only an administrator or the article's reviewer can change "
                                  "a published article."))  # fmt: skip
        return _detail(article)
    form = ArticleForm.for_article(article, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.article_update(
                article=article, actor=request.user, expected_version=data["version"],
                title=data["title"], body=data["body"], section=data["section"],
                visibility=data["visibility"], reviewer=data["reviewer"],
                review_every_days=data["review_every_days"], related=data["related"],
                note=data["note"],
            )  # fmt: skip
        except KnowledgeError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved."))
            return redirect("knowledge:article_edit", article_id=article.pk)
    return _editor(request, form, article, status=400 if form.is_bound else 200)


@staff_required()
@_methods("POST")
def markdown_preview(request: HttpRequest) -> HttpResponse:
    form = PreviewForm(request.POST)
    body = form.cleaned_data["body"] if form.is_valid() else ""
    return render(request, f"{EDIT}#preview", {"preview_html": markdown.render(body)})


# --- History, translations ------------------------------------------------------------------


def _version(article: Article, number: int | None) -> ArticleVersion | None:
    if not number:
        return None
    return selectors.versions_of(article).filter(number=number).first()


@staff_required()
@_methods("GET")
def article_history(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _article(article_id)
    versions = list(selectors.versions_of(article)[:200])
    new = _version(article, int_param(request, "new", 0)) or (versions[0] if versions else None)
    old = _version(article, int_param(request, "old", 0))
    if old is None and new is not None:
        old = next((v for v in versions if v.number < new.number), None)
    diff = selectors.version_diff(old, new) if old and new else None
    can_edit = services.can_edit(request.user, article, role=_role(request))
    context = {**NAV, "article": article, "versions": versions, "diff": diff, "old": old,
               "new": new, "can_edit": can_edit}  # fmt: skip
    return render(request, "knowledge/article_history.html", context)


@staff_required()
@_methods("POST")
def version_restore(request: HttpRequest, article_id: int, version_id: int) -> HttpResponse:
    article = _article(article_id)
    version = selectors.versions_of(article).filter(pk=version_id).first()
    if version is None:
        raise Http404
    try:
        services.article_restore(article=article, version=version, actor=request.user)
    except KnowledgeError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Version %(n)s restored as a new version.")
                         % {"n": version.number})  # fmt: skip
    return redirect("knowledge:article_history", article_id=article.pk)


@staff_required()
@_methods("POST")
def article_translate(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _article(article_id)
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES) or language == article.language:
        messages.error(request, _("Choose another language."))
        return _detail(article)
    translation = services.article_translate(article=article, language=language,
                                             actor=request.user)  # fmt: skip
    return redirect("knowledge:article_edit", article_id=translation.pk)


# --- Files ----------------------------------------------------------------------------------


@staff_required()
@_methods("POST")
def attachment_upload(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _article(article_id)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to upload."))
    else:
        try:
            attachment = services.attachment_add(article=article, upload=form.cleaned_data["file"],
                                                 actor=request.user)  # fmt: skip
        except (AttachmentError, KnowledgeError) as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("%(name)s added. Put it in the text with the line shown next to it.")
                % {"name": attachment.filename},
            )
    return redirect(reverse("knowledge:article_edit", kwargs={"article_id": article.pk})
                    + "#files")  # fmt: skip


def _content_disposition(kind: str, filename: str) -> str:
    """RFC 6266 / RFC 5987: an ASCII fallback and the exact UTF-8 name."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


RISKY_TYPES = ("text/html", "image/svg", "application/xhtml", "text/xml", "application/xml")


@staff_required()
@_methods("GET")
def attachment_download(request: HttpRequest, file_id: int) -> HttpResponse:
    """Staff of this tenant only. A download, always, except a raster image asked for with
    `?inline=1`; a strict CSP and nosniff either way (DESIGN.md §9)."""
    attachment = selectors.attachment_get(file_id)
    if attachment is None:
        raise Http404
    inline = request.GET.get("inline") == "1" and attachment.is_image
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
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@staff_required()
@_methods("POST")
def attachment_remove(request: HttpRequest, file_id: int) -> HttpResponse:
    attachment = selectors.attachment_get(file_id)
    if attachment is None:
        raise Http404
    try:
        services.attachment_delete(attachment=attachment, actor=request.user)
    except KnowledgeError as error:
        messages.error(request, str(error))
    return redirect(reverse("knowledge:article_edit", kwargs={"article_id": attachment.article_id})
                    + "#files")  # fmt: skip


# --- Categories and sections (administrators) -----------------------------------------------


def _categories_page(request: HttpRequest, category_form=None, section_form=None,
                     status: int = 200) -> HttpResponse:  # fmt: skip
    context = {**NAV, "categories": selectors.categories_with_sections(),
               "category_form": category_form or CategoryForm(prefix="cat"),
               "section_form": section_form or SectionForm(prefix="sec")}  # fmt: skip
    return render(request, "knowledge/categories.html", context, status=status)


@staff_required(*ADMINS)
@_methods("GET", "POST")
def categories(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _categories_page(request)
    if request.POST.get("kind") == "section":
        form = SectionForm(request.POST, prefix="sec")
        if form.is_valid():
            services.section_save(actor=request.user, **form.cleaned_data)
            messages.success(request, _("Section added."))
            return redirect("knowledge:categories")
        return _categories_page(request, section_form=form, status=400)
    form = CategoryForm(request.POST, prefix="cat")
    if form.is_valid():
        services.category_save(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Category added."))
        return redirect("knowledge:categories")
    return _categories_page(request, category_form=form, status=400)


def _category(category_id: int) -> Category:
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise Http404
    return category


def _section(section_id: int) -> Section:
    section = Section.objects.select_related("category").filter(pk=section_id).first()
    if section is None:
        raise Http404
    return section


@staff_required(*ADMINS)
@_methods("GET", "POST")
def category_edit(request: HttpRequest, category_id: int) -> HttpResponse:
    category = _category(category_id)
    form = CategoryForm(request.POST or None, instance=category)
    if request.method == "POST" and form.is_valid():
        services.category_save(actor=request.user, category=category, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("knowledge:categories")
    context = {**NAV, "form": form, "object": category, "kind": "category"}
    return render(request, "knowledge/category_edit.html", context,
                  status=400 if form.is_bound else 200)  # fmt: skip


@staff_required(*ADMINS)
@_methods("GET", "POST")
def section_edit(request: HttpRequest, section_id: int) -> HttpResponse:
    section = _section(section_id)
    initial = {"name": section.name, "category": section.category_id, "position": section.position}
    form = SectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.section_save(actor=request.user, section=section, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("knowledge:categories")
    context = {**NAV, "form": form, "object": section, "kind": "section"}
    return render(request, "knowledge/category_edit.html", context,
                  status=400 if form.is_bound else 200)  # fmt: skip


@staff_required(*ADMINS)
@_methods("POST")
def category_delete(request: HttpRequest, category_id: int) -> HttpResponse:
    category = _category(category_id)
    try:
        services.category_delete(actor=request.user, category=category)
    except KnowledgeError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Category deleted."))
    return redirect("knowledge:categories")


@staff_required(*ADMINS)
@_methods("POST")
def section_delete(request: HttpRequest, section_id: int) -> HttpResponse:
    section = _section(section_id)
    try:
        services.section_delete(actor=request.user, section=section)
    except KnowledgeError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Section deleted."))
    return redirect("knowledge:categories")


# --- FAQ collections (administrators) -------------------------------------------------------


@staff_required(*ADMINS)
@_methods("GET", "POST")
def faq_list(request: HttpRequest) -> HttpResponse:
    form = FAQForm(request.POST or None, initial={"language": request.tenant.default_language})
    if request.method == "POST" and form.is_valid():
        collection = services.faq_save(actor=request.user, **form.cleaned_data)
        return redirect("knowledge:faq_edit", faq_id=collection.pk)
    context = {**NAV, "form": form, "collections": selectors.faq_collections()}
    return render(request, "knowledge/faq_list.html", context,
                  status=400 if form.is_bound else 200)  # fmt: skip


def _faq(faq_id: int) -> FAQCollection:
    collection = FAQCollection.objects.filter(pk=faq_id).first()
    if collection is None:
        raise Http404
    return collection


@staff_required(*ADMINS)
@_methods("GET", "POST")
def faq_edit(request: HttpRequest, faq_id: int) -> HttpResponse:
    collection = _faq(faq_id)
    data = request.POST if request.method == "POST" else None
    op = request.POST.get("op", "save") if data else None
    form = FAQForm(data if op == "save" else None, instance=collection)
    add_form = FAQAddForm(data if op == "add" else None, collection=collection)
    if op == "save" and form.is_valid():
        services.faq_save(actor=request.user, collection=collection, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("knowledge:faq_edit", faq_id=collection.pk)
    if op == "add" and add_form.is_valid():
        try:
            services.faq_add(actor=request.user, collection=collection,
                             article=add_form.cleaned_data["article"])  # fmt: skip
        except KnowledgeError as error:
            messages.error(request, str(error))
        return redirect("knowledge:faq_edit", faq_id=collection.pk)
    if op in {"up", "down", "remove"}:
        raw = request.POST.get("item", "")
        item_id = int(raw) if raw.isdigit() else 0
        if op == "remove":
            services.faq_remove(actor=request.user, collection=collection, item_id=item_id)
        else:
            services.faq_move(actor=request.user, collection=collection, item_id=item_id,
                              direction=op)  # fmt: skip
        return redirect("knowledge:faq_edit", faq_id=collection.pk)
    context: dict[str, Any] = {**NAV, "collection": collection, "form": form,
                               "add_form": add_form,
                               "items": selectors.faq_items(collection)}  # fmt: skip
    return render(request, "knowledge/faq_edit.html", context,
                  status=400 if data else 200)  # fmt: skip


@staff_required(*ADMINS)
@_methods("POST")
def faq_delete(request: HttpRequest, faq_id: int) -> HttpResponse:
    services.faq_delete(actor=request.user, collection=_faq(faq_id))
    messages.success(request, _("FAQ collection deleted."))
    return redirect("knowledge:faq")


# --- Suggestions for a text (the ticket page's KB panel) ------------------------------------


@staff_required()
@_methods("GET")
def suggest(request: HttpRequest) -> HttpResponse:
    """Articles for a text (`q`), or for a ticket (`ticket=<number>`: its subject and latest
    customer message, in its language; with `q` too, the panel's search box: a search for `q`).
    The number is looked up through the tenant-scoped ticket selector: another tenant's, or
    none, is a 404."""
    text = request.GET.get("q", "")[:2000]
    ticket, searching, hits = _ticket_param(request, "ticket"), False, []
    if ticket is None:
        language = request.GET.get("language") or request.tenant.default_language
        if text.strip():
            hits = selectors.suggest_for_text(text, language, 5, audience="agent")
    elif text.strip():
        searching, hits = True, from_ticket.article_search(text, ticket, limit=8)
    else:
        text = from_ticket.ticket_suggest_text(ticket)
        hits = from_ticket.ticket_suggestions(ticket, limit=4)
    context = {**NAV, "hits": hits, "query": text, "ticket": ticket, "searching": searching,
               "rows": [(h, from_ticket.article_link(h.article)) for h in hits],
               "can_draft": services.can_draft(request.user, role=_role(request))}  # fmt: skip
    return render(request, "knowledge/suggest.html", context)


def _file(file_id: int):
    attachment = selectors.attachment_get(file_id)
    if attachment is None:
        raise Http404
    return attachment


def _any_version(version_id: int) -> ArticleVersion:
    version = ArticleVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise Http404
    return version


_LOOKUPS: dict[str, Callable[[int], Any]] = {
    "article_id": _article,
    "version_id": _any_version,
    "file_id": _file,
    "category_id": _category,
    "section_id": _section,
    "faq_id": _faq,
}

"""Contacts (customer 360): the list with search, one contact's profile, tickets, channels
(identities), notes, and merging a duplicate into it; plus the agents' own canned responses.

The contact page is one template, templates/tickets/contact_detail.html; htmx asks for one of
its partials by target id (`contact-notes`, `contact-identities`, `contact-tickets`,
`merge-panel`) and gets the full page otherwise. Every form also works without JavaScript.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Q, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.accounts.decorators import staff_required
from tickets import admin_services, contacts, portal, selectors
from tickets.forms_admin import CannedForm, ContactForm, ContactNotesForm, IdentityForm, MergeForm
from tickets.models import CannedResponse, Contact, ContactIdentity, Organization, Ticket

LIST_SIZE = 50
SEARCH_LIMIT = 50
TICKETS_SIZE = 25
IDENTITY_LIMIT = 100
ORG_NAMES_LIMIT = 200


# --- Reads these pages need beyond tickets.selectors ----------------------------------------


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[Any] | None:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None
    return values if isinstance(values, list) and len(values) == 2 else None


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    cursor: str | None


def contact_list_page(*, cursor: str | None, limit: int = LIST_SIZE) -> Page:
    """Live contacts by (name, id), keyset-paginated."""
    qs = Contact.objects.filter(merged_into__isnull=True)
    position = _decode(cursor) if cursor else None
    if position and isinstance(position[0], str) and isinstance(position[1], int):
        name, pk = position
        qs = qs.filter(Q(name__gt=name) | Q(name=name, pk__gt=pk))
    rows = list(qs.select_related("organization").order_by("name", "pk")[: limit + 1])
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(rows[:limit], _encode([last.name, last.pk]) if last else None, cursor)


def contact_tickets_page(
    contact: Contact, *, cursor: str | None, limit: int = TICKETS_SIZE
) -> Page:
    """The contact's tickets, newest first, keyset-paginated on (created_at, id)."""
    qs = Ticket.objects.filter(requester=contact)
    position = _decode(cursor) if cursor else None
    moment = parse_datetime(position[0]) if position and isinstance(position[0], str) else None
    if moment and isinstance(position[1], int):
        qs = qs.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=position[1]))
    rows = list(
        qs.select_related("assignee")
        .only(
            "number", "subject", "status", "channel", "created_at",
            "last_activity_at", "assignee__full_name", "assignee__email", "merged_into_id",
        )
        .order_by("-created_at", "-pk")[: limit + 1]
    )  # fmt: skip
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(rows[:limit], _encode([last.created_at.isoformat(), last.pk]) if last else None,
                cursor)  # fmt: skip


def ticket_counts(contact_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open and total tickets per contact, one query."""
    rows = (
        Ticket.objects.filter(requester_id__in=contact_ids)
        .values("requester_id")
        .annotate(
            total=Count("pk"), open=Count("pk", filter=Q(status__in=list(Ticket.OPEN_STATUSES)))
        )
        .order_by()
    )
    return {r["requester_id"]: {"total": r["total"], "open": r["open"]} for r in rows}


def contact_summary(contact: Contact) -> dict[str, Any]:
    """Ticket counts and the channels the person has written in on, one query."""
    row = Ticket.objects.filter(requester=contact).aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status__in=list(Ticket.OPEN_STATUSES))),
        channels=ArrayAgg("channel", distinct=True, default=[]),
    )
    used = set(row["channels"])
    channels = [(value, label) for value, label in Ticket.Channel.choices if value in used]
    return {"total": row["total"], "open": row["open"], "channels": channels}


def merge_preview(source: Contact) -> dict[str, Any]:
    counts = ticket_counts([source.pk]).get(source.pk, {"total": 0, "open": 0})
    identities = ContactIdentity.objects.filter(contact=source).count()
    return {
        "tickets": counts["total"],
        "identities": identities + bool(source.email) + bool(source.phone),
        "has_login": bool(source.user_id),
    }


# --- Helpers --------------------------------------------------------------------------------


def _contact_or_404(contact_id: int) -> Contact:
    """A contact of the current tenant (another tenant's id is a 404: the manager is scoped)."""
    return get_object_or_404(
        Contact.objects.select_related("organization", "user", "merged_into"), pk=contact_id
    )


def _url(name: str, contact: Contact, **query) -> str:
    url = reverse(f"tickets:{name}", kwargs={"contact_id": contact.pk})
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def _is_target(request: HttpRequest, target: str) -> bool:
    return bool(request.htmx) and request.htmx.target == target


def _detail_context(request: HttpRequest, contact: Contact, **overrides) -> dict[str, Any]:
    page = contact_tickets_page(contact, cursor=request.GET.get("cursor") or None)
    summary = contact_summary(contact)
    context = {
        "nav_active": "contacts",
        "contact": contact,
        "tickets": page,
        "counts": summary,
        "next_url": _url("contact", contact, cursor=page.next_cursor) if page.next_cursor else "",
        "first_url": _url("contact", contact),
        "identities": list(
            ContactIdentity.objects.filter(contact=contact).order_by("kind", "value")[
                :IDENTITY_LIMIT
            ]
        ),
        "channels": summary["channels"],
        "this_year": timezone.localdate().year,
        "profile_form": ContactForm.for_contact(contact),
        "notes_form": ContactNotesForm(initial={"notes": contact.notes}),
        "identity_form": IdentityForm(),
        "merge_query": "",
        "candidates": None,
        "merge_source": None,
    }
    context.update(overrides)
    if "org_names" not in context:
        context["org_names"] = list(
            Organization.objects.order_by("name").values_list("name", flat=True)[:ORG_NAMES_LIMIT]
        )
    return context


def _back(request: HttpRequest, contact: Contact) -> HttpResponse:
    return redirect(_url("contact", contact))


# --- Views ----------------------------------------------------------------------------------


@staff_required()
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    if query:
        found = selectors.contact_search(query, limit=SEARCH_LIMIT + 1)
        prefetch_related_objects(found, "organization")
        page = Page(found[:SEARCH_LIMIT], None, None)
        more = len(found) > SEARCH_LIMIT
    else:
        page, more = contact_list_page(cursor=request.GET.get("cursor") or None), False
    counts = ticket_counts([c.pk for c in page.rows])
    for contact in page.rows:
        contact.ticket_counts = counts.get(contact.pk, {"total": 0, "open": 0})
    base = reverse("tickets:contacts")
    context = {
        "nav_active": "contacts",
        "page": page,
        "query": query,
        "more_matches": more,
        "first_url": base,
        "next_url": f"{base}?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else "",
    }
    if _is_target(request, "contact-list"):
        return render(request, "tickets/contact_list.html#contact-list", context)
    return render(request, "tickets/contact_list.html", context)


@staff_required()
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact_or_404(contact_id)  # before the method check: another tenant's id is 404
    if request.method not in {"GET", "HEAD"}:
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if contact.merged_into_id:
        messages.info(
            request,
            _("%(old)s was merged into %(new)s.")
            % {"old": contact.name or contact.email, "new": contact.merged_into.name},
        )
        return redirect("tickets:contact", contact_id=contact.merged_into_id)
    context = _detail_context(request, contact)
    if _is_target(request, "contact-tickets"):
        return render(request, "tickets/contact_detail.html#contact-tickets", context)
    return render(request, "tickets/contact_detail.html", context)


def _live_contact(contact_id: int) -> Contact:
    contact = _contact_or_404(contact_id)
    if contact.merged_into_id:
        raise Http404
    return contact


@staff_required()
@require_POST
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Two forms post here: the profile (`profile-…` fields) and the notes (`section=notes`)."""
    contact = _live_contact(contact_id)
    if request.POST.get("section") == "notes":
        form = ContactNotesForm(request.POST)
        if form.is_valid():
            contacts.contact_update(contact=contact, actor=request.user, **form.cleaned_data)
            if not request.htmx:
                messages.success(request, _("Notes saved."))
        if _is_target(request, "contact-notes"):
            context = {"contact": contact, "notes_form": form, "notes_saved": form.is_valid()}
            return render(request, "tickets/contact_detail.html#contact-notes", context)
        return _back(request, contact)
    form = ContactForm.for_contact(contact, request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["organization_name"] = data.pop("organization")
        shared = data.pop("shared_requests")
        try:
            contacts.contact_update(contact=contact, actor=request.user, **data)
            if contact.organization_id:  # the portal's "organization's requests" tab
                portal.organization_share_requests(organization=contact.organization, shared=shared)
        except contacts.ContactError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Profile saved."))
            return _back(request, contact)
    contact.refresh_from_db()
    context = _detail_context(request, contact, profile_form=form, profile_open=True)
    return render(request, "tickets/contact_detail.html", context, status=422)


@staff_required()
@require_POST
def contact_identity_add(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _live_contact(contact_id)
    form = IdentityForm(request.POST)
    if form.is_valid():
        try:
            contacts.contact_add_identity(contact=contact, actor=request.user, **form.cleaned_data)
        except contacts.ContactError as error:
            form.add_error("value", str(error))
        else:
            messages.success(request, _("Added."))
            if not _is_target(request, "contact-identities"):
                return _back(request, contact)
            form = IdentityForm()
    return _identities_response(request, contact, form)


def _identities_response(request: HttpRequest, contact: Contact, form: IdentityForm):
    if _is_target(request, "contact-identities"):
        context = {
            "contact": contact,
            "identity_form": form,
            "identities": list(
                ContactIdentity.objects.filter(contact=contact).order_by("kind", "value")[
                    :IDENTITY_LIMIT
                ]
            ),
            "channels": contact_summary(contact)["channels"],
            "fragment": True,
        }
        return render(request, "tickets/contact_detail.html#contact-identities", context)
    if form.errors:
        context = _detail_context(request, contact, identity_form=form)
        return render(request, "tickets/contact_detail.html", context, status=422)
    return _back(request, contact)


@staff_required()
@require_POST
def contact_identity_delete(request: HttpRequest, contact_id: int, identity_id: int):
    contact = _live_contact(contact_id)
    identity = get_object_or_404(ContactIdentity, pk=identity_id, contact=contact)
    contacts.contact_remove_identity(identity=identity, actor=request.user)
    messages.success(request, _("Removed %(value)s.") % {"value": identity.value})
    return _identities_response(request, contact, IdentityForm())


@staff_required()
@require_http_methods(["GET", "POST"])
def contact_merge(request: HttpRequest, contact_id: int) -> HttpResponse:
    """GET ?q= finds candidates, GET ?source= asks for confirmation, POST merges `source`
    into this contact."""
    contact = _live_contact(contact_id)
    others = Contact.objects.filter(merged_into__isnull=True).exclude(pk=contact.pk)
    if request.method == "POST":
        form = MergeForm(request.POST)
        if not form.is_valid():
            raise Http404
        source = get_object_or_404(others, pk=form.cleaned_data["source"])
        try:
            contacts.contact_merge(source=source, target=contact, actor=request.user)
        except contacts.ContactError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Merged %(source)s into %(target)s.")
                % {"source": source.name or source.email, "target": contact.name},
            )
        return _back(request, contact)
    query = request.GET.get("q", "").strip()[:100]
    source_id = request.GET.get("source", "")
    merge: dict[str, Any] = {"merge_query": query, "merge_open": True}
    if source_id.isdigit():
        source = get_object_or_404(others.select_related("organization", "user"), pk=source_id)
        merge.update(merge_source=source, preview=merge_preview(source))
    elif query:
        found = [c for c in selectors.contact_search(query, limit=11) if c.pk != contact.pk]
        merge["candidates"] = found[:10]
    if _is_target(request, "merge-panel"):
        return render(
            request, "tickets/contact_detail.html#merge-panel", {"contact": contact, **merge}
        )
    return render(
        request, "tickets/contact_detail.html", _detail_context(request, contact, **merge)
    )


# --- The agent's own canned responses (/agent/canned/) --------------------------------------


def _own_canned(request: HttpRequest, canned_id: int) -> CannedResponse:
    return get_object_or_404(CannedResponse, pk=canned_id, owner=request.user)


@staff_required()
@require_http_methods(["GET", "POST"])
def my_canned(request: HttpRequest) -> HttpResponse:
    form = CannedForm(request.POST or None, allow_shared=False)
    if request.method == "POST" and form.is_valid():
        admin_services.canned_create(actor=request.user, shared=False, **form.cleaned_data)
        messages.success(request, _("Saved “%(title)s”.") % {"title": form.cleaned_data["title"]})
        return redirect("tickets:my_canned")
    own = list(CannedResponse.objects.filter(owner=request.user).order_by("title")[:200])
    shared = list(CannedResponse.objects.filter(owner__isnull=True).order_by("title")[:200])
    context = {
        "mode": "personal",
        "form": form,
        "rows": own,
        "shared_rows": shared,
        "nav_active": "",
    }
    return render(
        request, "tickets/settings_canned.html", context, status=422 if form.errors else 200
    )


@staff_required()
@require_http_methods(["GET", "POST"])
def my_canned_edit(request: HttpRequest, canned_id: int) -> HttpResponse:
    canned = _own_canned(request, canned_id)
    form = CannedForm.for_canned(canned, request.POST or None, allow_shared=False)
    if request.method == "POST" and form.is_valid():
        admin_services.canned_update(canned=canned, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Saved “%(title)s”.") % {"title": canned.title})
        return redirect("tickets:my_canned")
    context = {"mode": "personal", "form": form, "canned": canned, "nav_active": ""}
    return render(request, "tickets/settings_canned_edit.html", context)


@staff_required()
@require_POST
def my_canned_delete(request: HttpRequest, canned_id: int) -> HttpResponse:
    canned = _own_canned(request, canned_id)
    admin_services.canned_delete(canned=canned, actor=request.user)
    messages.success(request, _("Deleted “%(title)s”.") % {"title": canned.title})
    return redirect("tickets:my_canned")

"""The ticket page (/agent/tickets/<number>/) and its actions, plus "new ticket" and the
permission-checked attachment download.

One template, templates/tickets/ticket.html. A full request gets the page; htmx gets partials:
  ticket-page        everything below the layout's chrome (after a reply, or `hx-get` on the page)
  ticket-header      title, chips, take / follow (take posts the ticket's `version`)
  ticket-properties  the properties form (posts `version`) and the conflict notice
  props-sync         just that form's `version` and `seen` inputs, refreshed out of band after a
                     change, so a select that saved itself leaves the rest of the form alone
  props-saved        the "Saved" note
  ticket-tags        tags and their form (posts `version` and the tags it showed)
  ticket-related     linked tickets, link and merge forms
  message            one message of the thread (after a delivery retry)
  composer           the reply / note form (with its errors); composer-text: just the textarea
  canned-results     the canned-response picker's options
  presence-notice    who else is viewing or typing
  timeline-events    the TicketEvents, loaded when the timeline panel is first opened
Every write goes through tickets.services / tickets.delivery; a full request is answered with a
redirect (post/redirect/get) or, for a conflict or invalid input, the page with the notice; an
htmx request with the partials that changed (the others out of band).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import JSONObject
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event

from helpdesk.accounts.decorators import staff_required
from helpdesk.accounts.models import User
from helpdesk.accounts.selectors import member_list
from helpdesk.tenancy.models import Membership
from knowledge import services as kb_services
from sla import display as sla_display
from tickets import delivery, portal, presence, services
from tickets.attachments import AttachmentError
from tickets.canned import canned_render
from tickets.forms import (
    ComposerForm,
    PropertiesForm,
    SplitForm,
    TagsForm,
    TicketCreateForm,
    TicketNumberForm,
    form_token_claim,
    form_token_done,
    form_token_release,
    form_token_result,
)
from tickets.models import (
    Attachment,
    CannedResponse,
    CustomField,
    Message,
    Team,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketLink,
    TicketRead,
    TicketTag,
)
from tickets.selectors import ticket_timeline
from tickets.views.classification import panel as classification_panel

PAGE = "tickets/ticket.html"
CHANGED_EVENT = "ticket-changed"  # the timeline panel reloads on it
OTHER_TICKETS = 10
CANNED_RESULTS = 15
# Served inline (in <img>) only when both the stored type and the extension say raster image;
# everything else, SVG and HTML included, is a download.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
INLINE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "webp"}
RISKY_TYPES = ("text/html", "image/svg", "application/xhtml", "text/xml", "application/xml",
               "text/javascript", "application/javascript")  # fmt: skip


# --- Reads this page needs beyond tickets.selectors -----------------------------------------
# The page must stay within a small, constant number of queries (see the test), and most of it
# hangs off one row. So the ticket comes with its tags, links, the requester's other tickets,
# "following" and "read at" as subqueries, and with the tenant's short reference lists the
# properties form offers (active staff, teams, custom fields); the thread comes with each
# message's attachments. Two queries for the whole page, whatever the number of messages.


def _ticket_queryset(user: User) -> QuerySet[Ticket]:
    tags = TicketTag.objects.filter(ticket=OuterRef("pk")).order_by("tag__name")
    links = TicketLink.objects.filter(ticket=OuterRef("pk")).order_by("other__number")
    others = (
        Ticket.objects.filter(requester=OuterRef("requester"))
        .exclude(pk=OuterRef("pk"))
        .order_by("-created_at", "-id")
    )
    reads = TicketRead.objects.filter(ticket=OuterRef("pk"), user=user)
    staff = Membership.objects.filter(is_active=True).order_by("user__full_name", "user__email")
    return (
        Ticket.objects.select_related(
            "requester", "requester__organization", "assignee", "team", "merged_into"
        )
        .defer("search_title", "search_body", "search_vector")
        .annotate(
            tag_names=ArraySubquery(tags.values("tag__name")),
            link_rows=ArraySubquery(
                links.values(json=JSONObject(
                    number="other__number", subject="other__subject", status="other__status",
                ))[:20]
            ),
            other_rows=ArraySubquery(
                others.values(json=JSONObject(
                    number="number", subject="subject", status="status", channel="channel",
                    created_at="created_at",
                ))[:OTHER_TICKETS]
            ),
            is_following=Exists(TicketFollower.objects.filter(ticket=OuterRef("pk"), user=user)),
            read_at=Subquery(reads.values("read_at")[:1]),
            staff_rows=ArraySubquery(
                staff.values(json=JSONObject(
                    id="user_id", full_name="user__full_name", email="user__email",
                ))
            ),
            team_rows=ArraySubquery(
                Team.objects.order_by("tier", "name").values(
                    json=JSONObject(id="id", name="name", tier="tier")
                )
            ),
            field_rows=ArraySubquery(
                CustomField.objects.order_by("position", "label").values(json=JSONObject(
                    id="id", key="key", label="label", kind="kind", choices="choices",
                ))
            ),
            **sla_display.ticket_annotations(),  # the SLA chip and panel, no query of their own
        )
    )  # fmt: skip


def _ticket(request: HttpRequest, number: int) -> Ticket:
    """This tenant's ticket `number` (the manager is scoped: another tenant's is a 404)."""
    ticket = _ticket_queryset(request.user).filter(number=number).first()
    if ticket is None:
        raise Http404
    for row in ticket.other_rows:
        row["created_at"] = parse_datetime(row["created_at"])
        row["status_label"] = Ticket.Status(row["status"]).label
        row["channel_label"] = Ticket.Channel(row["channel"]).label
    for row in ticket.link_rows:
        row["status_label"] = Ticket.Status(row["status"]).label
    ticket.staff = [User(**row) for row in ticket.staff_rows]
    ticket.teams = [Team(**row) for row in ticket.team_rows]
    ticket.field_definitions = [CustomField(**row) for row in ticket.field_rows]
    return ticket


def _thread(ticket: Ticket, *, only: int | None = None) -> list[Message]:
    """The conversation, oldest first (or just message `only`), each with its attachments."""
    files = Attachment.objects.filter(message=OuterRef("pk")).order_by("id")
    qs = Message.objects.filter(ticket=ticket)
    if only is not None:
        qs = qs.filter(pk=only)
    rows = list(
        qs.select_related("author_user", "author_contact")
        .annotate(
            files=ArraySubquery(
                files.values(
                    json=JSONObject(
                        id="id", filename="filename", content_type="content_type", size="size"
                    )
                )
            )
        )
        .order_by("created_at", "id")[:500]
    )
    for message in rows:
        message.file_list = [Attachment(**row) for row in message.files]
        for file in message.file_list:
            file.shows_inline = _inline_allowed(file)
        message.can_split = message.direction == Message.Direction.IN and len(rows) > 1
    return rows


def _custom_fields_editable() -> bool:
    return "custom_fields" in services.EDITABLE_FIELDS


def _properties_form(ticket: Ticket, data: Any = None) -> PropertiesForm:
    return PropertiesForm(
        data,
        ticket=ticket,
        agents=ticket.staff,
        teams=ticket.teams,
        custom_fields=ticket.field_definitions,
        custom_editable=_custom_fields_editable(),
        autosave_url=reverse("tickets:properties", kwargs={"number": ticket.number}),
    )


def _tags_form(ticket: Ticket, data: Any = None) -> TagsForm:
    return TagsForm(data, initial={"version": ticket.version, "tags": ", ".join(ticket.tag_names)})


def _canned_for(user: User, ticket: Ticket) -> QuerySet[CannedResponse]:
    """Shared and the agent's own canned responses, the ticket's language first."""
    return (
        CannedResponse.objects.filter(Q(owner__isnull=True) | Q(owner=user))
        .annotate(
            language_rank=Case(
                When(language=ticket.language, then=0),
                When(language="", then=1),
                default=2,
                output_field=IntegerField(),
            )
        )
        .order_by("language_rank", "title")
    )


# --- Context and responses ------------------------------------------------------------------


def _state_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "properties_form": _properties_form(ticket),
        "tags_form": _tags_form(ticket),
        "nav_active": "inbox",
        "kb_can_draft": kb_services.can_draft(request.user, role=request.membership.role),
    }


def _page_context(
    request: HttpRequest, ticket: Ticket, *, composer: ComposerForm | None = None, **extra
) -> dict[str, Any]:
    context = _state_context(request, ticket)
    context.update(
        requester=ticket.requester,
        thread=_thread(ticket),
        composer=composer or ComposerForm(),
        merge_form=TicketNumberForm(prefix_id="merge"),
        link_form=TicketNumberForm(prefix_id="link"),
        viewers=_viewers(request, ticket),
        classification=classification_panel(ticket),
        **extra,
    )
    context["presence_key"] = _presence_key(context["viewers"])
    return context


def _viewers(request: HttpRequest, ticket: Ticket, *, typing: bool = False) -> list[dict]:
    """The other agents on this ticket now, with their names (one query, only when there are
    any: the ids come from this tenant's presence key and are checked against its staff)."""
    others = presence.presence_beat(ticket=ticket, user=request.user, typing=typing)
    if not others:
        return []
    names = {
        m.user_id: m.user
        for m in member_list().filter(is_active=True, user_id__in=[o.user_id for o in others])
    }
    return [{"user": names[o.user_id], "typing": o.typing} for o in others if o.user_id in names]


def _fragments(
    request: HttpRequest,
    names: tuple[str, ...] | list[str],
    context: dict,
    *,
    primary: str | None,
) -> HttpResponse:
    """Several partials in one htmx response: `primary` swaps into the request's target, the
    others (and the flash messages) out of band. Without a primary, nothing swaps in place."""
    ordered = sorted(names, key=lambda name: name != primary)
    html = "".join(
        render_to_string(f"{PAGE}#{name}", {**context, "oob": name != primary}, request)
        for name in ordered
    )
    html += render_to_string("partials/messages.html", {"oob": True}, request)
    response = HttpResponse(html)
    return response if primary else reswap(response, "none")


def _state_response(
    request: HttpRequest, ticket: Ticket, names: tuple[str, ...], *, primary: str | None, **extra
) -> HttpResponse:
    """After a change that bumps the ticket's version: the partials that show or carry it
    (`props-sync` is just the properties form's version, so a select can save while the agent
    goes on to the next one), and a nudge for the timeline."""
    context = {**_state_context(request, ticket), **extra}
    response = _fragments(request, names, context, primary=primary)
    return trigger_client_event(response, CHANGED_EVENT)


def _detail_url(number: int) -> str:
    return reverse("tickets:detail", kwargs={"number": number})


def _done(request: HttpRequest, number: int) -> HttpResponse:
    """A write succeeded: the whole page again (htmx) or a redirect to it."""
    if not request.htmx:
        return redirect(_detail_url(number))
    ticket = _ticket(request, number)
    context = {**_page_context(request, ticket), "fragment": True}
    response = render(request, f"{PAGE}#ticket-page", context)
    return trigger_client_event(response, CHANGED_EVENT)


# --- The page -------------------------------------------------------------------------------


@staff_required()
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    # The method is checked after the lookup: another tenant's number is a 404 for any method.
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    if request.htmx and request.htmx.target == "timeline-events":
        context = {"ticket": ticket, **_timeline_context(ticket)}
        return render(request, f"{PAGE}#timeline-events", context)
    if ticket.read_at is None or ticket.read_at < ticket.last_activity_at:
        services.ticket_mark_read(ticket=ticket, user=request.user)
    composer = ComposerForm(initial={"body": _canned_text(request, ticket)})
    extra: dict[str, Any] = {}
    if "timeline" in request.GET:  # without JavaScript the panel opens with its events
        extra = {"timeline_open": True, **_timeline_context(ticket)}
    context = _page_context(request, ticket, composer=composer, **extra)
    if request.htmx and request.htmx.target == "ticket-page":
        return render(request, f"{PAGE}#ticket-page", {**context, "fragment": True})
    return render(request, PAGE, context)  # also for htmx aiming elsewhere (hx-select picks)


def _canned_text(request: HttpRequest, ticket: Ticket) -> str:
    """`?canned=<id>` (the picker without JavaScript) starts the reply with that response."""
    raw = request.GET.get("canned", "")
    canned = _canned_for(request.user, ticket).filter(pk=raw).first() if raw.isdigit() else None
    return canned_render(canned=canned, ticket=ticket, agent=request.user) if canned else ""


# --- Composer: reply or note ----------------------------------------------------------------


def _composer_error(request: HttpRequest, ticket: Ticket, form: ComposerForm) -> HttpResponse:
    if request.htmx:
        context = {"ticket": ticket, "composer": form}
        response = render(request, f"{PAGE}#composer", context)
        return retarget(reswap(response, "outerHTML"), "#composer")
    return render(request, PAGE, _page_context(request, ticket, composer=form), status=400)


@staff_required()
@require_POST
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = ComposerForm(request.POST, request.FILES)
    if ticket.merged_into_id:
        form.add_error(None, _("This ticket was merged: reply on #%(n)s instead.")
                       % {"n": ticket.merged_into.number})  # fmt: skip
    if not form.is_valid():
        return _composer_error(request, ticket, form)
    data = form.cleaned_data
    scope = f"reply:{ticket.tenant_id}:{request.user.pk}"
    if not form_token_claim(scope=scope, token=data["token"]):
        return _done(request, number)  # a double click or a refresh: sent already
    try:
        if data["kind"] == ComposerForm.NOTE:
            services.ticket_add_note(
                ticket=ticket, author=request.user, body_text=data["body"],
                attachments=data["attachments"],
            )  # fmt: skip
            if data["set_status"]:
                services.ticket_update(ticket=ticket, actor=request.user, status=data["set_status"])
            messages.success(request, _("Internal note added."))
        else:
            message = services.ticket_reply(
                ticket=ticket, author=request.user, body_text=data["body"],
                attachments=data["attachments"], set_status=data["set_status"] or None,
            )  # fmt: skip
            queued = message.delivery_status == Message.Delivery.PENDING
            messages.success(request, _("Reply sent.") if not queued else
                             _("Reply saved; it is being emailed to the customer."))  # fmt: skip
    except AttachmentError as error:
        form_token_release(scope=scope, token=data["token"])
        form.add_error("attachments", str(error))
        return _composer_error(request, ticket, form)
    except services.TicketError as error:
        form_token_release(scope=scope, token=data["token"])
        form.add_error("body", str(error))
        return _composer_error(request, ticket, form)
    return _done(request, number)


@staff_required()
def ticket_canned(request: HttpRequest, number: int) -> HttpResponse:
    """The canned-response picker: `?q=` lists matches (title or text); `?use=<id>` puts the
    filled-in response into the composer's textarea after what is already typed (`body`)."""
    ticket = _ticket(request, number)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    use = request.GET.get("use", "")
    if use:
        if not request.htmx:
            return redirect(f"{_detail_url(number)}?canned={quote(use)}#composer")
        canned = get_object_or_404(_canned_for(request.user, ticket), pk=use) if use.isdigit() \
            else None  # fmt: skip
        if canned is None:
            raise Http404
        typed = request.GET.get("body", "").rstrip()
        text = canned_render(canned=canned, ticket=ticket, agent=request.user)
        composer = ComposerForm(initial={"body": f"{typed}\n\n{text}" if typed else text})
        return render(request, f"{PAGE}#composer-text", {"composer": composer, "autofocus": True})
    query = request.GET.get("q", "").strip()[:100]
    results = _canned_for(request.user, ticket)
    if query:
        results = results.filter(Q(title__icontains=query) | Q(body__icontains=query))
    found = list(results[:CANNED_RESULTS])
    for canned in found:  # the preview shows it as the customer will read it
        canned.preview = canned_render(canned=canned, ticket=ticket, agent=request.user)
    context = {"ticket": ticket, "canned_results": found,
               "canned_q": query, "canned_open": True}  # fmt: skip
    if request.htmx:
        return render(request, f"{PAGE}#canned-results", context)
    return render(request, PAGE, _page_context(request, ticket, **context))


# --- Properties, tags, take, follow ---------------------------------------------------------


def _conflict(
    request: HttpRequest, form: PropertiesForm, error: services.ConflictError, changes: dict
) -> dict[str, Any]:
    """What the conflict notice shows: who changed the ticket, its values now against the
    agent's, and the agent's edits to re-apply on top of the new version."""
    current = error.ticket
    rows = []
    for name, mine in changes.items():
        if name == "custom_fields":
            theirs_all = current.custom_fields or {}
            for definition in form.custom_definitions:
                key = definition.key
                if mine.get(key) != (form.ticket.custom_fields or {}).get(key):
                    rows.append({"label": definition.label,
                                 "theirs": form.display(key, theirs_all.get(key)),
                                 "mine": form.display(key, mine.get(key))})  # fmt: skip
            continue
        rows.append({"label": form.fields[name].label,
                     "theirs": form.display(name, getattr(current, name)),
                     "mine": form.display(name, mine)})  # fmt: skip
    last = (
        TicketEvent.objects.filter(ticket=current)
        .exclude(actor=request.user)
        .select_related("actor")
        .order_by("-id")
        .first()
    )
    reapply = [(name, form.data.get(name, "")) for name in form.edited_names()]
    return {"rows": rows, "by": last.actor if last else None, "reapply": reapply,
            "version": current.version}  # fmt: skip


@staff_required()
@require_POST
def ticket_properties(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = _properties_form(ticket, request.POST)
    conflict, saved = None, False
    if not form.is_valid():
        messages.error(request, _("That change is not valid; the panel shows the current values."))
    else:
        only = request.htmx.trigger_name if request.htmx else None
        only = only if only in form.fields else None
        changes = form.changes(only=only)
        try:
            if changes:
                services.ticket_update(
                    ticket=ticket, actor=request.user, version=form.cleaned_data["version"],
                    **changes,
                )  # fmt: skip
                saved = True
        except services.ConflictError as error:
            conflict = _conflict(request, form, error, changes)
        except services.TicketError as error:
            messages.error(request, str(error))
    if conflict is None and not request.htmx:
        return redirect(_detail_url(number))
    ticket = _ticket(request, number)
    if not request.htmx:
        context = _page_context(request, ticket, conflict=conflict)
        return render(request, PAGE, context, status=409)
    if saved and only:  # one select saved itself: keep the form as the agent is using it
        names = ("props-sync", "props-saved", "ticket-header")
        return _state_response(request, ticket, names, primary=None, saved=True)
    names = ("ticket-properties", "ticket-header")
    return _state_response(
        request, ticket, names, primary="ticket-properties", conflict=conflict, saved=saved
    )


@staff_required()
@require_POST
def ticket_tags(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = _tags_form(ticket, request.POST)
    tags_conflict = None
    if not form.is_valid():
        messages.error(request, _("Those tags are not valid."))
    else:
        seen = sorted({n.lower() for n in request.POST.get("seen", "").split(",") if n})
        if form.cleaned_data["version"] != ticket.version and seen != ticket.tag_names:
            tags_conflict = {"theirs": ticket.tag_names, "mine": form.names()}
        else:
            services.ticket_set_tags(ticket=ticket, names=form.names(), actor=request.user)
    if tags_conflict is None and not request.htmx:
        return redirect(_detail_url(number))
    ticket = _ticket(request, number)
    if not request.htmx:
        return render(request, PAGE, _page_context(request, ticket, tags_conflict=tags_conflict),
                      status=409)  # fmt: skip
    names = ("ticket-tags", "props-sync", "ticket-header")
    return _state_response(
        request, ticket, names, primary="ticket-tags", tags_conflict=tags_conflict
    )


@staff_required()
@require_POST
def ticket_take(request: HttpRequest, number: int) -> HttpResponse:
    """Assign to me, on the version the button was rendered with."""
    ticket = _ticket(request, number)
    form = _properties_form(ticket, {"version": request.POST.get("version"), "assignee":
                                     str(request.user.pk)})  # fmt: skip
    conflict = None
    if form.is_valid():
        changes = {"assignee": request.user}
        if ticket.status == Ticket.Status.NEW:
            changes["status"] = Ticket.Status.OPEN
        try:
            services.ticket_update(ticket=ticket, actor=request.user,
                                   version=form.cleaned_data["version"], **changes)  # fmt: skip
            messages.success(request, _("You took #%(n)s.") % {"n": ticket.number})
        except services.ConflictError as error:
            conflict = _conflict(request, form, error, {"assignee": request.user})
            messages.warning(request, str(error))
        except services.TicketError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, _("Reload the page and try again."))
    if not request.htmx:
        if conflict is None:
            return redirect(_detail_url(number))
        ticket = _ticket(request, number)
        return render(request, PAGE, _page_context(request, ticket, conflict=conflict), status=409)
    ticket = _ticket(request, number)
    names = ("ticket-header", "ticket-properties")
    return _state_response(request, ticket, names, primary="ticket-header", conflict=conflict)


@staff_required()
@require_POST
def ticket_follow(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    follow = request.POST.get("follow") != "0"
    services.ticket_follow(ticket=ticket, user=request.user, follow=follow)
    if follow:
        messages.success(request, _("You will be notified about changes to #%(n)s.")
                         % {"n": ticket.number})  # fmt: skip
    else:
        messages.success(request, _("You no longer follow #%(n)s.") % {"n": ticket.number})
    if not request.htmx:
        return redirect(_detail_url(number))
    ticket.is_following = follow
    return _fragments(request, ["ticket-header"], {"ticket": ticket}, primary="ticket-header")


# --- Related tickets: link, merge, split ----------------------------------------------------


def _related_response(request: HttpRequest, number: int, **forms) -> HttpResponse:
    ticket = _ticket(request, number)
    context = {
        "ticket": ticket,
        "merge_form": forms.get("merge_form") or TicketNumberForm(prefix_id="merge"),
        "link_form": forms.get("link_form") or TicketNumberForm(prefix_id="link"),
    }
    response = _fragments(request, ["ticket-related"], context, primary="ticket-related")
    return trigger_client_event(response, CHANGED_EVENT)


def _other_ticket(form: TicketNumberForm) -> Ticket | None:
    if not form.is_valid():
        return None
    other = (
        Ticket.objects.select_related("merged_into")
        .filter(number=form.cleaned_data["number"])
        .first()
    )
    if other is None:
        form.add_error(
            "number", _("There is no ticket #%(n)s.") % {"n": form.cleaned_data["number"]}
        )
    return other


@staff_required()
@require_POST
def ticket_link(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket(request, number)
    form = TicketNumberForm(request.POST, prefix_id="link")
    other = _other_ticket(form)
    if other is not None:
        try:
            services.ticket_link(ticket=ticket, other=other, actor=request.user)
            messages.success(request, _("Linked #%(a)s and #%(b)s.")
                             % {"a": ticket.number, "b": other.number})  # fmt: skip
            form = None
        except services.TicketError as error:
            form.add_error("number", str(error))
    if not request.htmx:
        for error in form.errors.get("number", []) if form else []:
            messages.error(request, error)
        return redirect(_detail_url(number))
    return _related_response(request, number, link_form=form)


@staff_required()
@require_POST
def ticket_merge(request: HttpRequest, number: int) -> HttpResponse:
    """Fold this ticket into another; the agent lands on the one that remains."""
    ticket = _ticket(request, number)
    form = TicketNumberForm(request.POST, prefix_id="merge")
    target = _other_ticket(form)
    if target is not None and ticket.merged_into_id:
        form.add_error("number", _("This ticket was already merged into #%(n)s.")
                       % {"n": ticket.merged_into.number})  # fmt: skip
    elif target is not None:
        try:
            services.ticket_merge(source=ticket, target=target, actor=request.user)
        except services.TicketError as error:
            form.add_error("number", str(error))
        else:
            messages.success(request, _("Merged #%(a)s into #%(b)s.")
                             % {"a": ticket.number, "b": target.number})  # fmt: skip
            url = _detail_url(target.number)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if not request.htmx:
        for error in form.errors.get("number", []):
            messages.error(request, error)
        return redirect(_detail_url(number))
    return _related_response(request, number, merge_form=form)


@staff_required()
@require_POST
def message_split(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    """Move one message into a new ticket of its own, and go there."""
    ticket = _ticket(request, number)
    message = get_object_or_404(Message.objects.select_related("author_contact", "ticket"),
                                pk=message_id, ticket=ticket)  # fmt: skip
    form = SplitForm(request.POST)
    subject = form.cleaned_data["subject"] if form.is_valid() else ""
    try:
        new = services.message_split(message=message, actor=request.user, subject=subject)
    except services.TicketError as error:
        messages.error(request, str(error))
        url = _detail_url(number)
    else:
        messages.success(request, _("Split the message off #%(a)s into this new ticket.")
                         % {"a": ticket.number})  # fmt: skip
        url = _detail_url(new.number)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- Delivery -------------------------------------------------------------------------------


@staff_required()
@require_POST
def message_retry(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    ticket = _ticket(request, number)
    message = get_object_or_404(
        Message.objects.select_related("author_user", "author_contact", "ticket"),
        pk=message_id,
        ticket=ticket,
    )
    try:
        delivery.message_retry_delivery(message=message, actor=request.user)
        messages.success(request, _("The reply is queued to be sent again."))
    except services.TicketError as error:
        messages.error(request, str(error))
    if not request.htmx:
        return redirect(f"{_detail_url(number)}#message-{message.pk}")
    [msg] = _thread(ticket, only=message.pk)
    return _fragments(request, ["message"], {"ticket": ticket, "msg": msg}, primary="message")


# --- Presence -------------------------------------------------------------------------------


@never_cache
@staff_required()
@require_POST
def ticket_presence(request: HttpRequest, number: int) -> HttpResponse:
    """Heartbeat (every 10 s, and while typing with `typing=1`): answers who else is here."""
    ticket = get_object_or_404(Ticket.objects.only("id", "tenant_id", "number"), number=number)
    typing = request.POST.get("typing") == "1"
    viewers = _viewers(request, ticket, typing=typing)
    if request.POST.get("shown") == _presence_key(viewers):
        return HttpResponse(status=204)  # nothing new: no swap, no screen-reader chatter
    context = {"ticket": ticket, "viewers": viewers, "presence_key": _presence_key(viewers)}
    return render(request, f"{PAGE}#presence-notice", context)


def _presence_key(viewers: list[dict]) -> str:
    """What the presence notice shows, in short: the page posts it back with each heartbeat."""
    return ",".join(f"{v['user'].pk}{'t' if v['typing'] else 'v'}" for v in viewers) or "-"


# --- Timeline -------------------------------------------------------------------------------


def _timeline_context(ticket: Ticket) -> dict[str, Any]:
    events = ticket_timeline(ticket)
    people = {user.pk: user for user in ticket.staff}
    teams = {team.pk: team for team in ticket.teams}
    return {
        "timeline": [{"event": e, "text": event_text(e, people, teams)} for e in events],
        "timeline_loaded": True,
    }


FIELD_NAMES = {
    "status": Ticket._meta.get_field("status").verbose_name,
    "priority": Ticket._meta.get_field("priority").verbose_name,
    "type": Ticket._meta.get_field("type").verbose_name,
    "category": Ticket._meta.get_field("category").verbose_name,
    "assignee": Ticket._meta.get_field("assignee").verbose_name,
    "team": Ticket._meta.get_field("team").verbose_name,
    "language": Ticket._meta.get_field("language").verbose_name,
}
CHOICE_LABELS = {
    "status": dict(Ticket.Status.choices),
    "priority": dict(Ticket.Priority.choices),
    "type": dict(Ticket.Type.choices),
    "category": dict(Ticket.Category.choices),
}


def _value_text(field: str, value: Any, people: dict, teams: dict) -> str:
    if value in (None, ""):
        return _("nobody") if field == "assignee" else _("none")
    if field == "assignee":
        user = people.get(value)
        return user.get_full_name() if user else _("a former member")
    if field == "team":
        team = teams.get(value)
        return team.name if team else _("a deleted team")
    return str(CHOICE_LABELS.get(field, {}).get(value, value))


CUSTOMER_REASONS = (portal.SOLVED_BY_CUSTOMER, portal.REOPENED_BY_CUSTOMER)


def event_text(event: TicketEvent, people: dict[int, User], teams: dict[int, Team]) -> str:
    """One timeline line, in the reader's language: "Alex changed priority from Normal to High"."""
    data = event.data or {}
    who = event.actor.get_full_name() if event.actor else (
        _("The customer") if event.reason in CUSTOMER_REASONS else  # the portal's solve/reopen
        _("Automation") if event.reason else _("The system"))  # fmt: skip
    kind = event.kind
    if kind in FIELD_NAMES:
        values = {
            "who": who,
            "field": FIELD_NAMES[kind],
            "old": _value_text(kind, data.get("old"), people, teams),
            "new": _value_text(kind, data.get("new"), people, teams),
        }
        if data.get("old") in (None, ""):
            return _("%(who)s set %(field)s to %(new)s") % values
        return _("%(who)s changed %(field)s from %(old)s to %(new)s") % values
    if kind in {"classified", "topic"}:  # tickets.automation.classify
        from tickets.automation.classify import event_text as classification_text

        return classification_text(kind, data, who)
    if kind in {"auto_replied", "auto_reply_skipped"}:
        from tickets.automation.autoreply import auto_reply_text

        return auto_reply_text(kind, data)
    if kind in {"routed", "assigned_from_queue"}:
        from tickets.automation.explain import Names, assignment_text, routing_text

        def team_name(team_id: Any) -> str:
            team = teams.get(team_id)
            if team is None:
                return _("a deleted team")
            return f"{team.name} ({team.get_tier_display()})"

        names = Names(lambda user_id: _value_text("assignee", user_id, people, teams), team_name)
        if kind == "routed":
            return routing_text(data, names)
        return _("From the team queue: %(what)s") % {"what": assignment_text(data, names)}
    if kind in {"escalated", "alerted", "alert_acknowledged"}:  # sla.escalation, sla.alerts
        from sla.escalation import timeline_text as escalation_text

        return escalation_text(event, who, teams)
    if kind.startswith("sla_"):  # SLA clocks: started, met, paused, warning, breached …
        return sla_display.timeline_text(event)
    if kind == "article_drafted":  # knowledge.services.article_create_from_ticket
        return _("%(who)s drafted the article “%(title)s” from this ticket") % {
            "who": who, "title": data.get("title", "")}  # fmt: skip
    if kind.startswith(("trigger_", "macro_", "dispatch_")):  # triggers, macros, their outbox
        from tickets.automation.triggers import timeline_text

        return timeline_text(event, who, people, teams)
    n = data.get("target") or data.get("source") or data.get("other") or ""
    texts = {
        "created": _("%(who)s opened the ticket (%(channel)s)"),
        "replied": _("%(who)s replied to the customer"),
        "noted": _("%(who)s added an internal note"),
        "customer_replied": _("The customer replied"),
        "customer_solved": _("Solved by the customer (portal)"),
        "customer_reopened": _("Reopened by the customer (portal)"),
        "merged_into": _("%(who)s merged this ticket into #%(n)s"),
        "merged_from": _("%(who)s merged #%(n)s into this ticket"),
        "split_from": _("%(who)s split this ticket off #%(n)s"),
        "split_to": _("%(who)s split a message off into #%(n)s"),
        "linked": _("%(who)s linked this ticket with #%(n)s"),
        "delivery_retried": _("%(who)s retried sending a reply"),
        "custom_fields": _("%(who)s changed the custom fields"),
        "requester_merged": _("%(who)s merged the requester with another contact"),
    }
    channel = data.get("channel", "")
    channel = Ticket.Channel(channel).label if channel in Ticket.Channel.values else channel
    if kind == "created" and not event.actor:
        return _("The customer opened the ticket (%(channel)s)") % {"channel": channel}
    if kind == "tags":
        parts = []
        if data.get("added"):
            parts.append(_("%(who)s added the tags %(tags)s")
                         % {"who": who, "tags": ", ".join(data["added"])})  # fmt: skip
        if data.get("removed"):
            parts.append(_("%(who)s removed the tags %(tags)s")
                         % {"who": who, "tags": ", ".join(data["removed"])})  # fmt: skip
        return "; ".join(parts) or _("%(who)s changed the tags") % {"who": who}
    if kind in texts:
        return texts[kind] % {"who": who, "n": n, "channel": channel}
    return _("%(who)s: %(what)s") % {"who": who, "what": kind.replace("_", " ")}


# --- New ticket on a customer's behalf ------------------------------------------------------


@staff_required()
@require_http_methods(["GET", "POST"])
def ticket_create(request: HttpRequest) -> HttpResponse:
    from tickets.contacts import contact_for_email

    form = TicketCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        scope = f"create:{request.tenant.pk}:{request.user.pk}"
        if not form_token_claim(scope=scope, token=data["token"]):
            number = form_token_result(scope=scope, token=data["token"])
            if number:
                return redirect(_detail_url(int(number)))
            messages.info(request, _("This ticket is being created already."))
            return redirect("tickets:inbox")
        try:
            requester = contact_for_email(
                email=data["requester_email"], name=data["requester_name"]
            )
            ticket = services.ticket_create(
                requester=requester, subject=data["subject"], body_text=data["body"],
                channel=data["channel"], priority=data["priority"], actor=request.user,
                created_by_agent=True,
            )  # fmt: skip
        except services.TicketError as error:
            form_token_release(scope=scope, token=data["token"])
            form.add_error(None, str(error))
        else:
            form_token_done(scope=scope, token=data["token"], result=str(ticket.number))
            messages.success(request, _("Ticket #%(n)s opened for %(name)s.")
                             % {"n": ticket.number, "name": requester})  # fmt: skip
            return redirect(_detail_url(ticket.number))
    status = 400 if form.is_bound else 200
    return render(request, "tickets/ticket_new.html", {"form": form, "nav_active": "inbox"},
                  status=status)  # fmt: skip


# --- Attachments ----------------------------------------------------------------------------


def _inline_allowed(attachment: Attachment) -> bool:
    """A raster image by both its stored type and its extension: may be shown in an <img>."""
    name = attachment.filename.lower()
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    return attachment.content_type in INLINE_TYPES and extension in INLINE_EXTENSIONS


def _content_disposition(kind: str, filename: str) -> str:
    """RFC 6266 / RFC 5987: an ASCII fallback and the exact UTF-8 name."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@staff_required()
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """Staff of this tenant only (another tenant's id is a 404). A download, always, except a
    raster image asked for with `?inline=1`; a strict CSP and nosniff either way."""
    attachment = get_object_or_404(Attachment, pk=attachment_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    inline = request.GET.get("inline") == "1" and _inline_allowed(attachment)
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

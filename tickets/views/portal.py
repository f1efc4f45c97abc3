"""The customer portal (/portal/): a signed-in customer's requests, and the one request a
follow link opens for a visitor without an account. Reads and writes are tickets.portal's."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.lib import clock
from tickets import portal
from tickets.forms import form_token
from tickets.forms_portal import FollowUpForm, ListForm, ReplyForm
from tickets.models import Contact, Ticket

from .ticket import RISKY_TYPES, _content_disposition

GRANTS_KEY = "portal_follow"


# --- Access ---------------------------------------------------------------------------------


def portal_customer(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in customers of this tenant. Staff without a contact here go to /agent/ (their
    side of the help desk); anyone else signed in but unknown here gets a 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.tenant is None:
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.contact:
            if request.membership:
                return redirect("agent:home")
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _grants(request: HttpRequest) -> dict:
    grants = request.session.get(GRANTS_KEY)
    return grants if isinstance(grants, dict) else {}


def _grant(request: HttpRequest, ticket: Ticket, expires: float) -> None:
    """Remember in the session that this browser may open `ticket`, until the link expires."""
    grants = {k: v for k, v in _grants(request).items()
              if isinstance(v, int | float) and v > clock.now().timestamp()}  # fmt: skip
    grants[f"{ticket.tenant_id}:{ticket.pk}"] = expires
    request.session[GRANTS_KEY] = grants


def _granted(request: HttpRequest, ticket: Ticket) -> float | None:
    """The grant's expiry when this session holds a live one for `ticket`."""
    expires = _grants(request).get(f"{ticket.tenant_id}:{ticket.pk}")
    if not isinstance(expires, int | float) or expires < clock.now().timestamp():
        return None
    return expires


class Access:
    """Who is looking at a request, and as which contact they act."""

    def __init__(
        self, ticket: Ticket, contact: Contact, *, by_link: bool, expires: float | None = None
    ):
        self.ticket, self.contact, self.by_link = ticket, contact, by_link
        self.expires = expires  # a follow-link grant's end


def _access(request: HttpRequest, request_number: int) -> Access | HttpResponse:
    """The request for this visitor, or the response to send instead: the sign-in page for a
    signed-out visitor, a 404 for a request they may not see (the same whether it exists or
    not, and for staff, whose side is /agent/)."""
    if request.tenant is None:
        raise Http404
    contact = request.contact or None
    if contact is not None:
        ticket = portal.request_for(contact, request_number)
        if ticket is not None:
            return Access(ticket, contact, by_link=False)
    ticket = portal.request_by_number(request_number)
    expires = _granted(request, ticket) if ticket is not None else None
    if expires is not None:
        return Access(ticket, contact or ticket.requester, by_link=True, expires=expires)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise Http404  # staff too: a request's portal page is its customer's (like customer_required)


def _accessed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Find the request before anything else (the method check included): a request the
    visitor may not see is a 404 for every method, never a 405 that says it exists."""

    @wraps(view)
    def wrapper(request: HttpRequest, request_number: int, *args, **kwargs) -> HttpResponse:
        found = _access(request, request_number)
        if isinstance(found, HttpResponse):
            return found
        return view(request, found, *args, **kwargs)

    return wrapper


# --- The list -------------------------------------------------------------------------------


@portal_customer
@require_GET
def portal_home(request: HttpRequest) -> HttpResponse:
    return portal_requests(request)


@portal_customer
@require_GET
def portal_requests(request: HttpRequest) -> HttpResponse:
    contact = portal.portal_contact(request.contact)
    form = ListForm(request.GET)
    form.is_valid()
    params = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    shared = portal.shares_requests(contact)
    scope = params.get("scope") or "mine"
    if scope == "organization" and not shared:
        scope = "mine"
    status = params.get("status") or "open"
    query = params.get("q") or ""
    tickets = portal.request_list(contact, scope=scope, status=status, query=query)
    page = Paginator(tickets, portal.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"ticket": t, "status": portal.customer_status(t),
             "updated": t.last_public_at or t.created_at} for t in page]  # fmt: skip

    def url(**changes) -> str:
        values = {"scope": scope, "status": status, "q": query, **changes}
        return "?" + urlencode({k: v for k, v in values.items() if v})

    context = {
        "nav_active": "requests",
        "form": form,
        "rows": rows,
        "page": page,
        "scope": scope,
        "status": status,
        "query": query,
        "shared": shared,
        "organization": contact.organization if shared else None,
        "prev_url": url(page=page.previous_page_number()) if page.has_previous() else "",
        "next_url": url(page=page.next_page_number()) if page.has_next() else "",
        "status_choices": ListForm.base_fields["status"].choices,
        "scope_urls": {"mine": url(scope="mine"), "organization": url(scope="organization")},
    }
    if request.htmx and request.htmx.target == "request-list":
        return render(request, "tickets/portal_home.html#request-list", context)
    return render(request, "tickets/portal_home.html", context)


# --- One request ----------------------------------------------------------------------------


def _page(request: HttpRequest, access: Access, *, reply_form: ReplyForm | None = None,
          status: int = 200) -> HttpResponse:  # fmt: skip
    ticket = access.ticket
    context = {
        "nav_active": "requests",
        "ticket": ticket,
        "access": access,
        "status": portal.customer_status(ticket),
        "thread": portal.request_thread(ticket),
        "can_reply": portal.can_reply(ticket),
        "can_solve": portal.can_solve(ticket),
        "can_reopen": portal.can_reopen(ticket),
        "reopen_deadline": portal.reopen_deadline(ticket) if portal.can_reopen(ticket) else None,
        "follow_up": portal.offers_follow_up(ticket),
        "follow_up_url": reverse(
            "portal:request_follow_up", kwargs={"request_number": ticket.number}
        ),
        "reply_form": reply_form or ReplyForm(),
        "portal_rating": portal.rating_hook(ticket),
        "by_link": access.by_link and not request.user.is_authenticated,
        "has_login": bool(ticket.requester.user_id),
        "shared_view": access.ticket.requester_id != access.contact.pk,
    }
    if request.htmx and request.htmx.target == "request-thread":
        # htmx swaps 2xx only: a refused reply comes back as the form with its errors.
        return render(request, "tickets/portal/request.html#conversation", context)
    return render(request, "tickets/portal/request.html", context, status=status)


@_accessed
@require_GET
def portal_request(request: HttpRequest, access: Access) -> HttpResponse:
    ticket = access.ticket
    if ticket.merged_into_id:  # its messages moved: show where they went, if that is visible
        target = ticket.merged_into
        if access.by_link or portal.request_for(access.contact, target.number) is None:
            return _page(request, access)
        return redirect("portal:request", request_number=target.number)
    return _page(request, access)


@_accessed
@require_POST
def portal_reply(request: HttpRequest, access: Access) -> HttpResponse:
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            portal.customer_reply(ticket=access.ticket, contact=access.contact,
                                  body_text=data["body"], attachments=data["attachments"],
                                  token=data["token"])  # fmt: skip
        except portal.PortalError as error:
            form.add_error(None, str(error))
        else:
            if request.htmx:
                return _page(request, access)
            messages.success(request, _("Your reply was sent."))
            return redirect("portal:request", request_number=access.ticket.number)
    return _page(request, access, reply_form=form, status=422)


@_accessed
@require_POST
def portal_solve(request: HttpRequest, access: Access) -> HttpResponse:
    try:
        portal.customer_solve(ticket=access.ticket, contact=access.contact)
    except portal.PortalError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Thank you: the request is marked as solved."))
    return redirect("portal:request", request_number=access.ticket.number)


@_accessed
@require_POST
def portal_reopen(request: HttpRequest, access: Access) -> HttpResponse:
    try:
        portal.customer_reopen(ticket=access.ticket, contact=access.contact)
    except portal.PortalError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The request is open again."))
    return redirect("portal:request", request_number=access.ticket.number)


@_accessed
@require_http_methods(["GET", "POST"])
def portal_follow_up(request: HttpRequest, access: Access) -> HttpResponse:
    """A new request that refers to a solved or closed one (prefilled with its number)."""
    ticket = access.ticket
    subject, body = portal.follow_up_text(ticket)
    form = FollowUpForm(request.POST or None, request.FILES or None,
                        initial={"subject": subject, "description": body,
                                 "token": form_token()})  # fmt: skip
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                new = portal.follow_up_create(
                    ticket=ticket, contact=access.contact, subject=data["subject"],
                    description=data["description"], token=data["token"] or form_token(),
                    attachments=data["attachments"], language=request.LANGUAGE_CODE,
                )  # fmt: skip
            except portal.PortalError as error:
                form.add_error(None, str(error))
            else:
                if access.by_link and access.expires:  # the holder may follow the new one too
                    _grant(request, new, access.expires)
                messages.success(request, _("Your follow-up request #%(n)s was sent.")
                                 % {"n": new.number})  # fmt: skip
                return redirect("portal:request", request_number=new.number)
        status = 422
    return render(request, "tickets/portal/follow_up.html",
                  {"form": form, "ticket": ticket, "nav_active": "requests"},
                  status=status)  # fmt: skip


@_accessed
@require_GET
def portal_attachment(request: HttpRequest, access: Access, attachment_id: int) -> HttpResponse:
    """A file of the request's public thread, always as a download, with the same strict
    headers as the agents' download."""
    attachment = portal.attachment_for(access.ticket, attachment_id)
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    content_type = attachment.content_type or "application/octet-stream"
    if content_type.lower().startswith(RISKY_TYPES):
        content_type = "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = _content_disposition("attachment", attachment.filename)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@require_GET
def portal_request_follow(
    request: HttpRequest, request_number: int, follow_token: str
) -> HttpResponse:
    """A follow link from the acknowledgement: remembers this one ticket in the session and
    opens it; a forged, expired or mismatched link opens nothing."""
    if request.tenant is None:
        raise Http404
    grant = portal.follow_grant(request_number, follow_token)
    if grant is None:
        # 400 like an invalid sign-in link (accounts:login_link): nothing is revealed.
        return render(request, "tickets/portal/follow_invalid.html",
                      {"nav_active": "requests"}, status=400)  # fmt: skip
    _grant(request, grant.ticket, grant.expires)
    return redirect("portal:request", request_number=grant.ticket.number)

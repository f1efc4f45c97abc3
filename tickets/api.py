"""/api/v1/tickets and /api/v1/contacts (mounted by helpdesk/api.py).

Thin like the HTML views: fetch through the tenant-scoped selectors (another tenant's number or
id is a 404), validate with the schemas in api_schemas.py, write through tickets.services.
Errors raised here (TicketError, Http404, ninja's HttpError) become JSON in helpdesk/api.py.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Membership

from . import services
from .api_schemas import (
    ConflictOut,
    ContactCreateIn,
    ContactDetailOut,
    ContactListQuery,
    ContactPageOut,
    DuplicateOut,
    ErrorOut,
    FilterErrorOut,
    MessageCreateIn,
    MessageOut,
    TicketCreateIn,
    TicketDetailOut,
    TicketListQuery,
    TicketPageOut,
    TicketUpdateIn,
)
from .contacts import ContactExistsError, contact_create, contact_for_email
from .models import Contact, Message, Team, Ticket
from .sanitize import clean_html, html_to_text
from .selectors import (
    InboxFilters,
    contact_other_tickets,
    contact_search,
    decode_cursor,
    inbox_page,
    ticket_get_for_agent,
    ticket_tag_names,
    ticket_thread,
)

tickets_router = Router()
contacts_router = Router()

TICKET_LIST_PARAMS = frozenset(TicketListQuery.model_fields)
NOT_FOUND = {404: ErrorOut}


# --- Tickets ---------------------------------------------------------------------------------


@tickets_router.get("", response={200: TicketPageOut, 400: FilterErrorOut}, url_name="ticket_list")
def ticket_list(request: HttpRequest, params: Query[TicketListQuery]) -> Any:
    """The inbox: the same filters as /agent/inbox/, newest activity first, by keyset pages.
    Pass `next_cursor` back as `cursor` for the next page; it is null on the last one."""
    filters = InboxFilters.from_query(request.GET)
    unknown = sorted(set(request.GET) - TICKET_LIST_PARAMS)
    invalid = [f"{name} (unknown parameter)" for name in unknown] + filters.errors
    if params.cursor and decode_cursor(params.cursor) is None:
        invalid.append(f"cursor={params.cursor}")
    if invalid:
        message = _("Unknown filter parameters or values: %(list)s") % {"list": ", ".join(invalid)}
        return Status(400, {"error": message, "invalid": invalid})
    page = inbox_page(user=request.user, filters=filters, cursor=params.cursor, limit=params.limit)
    return {"results": page.tickets, "next_cursor": page.next_cursor}


@tickets_router.post(
    "",
    response={201: TicketDetailOut, 400: ErrorOut, 422: ErrorOut},
    url_name="ticket_create",
)
def ticket_create(request: HttpRequest, payload: TicketCreateIn) -> Any:
    """Open a ticket for a customer (found by email, or created) with their first message."""
    with transaction.atomic():
        requester = contact_for_email(email=payload.requester_email, name=payload.requester_name)
        ticket = services.ticket_create(
            requester=requester,
            subject=payload.subject,
            body_text=payload.body,
            body_html=payload.body_html,
            channel=payload.channel,
            actor=request.user,
            priority=payload.priority,
            type=payload.type,
            category=payload.category,
            team=_team(payload.team_id),
            assignee=_member(payload.assignee_id),
            tags=payload.tags,
            language=payload.language,
        )
    return Status(201, ticket_detail(ticket.number))


@tickets_router.get(
    "/{int:number}", response={200: TicketDetailOut, **NOT_FOUND}, url_name="ticket_detail"
)
def ticket_get(request: HttpRequest, number: int) -> Any:
    """One ticket with its whole conversation, internal notes and attachment details."""
    return ticket_detail(number)


@tickets_router.patch(
    "/{int:number}",
    response={200: TicketDetailOut, 400: ErrorOut, 409: ConflictOut, **NOT_FOUND},
    url_name="ticket_update",
)
def ticket_update(request: HttpRequest, number: int, payload: TicketUpdateIn) -> Any:
    """Change properties; send `version` to be told (409) when someone changed it meanwhile."""
    ticket = ticket_get_for_agent(number=number)
    data = payload.model_dump(exclude_unset=True)
    tags, version = data.pop("tags", None), data.pop("version", None)
    if "assignee_id" in data:
        data["assignee"] = _member(data.pop("assignee_id"))
    if "team_id" in data:
        data["team"] = _team(data.pop("team_id"))
    with transaction.atomic():
        if data or version is not None:
            services.ticket_update(ticket=ticket, actor=request.user, version=version, **data)
        if tags is not None:
            services.ticket_set_tags(ticket=ticket, names=tags, actor=request.user)
    return ticket_detail(number)


@tickets_router.post(
    "/{int:number}/messages",
    response={201: MessageOut, 400: ErrorOut, **NOT_FOUND},
    url_name="ticket_message_create",
)
def message_create(request: HttpRequest, number: int, payload: MessageCreateIn) -> Any:
    """A public reply (delivered through the ticket's channel) or an internal note."""
    ticket = ticket_get_for_agent(number=number)
    if payload.kind == Message.Kind.NOTE:
        text = payload.body_text or html_to_text(clean_html(payload.body_html))
        message = services.ticket_add_note(ticket=ticket, author=request.user, body_text=text)
    else:
        message = services.ticket_reply(
            ticket=ticket,
            author=request.user,
            body_text=payload.body_text,
            body_html=payload.body_html,
            set_status=payload.status,
        )
    return Status(201, message)


def ticket_detail(number: int) -> Ticket:
    ticket = ticket_get_for_agent(number=number)
    ticket.tag_names = ticket_tag_names(ticket)
    ticket.thread = ticket_thread(ticket)
    return ticket


def ticket_state(ticket: Ticket) -> dict[str, Any]:
    """The editable properties as stored now (what a 409 tells the caller)."""
    return {
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "category": ticket.category,
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "tags": ticket_tag_names(ticket),
        "version": ticket.version,
    }


def _member(user_id: int | None) -> User | None:
    """An active staff member of this tenant, or a 400."""
    if user_id is None:
        return None
    membership = (
        Membership.objects.filter(user_id=user_id, is_active=True).select_related("user").first()
    )
    if membership is None:
        raise services.TicketError(
            _("There is no active member with id %(id)s here.") % {"id": user_id}
        )
    return membership.user


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise services.TicketError(_("There is no team with id %(id)s here.") % {"id": team_id})
    return team


# --- Contacts --------------------------------------------------------------------------------


@contacts_router.get("", response={200: ContactPageOut, 400: ErrorOut}, url_name="contact_list")
def contact_list(request: HttpRequest, params: Query[ContactListQuery]) -> Any:
    """With `q`: the best matches by name, email or phone (one page). Without: every contact
    by id, in keyset pages (`next_cursor`)."""
    if params.q and params.q.strip():
        return {"results": contact_search(params.q, limit=params.limit), "next_cursor": None}
    if params.cursor and not params.cursor.isdigit():
        raise HttpError(400, _("Invalid cursor."))
    after = int(params.cursor) if params.cursor else 0
    rows = list(
        Contact.objects.filter(merged_into__isnull=True, pk__gt=after).order_by("pk")[
            : params.limit + 1
        ]
    )
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {"results": rows, "next_cursor": str(rows[-1].pk) if more else None}


@contacts_router.get(
    "/{int:contact_id}", response={200: ContactDetailOut, **NOT_FOUND}, url_name="contact_detail"
)
def contact_get(request: HttpRequest, contact_id: int) -> Any:
    """A customer with their identities (addresses, phones, chat ids) and newest tickets."""
    contact = Contact.objects.select_related("organization").get(pk=contact_id)
    contact.recent_tickets = contact_other_tickets(contact)
    return contact


@contacts_router.post(
    "",
    response={201: ContactDetailOut, 409: DuplicateOut, 422: ErrorOut},
    url_name="contact_create",
)
def contact_create_view(request: HttpRequest, payload: ContactCreateIn) -> Any:
    try:
        contact = contact_create(**payload.model_dump())
    except ContactExistsError as exc:
        message = _("A contact with this email address already exists.")
        return Status(409, {"error": message, "id": exc.contact.pk})
    contact.recent_tickets = []
    return Status(201, contact)

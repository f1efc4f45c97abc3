"""The customer portal's reads and writes (/portal/, tickets/views/portal.py calls these only).

Who sees what: a contact sees the requests they are the requester of (tickets of contacts
merged into them count as theirs), and, when their organization has `shared_requests`, every
request of that organization. Anything else does not exist for them (`request_for` returns
None, the view answers 404). There is no CC on tickets, so being copied gives no access.

A signed-out visitor who holds a follow link (`follow_url`) sees one ticket: the link is a
signed token for (tenant, ticket), valid FOLLOW_DAYS days.

Writes go through tickets.services like every channel: a portal reply is an inbound customer
message (`ticket_add_inbound`: reopens, SLA next-response clock, "customer replied"
automation), solving and reopening are `ticket_update` status changes plus a timeline event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.lib import clock
from helpdesk.tenancy.context import require_current_tenant

from . import services
from .attachments import AttachmentError, attachment_validate
from .models import Attachment, Contact, Message, Organization, Ticket, TicketEvent

FOLLOW_SALT = "tickets.portal.follow"
FOLLOW_DAYS = 30
PAGE_SIZE = 20
MAX_FILES = 10
REPLY_MAX = 50_000
SOLVED_BY_CUSTOMER = "solved by the customer"
REOPENED_BY_CUSTOMER = "reopened by the customer"


class PortalError(services.TicketError):
    """A step the customer may not take now; the message is shown as is."""


# --- What the customer reads -------------------------------------------------------------------

CUSTOMER_STATUS = {
    Ticket.Status.NEW: ("open", gettext_lazy("Open")),
    Ticket.Status.OPEN: ("open", gettext_lazy("Open")),
    Ticket.Status.ON_HOLD: ("open", gettext_lazy("Open")),
    Ticket.Status.PENDING: ("awaiting", gettext_lazy("Awaiting your reply")),
    Ticket.Status.SOLVED: ("solved", gettext_lazy("Solved")),
    Ticket.Status.CLOSED: ("closed", gettext_lazy("Closed")),
}
# The list's filter: ?status=open | solved | all, mapped to fixed lookups (never the request's).
STATUS_FILTERS = {
    "open": Q(status__in=Ticket.OPEN_STATUSES),
    "solved": Q(status__in=(Ticket.Status.SOLVED, Ticket.Status.CLOSED)),
    "all": Q(),
}
SCOPES = ("mine", "organization")


def customer_status(ticket: Ticket) -> tuple[str, str]:
    """(key, label) in the customer's words: open / awaiting / solved / closed."""
    key, label = CUSTOMER_STATUS.get(ticket.status, ("open", gettext_lazy("Open")))
    return key, str(label)


def portal_contact(contact: Contact) -> Contact:
    """The contact who stands for `contact`: a merged contact speaks for the one it was merged
    into (merging moves the login there, so this only matters for old sessions and links)."""
    for _hop in range(5):
        if not contact.merged_into_id:
            break
        contact = Contact.objects.select_related("organization").get(pk=contact.merged_into_id)
    return contact


def shares_requests(contact: Contact) -> bool:
    """Whether the contact's organization lets its members see each other's requests."""
    if not contact.organization_id:
        return False
    organization = contact.organization
    return bool(organization and organization.shared_requests)


def _mine(contact: Contact) -> Q:
    """The contact's own tickets and those of contacts merged into them, as a list of
    requester ids: `requester_id IN (…)` reads the (tenant, requester) index, where a join
    through Contact.merged_into would read every ticket of the tenant."""
    merged = Contact.objects.filter(merged_into=contact).values_list("pk", flat=True)[:100]
    return Q(requester_id__in=[contact.pk, *merged])


def _organization(contact: Contact) -> Q:
    return Q(organization_id=contact.organization_id) if shares_requests(contact) else Q(pk__in=[])


def visible_requests(contact: Contact, *, scope: str = "") -> QuerySet[Ticket]:
    """The requests `contact` may see: their own, and their organization's when it shares
    them. `scope` "mine" or "organization" narrows to one of the two (the list's tabs)."""
    contact = portal_contact(contact)
    if scope == "mine":
        match = _mine(contact)
    elif scope == "organization":
        match = _organization(contact)
    else:
        match = _mine(contact) | _organization(contact)
    return Ticket.objects.filter(match)


def request_list(
    contact: Contact, *, scope: str = "mine", status: str = "all", query: str = ""
) -> QuerySet[Ticket]:
    """The list page's requests, most recently active first, with `last_public_at` (the last
    message the customer can see: internal notes move last_activity_at, which is not theirs
    to know). Merged-away tickets are left out (their messages live on the target)."""
    tickets = visible_requests(contact, scope=scope if scope in SCOPES else "mine")
    tickets = tickets.filter(STATUS_FILTERS.get(status, STATUS_FILTERS["all"]))
    tickets = tickets.filter(merged_into__isnull=True)
    query = " ".join(query.split())[:100]
    if query:
        number = query.lstrip("#")
        match = Q(subject__icontains=query)
        if number.isdigit() and len(number) < 10:
            match |= Q(number=int(number))
        tickets = tickets.filter(match)
    last_public = (
        Message.objects.filter(ticket=OuterRef("pk"), kind=Message.Kind.REPLY)
        .values("ticket")
        .annotate(at=Max("created_at"))
        .values("at")
    )
    return (
        tickets.select_related("requester")
        .annotate(last_public_at=Subquery(last_public))
        .order_by("-last_activity_at", "-id")
    )


def request_for(contact: Contact, number: int) -> Ticket | None:
    """Ticket `number` if `contact` may see it, else None (the view's 404)."""
    return (
        visible_requests(contact)
        .select_related("requester", "organization", "merged_into")
        .filter(number=number)
        .first()
    )


def request_by_number(number: int) -> Ticket | None:
    """Ticket `number` of the current tenant, for a follow-link grant already checked."""
    return (
        Ticket.objects.select_related("requester", "organization", "merged_into")
        .filter(number=number)
        .first()
    )


@dataclass(frozen=True)
class ThreadItem:
    kind: str  # "message" or "event"
    at: datetime
    message: Message | None = None
    text: str = ""
    from_customer: bool = False
    author: str = ""


# Timeline events a customer may see, and how they read. Everything else (notes, routing,
# assignment, SLA, automation) stays inside.
def _event_text(event: TicketEvent) -> str:
    if event.kind == "customer_solved":
        return _("Solved by the customer")
    if event.kind == "customer_reopened":
        return _("Reopened by the customer")
    if event.kind == "status":
        new = event.data.get("new")
        if event.reason in (SOLVED_BY_CUSTOMER, REOPENED_BY_CUSTOMER):
            return ""  # said by the customer_* event next to it
        if new == Ticket.Status.SOLVED:
            return _("Marked as solved by the support team")
        if new == Ticket.Status.CLOSED:
            return _("Closed")
        if new == Ticket.Status.OPEN and event.data.get("old") in ("solved", "closed"):
            return _("Reopened")
    return ""


def request_thread(ticket: Ticket) -> list[ThreadItem]:
    """The public conversation: public messages (the customer's and the help desk's, never
    internal notes) with their attachments, and the status changes worth telling the customer,
    oldest first. Agents appear by their display name only."""
    messages = list(
        Message.objects.filter(ticket=ticket, kind=Message.Kind.REPLY)
        .select_related("author_user", "author_contact")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    support = _("%(name)s support") % {"name": require_current_tenant().name}
    items = []
    for message in messages:
        customer = message.direction == Message.Direction.IN
        if customer:
            contact = message.author_contact
            author = (contact.name or contact.email) if contact else _("Customer")
        else:
            user = message.author_user
            author = (user.get_full_name() or support) if user else support
        items.append(ThreadItem("message", message.created_at, message=message,
                                from_customer=customer, author=author))  # fmt: skip
    events = TicketEvent.objects.filter(
        ticket=ticket, kind__in=("status", "customer_solved", "customer_reopened")
    ).order_by("created_at", "id")
    for event in events:
        text = _event_text(event)
        if text:
            items.append(ThreadItem("event", event.created_at, text=text))
    items.sort(key=lambda item: item.at)
    return items


def attachment_for(ticket: Ticket, attachment_id: int) -> Attachment | None:
    """An attachment of one of the ticket's public messages (never of a note)."""
    return (
        Attachment.objects.filter(
            pk=attachment_id, message__ticket=ticket, message__kind=Message.Kind.REPLY
        )
        .select_related("message")
        .first()
    )


# --- What the customer may do --------------------------------------------------------------


def reopen_deadline(ticket: Ticket) -> datetime | None:
    """Until when a solved request may be reopened (Tenant.portal_reopen_days; 0 = never)."""
    days = require_current_tenant().portal_reopen_days
    if ticket.status != Ticket.Status.SOLVED or not days or ticket.solved_at is None:
        return None
    return ticket.solved_at + timedelta(days=days)


def can_reopen(ticket: Ticket, *, now: datetime | None = None) -> bool:
    deadline = reopen_deadline(ticket)
    return deadline is not None and (now or clock.now()) <= deadline and not ticket.merged_into_id


def can_solve(ticket: Ticket) -> bool:
    return ticket.is_open and not ticket.merged_into_id


def can_reply(ticket: Ticket) -> bool:
    """Open requests take replies; a solved one while it may still be reopened (the reply
    reopens it); closed ones and solved ones past the window are read-only."""
    return can_solve(ticket) or can_reopen(ticket)


def offers_follow_up(ticket: Ticket) -> bool:
    return not ticket.is_open and not can_reopen(ticket)


def _locked(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("requester", "merged_into")
        .get(pk=ticket.pk)
    )


def _sync(ticket: Ticket, current: Ticket) -> None:
    for field in ("status", "solved_at", "version", "last_activity_at", "snippet"):
        setattr(ticket, field, getattr(current, field))


def check_attachments(files: Sequence[UploadedFile]) -> list[str]:
    """What is wrong with the files, in sentences (tickets.attachments' rules); [] when fine."""
    if len(files) > MAX_FILES:
        return [_("Attach at most %(n)d files.") % {"n": MAX_FILES}]
    problems = []
    for upload in files:
        try:
            attachment_validate(upload)
        except AttachmentError as error:
            problems.append(str(error))
    return problems


@transaction.atomic
def customer_reply(
    *,
    ticket: Ticket,
    contact: Contact,
    body_text: str,
    attachments: Sequence[UploadedFile] = (),
    token: str = "",
) -> Message:
    """The customer's message on their request, through the same service as an email reply.
    `token` (the form's) makes a resubmission return the first message instead of a second."""
    current = _locked(ticket)
    key = f"portal:{token}"[:500] if token else ""
    if key:
        sent = Message.objects.filter(ticket=current, external_id=key).first()
        if sent is not None:
            return sent
    if not can_reply(current):
        raise PortalError(_("This request is closed to replies. Open a follow-up request."))
    text = (body_text or "").strip()
    if not text and not attachments:
        raise PortalError(_("Write a message before sending it."))
    if len(text) > REPLY_MAX:
        raise PortalError(_("The message is too long."))
    problems = check_attachments(attachments)
    if problems:
        raise PortalError(" ".join(problems))
    message = services.ticket_add_inbound(
        ticket=current,
        contact=portal_contact(contact),
        body_text=text,
        channel=Ticket.Channel.PORTAL,
        external_id=key,
        attachments=attachments,
        reason=_("customer replied"),
    )
    _sync(ticket, current)
    return message


@transaction.atomic
def customer_solve(*, ticket: Ticket, contact: Contact) -> Ticket:
    """ "This is solved": the customer closes their open request themselves."""
    current = _locked(ticket)
    if not can_solve(current):
        raise PortalError(_("This request is not open."))
    services.ticket_update(
        ticket=current, actor=None, reason=SOLVED_BY_CUSTOMER, status=Ticket.Status.SOLVED
    )
    services.event(ticket=current, kind="customer_solved", actor=None, contact=contact.pk)
    _sync(ticket, current)
    return ticket


@transaction.atomic
def customer_reopen(*, ticket: Ticket, contact: Contact) -> Ticket:
    """Reopen a solved request within the tenant's reopen window."""
    current = _locked(ticket)
    if not can_reopen(current):
        raise PortalError(_("This request can no longer be reopened. Open a follow-up request."))
    services.ticket_update(
        ticket=current, actor=None, reason=REOPENED_BY_CUSTOMER, status=Ticket.Status.OPEN
    )
    services.event(ticket=current, kind="customer_reopened", actor=None, contact=contact.pk)
    _sync(ticket, current)
    return ticket


def follow_up_text(ticket: Ticket) -> tuple[str, str]:
    """The subject and first line prefilled in a follow-up request."""
    subject = _("Follow-up to #%(n)s: %(subject)s") % {
        "n": ticket.number,
        "subject": ticket.subject,
    }
    body = _("This follows up on my request #%(n)s.") % {"n": ticket.number}
    return subject[:250], body + "\n\n"


def follow_up_create(
    *, ticket: Ticket, contact: Contact, subject: str, description: str, token: str,
    attachments: Sequence[UploadedFile] = (), language: str = "",
) -> Ticket:  # fmt: skip
    """A new request that refers to `ticket`, submitted like the portal's request form (the
    form's token makes it once-only), linked to the old one for the agents."""
    from channels_in.webform import submit_request

    problems = check_attachments(attachments)
    if problems:
        raise PortalError(" ".join(problems))
    result = submit_request(
        token=token, subject=subject, description=description, contact=portal_contact(contact),
        attachments=attachments, language=language,
    )  # fmt: skip
    new = result.ticket
    if new.pk != ticket.pk and not result.duplicate:
        services.ticket_link(ticket=new, other=ticket, actor=None)
    return new


# --- Follow links: one ticket, no account ---------------------------------------------------


def follow_token(ticket: Ticket) -> str:
    issued = int(clock.now().timestamp())
    return signing.dumps({"t": ticket.tenant_id, "k": ticket.pk, "i": issued}, salt=FOLLOW_SALT)


def follow_url(ticket: Ticket, *, absolute: bool = False) -> str:
    path = reverse(
        "portal:request_follow",
        kwargs={"request_number": ticket.number, "follow_token": follow_token(ticket)},
    )
    if not absolute:
        return path
    from helpdesk.tenancy.resolve import tenant_base_url

    return tenant_base_url(require_current_tenant()) + path


@dataclass(frozen=True)
class FollowGrant:
    ticket: Ticket
    expires: float  # a POSIX timestamp: the link's own expiry, which a session grant keeps


def follow_grant(number: int, token: str) -> FollowGrant | None:
    """What a follow link grants: ticket `number`, if the token is genuine, younger than
    FOLLOW_DAYS, and for this tenant and this very ticket; else None."""
    try:
        data = signing.loads(token, salt=FOLLOW_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("t") != require_current_tenant().pk:
        return None
    issued = data.get("i")
    if not isinstance(issued, int):
        return None
    expires = issued + FOLLOW_DAYS * 24 * 3600
    now = clock.now().timestamp()
    if now < issued - 60 or now > expires:
        return None
    ticket = request_by_number(number)
    if ticket is None or ticket.pk != data.get("k"):
        return None
    return FollowGrant(ticket, expires)


def ticket_for_follow_token(number: int, token: str) -> Ticket | None:
    grant = follow_grant(number, token)
    return grant.ticket if grant else None


# --- Organizations (the contact page's profile form) ---------------------------------------


@transaction.atomic
def organization_share_requests(*, organization: Organization, shared: bool) -> bool:
    """Let the organization's contacts see each other's requests in the portal (or stop).
    True when it changed."""
    changed = (
        Organization.objects.filter(pk=organization.pk)
        .exclude(shared_requests=shared)
        .update(shared_requests=shared)
    )
    organization.shared_requests = shared
    return bool(changed)


# --- Hooks for other issues ---------------------------------------------------------------


def rating_hook(ticket: Ticket) -> None:
    """Where the surveys issue plugs the request page's satisfaction rating in: the view puts
    `portal_rating` (None until then) in the page context. No rating UI exists yet."""
    return None

"""Outbound mail for public replies: threading headers clients understand, the ticket number
in the subject, and a reply address that leads back to the ticket."""

from __future__ import annotations

import base64
import hmac
import re
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import strip_tags

from helpdesk.tenancy.context import require_current_tenant

from .models import Message, Ticket


def support_address() -> str:
    tenant = require_current_tenant()
    return f"support@{tenant.slug}.{settings.HELPDESK_BASE_DOMAIN}"


def reply_token(ticket_number: int) -> str:
    """A short signature of (tenant, ticket number): the reply address names the ticket and
    proves the writer got it from us, so it cannot be guessed from a ticket number."""
    tenant = require_current_tenant()
    mac = hmac.new(
        settings.SECRET_KEY.encode(), f"reply:{tenant.pk}:{ticket_number}".encode(), "sha256"
    )
    return base64.b32encode(mac.digest()).decode()[:10].lower()


def reply_address(ticket: Ticket) -> str:
    """support+t<number>.<token>@…: replies come back to the ticket even from clients that
    drop threading headers."""
    local, domain = support_address().split("@", 1)
    return f"{local}+t{ticket.number}.{reply_token(ticket.number)}@{domain}"


REPLY_ADDRESS = re.compile(r"\+t(\d{1,9})\.([a-z2-7]{10})@", re.I)


def ticket_number_from_address(address: str) -> int | None:
    """The ticket number of a genuine reply address (a forged or stale token gives None)."""
    found = REPLY_ADDRESS.search(address)
    if not found:
        return None
    number, token = int(found.group(1)), found.group(2).lower()
    return number if hmac.compare_digest(token, reply_token(number)) else None


def message_id_for(message: Message) -> str:
    """Our Message-ID for an outbound message: stable once assigned, unique, on our domain."""
    tenant = require_current_tenant()
    return make_msgid(
        idstring=f"t{message.ticket.number}.m{message.pk}",
        domain=f"{tenant.slug}.{settings.HELPDESK_BASE_DOMAIN}",
    )


def thread_ids(ticket: Ticket, *, before: Message) -> list[str]:
    """Message-IDs of the ticket's earlier messages, oldest first (for References)."""
    ids = (
        Message.objects.filter(ticket=ticket, kind=Message.Kind.REPLY, id__lt=before.pk)
        .exclude(external_id="")
        .order_by("id")
        .values_list("external_id", flat=True)
    )
    return list(ids)[-20:]


def subject_for(ticket: Ticket) -> str:
    tag = f"[#{ticket.number}]"
    subject = ticket.subject if tag in ticket.subject else f"{ticket.subject} {tag}"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def build_email(message: Message) -> EmailMultiAlternatives:
    ticket = message.ticket
    tenant = require_current_tenant()
    references = thread_ids(ticket, before=message)
    headers = {"Message-ID": message.external_id, "Auto-Submitted": "no"}
    if message.author_user_id is None:  # the help desk's own reply (acknowledgement, trigger)
        # RFC 3834: mark it, and ask Exchange not to answer it, so no robot replies to it.
        headers.update({"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"})
    if references:
        headers["In-Reply-To"] = references[-1]
        headers["References"] = " ".join(references)
    sender = message.author_user.get_full_name() if message.author_user else tenant.name
    email = EmailMultiAlternatives(
        subject=subject_for(ticket),
        body=message.body_text or strip_tags(message.body_html),
        from_email=formataddr((f"{sender} ({tenant.name})", support_address())),
        to=[formataddr((ticket.requester.name, ticket.requester.email))],
        headers=headers,
        reply_to=[reply_address(ticket)],
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    return email

"""The web form and portal submission into the ingest pipeline.

A form carries a random token; it is the message's idempotency key, so a refresh, a double
click or a retry after a timeout returns the ticket the first submission opened (kept in the
database, not only in Redis). Rate limits per IP and per address slow down floods; the
honeypot field is handled by the view.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile

from helpdesk.lib.ratelimit import allow
from tickets.models import Contact, ContactIdentity, Ticket

from .inbound import InboundAttachment, InboundMessage
from .ingest import IngestResult, ingest

PER_IP = (10, 60 * 60)  # submissions, seconds
PER_EMAIL = (5, 60 * 60)


class TooManyRequests(Exception):
    pass


def check_rate(*, ip: str, email: str) -> None:
    """Raise TooManyRequests past 10 requests an hour from one IP or 5 for one address."""
    if ip and not allow("web-form-ip", ip, limit=PER_IP[0], window=PER_IP[1]):
        raise TooManyRequests
    if email and not allow("web-form-email", email, limit=PER_EMAIL[0], window=PER_EMAIL[1]):
        raise TooManyRequests


def submit_request(
    *,
    token: str,
    subject: str,
    description: str,
    email: str = "",
    name: str = "",
    contact: Contact | None = None,
    attachments: Sequence[UploadedFile] = (),
    language: str = "",
) -> IngestResult:
    """Open a ticket from the form (web for visitors, portal for signed-in customers)."""
    address = contact.email if contact is not None else email.strip().lower()
    files = [
        InboundAttachment(
            upload.name or "attachment",
            getattr(upload, "content_type", "") or "application/octet-stream",
            upload.read(),
        )
        for upload in attachments
    ]
    return ingest(
        InboundMessage(
            channel=Ticket.Channel.PORTAL if contact is not None else Ticket.Channel.WEB,
            key=f"form:{token}",
            identity_kind=ContactIdentity.Kind.EMAIL,
            identity=address,
            sender_name=contact.name if contact is not None else name.strip(),
            subject=" ".join(subject.split()),
            text=description.strip(),
            attachments=files,
            email=address,
            language=language,
        )
    )

"""The one path by which inbound messages become ticket messages (DESIGN.md §5).

    ingest(InboundMessage) -> IngestResult

Every channel adapter (email, web form, chat, messaging apps) builds an `InboundMessage` and
calls this inside the tenant's context. In one transaction it:
1. claims the idempotency key (channel, key): a second delivery of the same message returns
   the first result and writes nothing;
2. finds the sender's contact by channel identity (or creates one);
3. threads onto a ticket (`find_ticket`; the reason is recorded on the timeline) or opens one;
   a reply to a closed ticket reopens it or opens a linked follow-up, per tenant setting;
4. stores the message and its attachments (a refused attachment becomes a note on the
   message, never a lost message).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from helpdesk.tenancy.context import require_current_tenant
from tickets import services
from tickets.attachments import AttachmentError, attachment_store
from tickets.contacts import contact_add_identity, contact_for_email, identity_normalise
from tickets.models import Contact, ContactIdentity, Message, Ticket

from .inbound import InboundAttachment, InboundMessage
from .models import ChannelSettings, InboundKey

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    ticket: Ticket
    message: Message
    created: bool  # a new ticket was opened
    duplicate: bool  # this exact message had been ingested before; nothing was written
    reason: str  # how the message found its ticket


def channel_settings() -> ChannelSettings:
    found = ChannelSettings.objects.first()
    return found if found is not None else ChannelSettings()


@transaction.atomic(savepoint=False)  # the caller's transaction, or its own: no savepoint
def ingest(
    inbound: InboundMessage,
    *,
    max_attachment_bytes: int | None = None,
    settings: ChannelSettings | None = None,
) -> IngestResult:
    claim_id = _claim(inbound)
    if claim_id is None:  # delivered before (or concurrently, and that one committed first)
        earlier = _earlier(inbound)
        if earlier is None:
            raise RuntimeError(f"Inbound key {inbound.key[:80]!r} is claimed but has no message.")
        return earlier
    contact = contact_for(inbound)
    ticket, reason = find_ticket(inbound, contact)
    settings = settings or channel_settings()
    previous = None
    follow_up = settings.closed_reply == ChannelSettings.ClosedReply.FOLLOW_UP
    if ticket is not None and ticket.status == Ticket.Status.CLOSED and follow_up:
        previous, ticket = ticket, None
        reason = f"follow-up to closed #{previous.number}"
    limit = max_attachment_bytes or settings.max_attachment_mb * 1024 * 1024
    uploads, refused = _uploads(inbound.attachments, limit)
    body = inbound.reply_text if ticket is not None and inbound.reply_text else inbound.text
    text = _with_notes(body, [*inbound.notes, *refused])
    if ticket is None:
        ticket = services.ticket_create(
            requester=contact,
            subject=inbound.subject,
            body_text=text,
            body_html=inbound.html,
            channel=inbound.channel,
            external_id=inbound.external_id,
            language=inbound.language,
            automation=_automation(inbound),
        )
        message = ticket.first_message
        created = True
        reason = reason or "new conversation"
        if previous is not None:
            services.ticket_link(ticket=ticket, other=previous, actor=None)
    else:
        message = services.ticket_add_inbound(
            ticket=ticket,
            contact=contact,
            body_text=text,
            body_html=inbound.html,
            channel=inbound.channel,
            external_id=inbound.external_id,
            references=" ".join(inbound.references),
            in_reply_to=inbound.references[-1] if inbound.references else "",
            reopen_closed=True,
            reason=_("customer replied"),
            automation=_automation(inbound),
        )
        created = False
    stored = {upload: attachment_store(message=message, upload=upload) for upload in uploads}
    _link_inline_images(message, stored)
    if not created:  # a new ticket's "created" event already says where it came from
        services.event(ticket=ticket, kind="received", actor=None, reason=reason[:300],
                       channel=inbound.channel, message_id=message.pk)  # fmt: skip
    InboundKey.objects.filter(pk=claim_id).update(message=message)
    return IngestResult(ticket, message, created=created, duplicate=False, reason=reason)


def _claim(inbound: InboundMessage) -> int | None:
    """Claim the message's idempotency key: its id, or None when it was claimed before.

    One `INSERT … ON CONFLICT DO NOTHING`: a new message (the common case) costs one
    statement and no savepoint. A concurrent delivery of the same key waits here until the
    first one commits (then gets None) or rolls back (then claims it)."""
    table = InboundKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, channel, key, created_at) "  # noqa: S608 - names are ours
            "VALUES (%s, %s, %s, now()) "
            "ON CONFLICT ON CONSTRAINT inboundkey_tenant_channel_key_uniq DO NOTHING RETURNING id",
            [require_current_tenant().pk, inbound.channel, inbound.key[:600]],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _automation(inbound: InboundMessage) -> dict:
    """What the automation pipeline needs to know about the message (loop safety, routing
    on the mailbox)."""
    data: dict = {"automatic": bool(inbound.is_automatic)}
    if inbound.mailbox_id is not None:
        data["mailbox"] = inbound.mailbox_id
    return data


def _earlier(inbound: InboundMessage) -> IngestResult | None:
    found = (
        InboundKey.objects.filter(channel=inbound.channel, key=inbound.key[:600])
        .select_related("message__ticket")
        .first()
    )
    if found is None or found.message is None:
        return None
    message = found.message
    return IngestResult(message.ticket, message, created=False, duplicate=True,
                        reason="duplicate delivery")  # fmt: skip


# --- Who wrote it ---------------------------------------------------------------------------


def contact_for(inbound: InboundMessage) -> Contact:
    """The contact behind the sender's channel identity; created on first contact."""
    if inbound.identity_kind == ContactIdentity.Kind.EMAIL:
        return contact_for_email(email=inbound.identity, name=inbound.sender_name)
    identity = (
        ContactIdentity.objects.filter(
            kind=inbound.identity_kind,
            value=identity_normalise(inbound.identity_kind, inbound.identity),
        )
        .select_related("contact")
        .first()
    )
    if identity is not None:
        contact = identity.contact
        for _hop in range(5):
            if not contact.merged_into_id:
                break
            contact = Contact.objects.get(pk=contact.merged_into_id)
        return contact
    if inbound.email:
        contact = contact_for_email(email=inbound.email, name=inbound.sender_name)
    else:
        contact = Contact.objects.create(name=inbound.sender_name or inbound.identity[:150])
    contact_add_identity(
        contact=contact, kind=inbound.identity_kind, value=inbound.identity, actor=None
    )
    return contact


# --- Which ticket ---------------------------------------------------------------------------


def find_ticket(inbound: InboundMessage, contact: Contact) -> tuple[Ticket | None, str]:
    """The ticket this message continues, and why; (None, "") for a new conversation.

    1. a Message-ID it replies to (In-Reply-To / References) is one of the ticket's messages;
    2. the channel proved the ticket (a signed reply address, a chat session);
    3. `[#123]` in the subject, but only when the sender is that ticket's requester or was on
       its thread: knowing a ticket number must not let a stranger write into it.
    """
    if inbound.references:
        found = (
            Message.objects.filter(external_id__in=inbound.references[-50:])
            .exclude(external_id="")
            .select_related("ticket")
            .order_by("-id")
            .first()
        )
        if found is not None:
            return _live(found.ticket), f"replied to message {found.external_id[:80]}"
    if inbound.ticket_number is not None:
        ticket = Ticket.objects.filter(number=inbound.ticket_number).first()
        if ticket is not None:
            return _live(ticket), "reply address of the ticket"
    if inbound.subject_number is not None:
        ticket = Ticket.objects.filter(number=inbound.subject_number).first()
        if ticket is not None and _is_participant(ticket, contact, inbound):
            return _live(ticket), f"[#{ticket.number}] in the subject, from a participant"
    return None, ""


def _live(ticket: Ticket) -> Ticket:
    """A merged ticket stands for the one it was merged into."""
    for _hop in range(5):
        if not ticket.merged_into_id:
            break
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def _is_participant(ticket: Ticket, contact: Contact, inbound: InboundMessage) -> bool:
    if ticket.requester_id == contact.pk:
        return True
    if Message.objects.filter(ticket=ticket, author_contact=contact).exists():
        return True
    from .models import InboundEmail  # the addresses that were on the ticket's emails

    address = inbound.identity.lower()
    return any(
        address in (row or "").lower().split("\n")
        for row in InboundEmail.objects.filter(ticket=ticket).values_list("recipients", flat=True)[
            :200
        ]
    )


# --- Attachments and notes ------------------------------------------------------------------


def _uploads(
    attachments: list[InboundAttachment], limit: int
) -> tuple[list[SimpleUploadedFile], list[str]]:
    from tickets.attachments import attachment_validate

    uploads, refused = [], []
    for attachment in attachments:
        if len(attachment.content) > limit:
            refused.append(
                _("%(name)s (%(size)d KB) was not attached: the limit is %(limit)d MB.")
                % {
                    "name": attachment.filename,
                    "size": len(attachment.content) // 1024,
                    "limit": limit // (1024 * 1024),
                }  # fmt: skip
            )
            continue
        upload = SimpleUploadedFile(
            attachment.filename or "attachment", attachment.content, attachment.content_type
        )
        upload.content_id = attachment.content_id
        try:
            attachment_validate(upload)
        except AttachmentError as error:
            refused.append(str(error))
            continue
        uploads.append(upload)
    return uploads, refused


def _link_inline_images(message: Message, stored: dict) -> None:
    """Point the HTML's cid: images at the stored attachments (our permission-checked URLs)."""
    if "cid:" not in message.body_html:
        return
    html = message.body_html
    for upload, attachment in stored.items():
        content_id = getattr(upload, "content_id", "")
        if content_id:
            url = reverse("tickets:attachment", kwargs={"attachment_id": attachment.pk})
            html = html.replace(f"cid:{content_id}", url)
    if html != message.body_html:
        message.body_html = html
        Message.objects.filter(pk=message.pk).update(body_html=html)


def _with_notes(text: str, notes: list[str]) -> str:
    if not notes:
        return text
    listed = "\n".join(f"- {note}" for note in notes)
    return f"{text}\n\n[{_('Help desk')}]\n{listed}".strip()

"""Email into the ingest pipeline: the single entry point for IMAP, SMTP, the raw-MIME webhook
and `manage.py ingest_email`.

    receive_email(raw, via=InboundEmail.Via.SMTP, mailbox=None) -> InboundEmail

The raw bytes are stored first, in their own transaction, so nothing that reached us can be
lost. Then the message is parsed and ingested in a second transaction; if that fails (hostile
or broken mail, a bug), the stored row is marked failed with the reason and shows in the
admins' "unprocessed mail" list, from where it can be retried. The worker never crashes on it.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.db import transaction
from django.utils import timezone

from tickets.models import ContactIdentity, Message, Ticket
from tickets.outbound import support_address, ticket_number_from_address

from .email_parse import EmailParseError, ParsedEmail, clean_subject, parse_email, strip_quoted
from .inbound import InboundAttachment, InboundMessage
from .ingest import IngestResult, channel_settings, ingest
from .models import BouncedAddress, ChannelSettings, InboundEmail, Mailbox

logger = logging.getLogger(__name__)
MAX_RAW_BYTES = 50 * 1024 * 1024


def receive_email(raw: bytes, *, via: str, mailbox: Mailbox | None = None) -> InboundEmail:
    """Store, parse and ingest one raw message in the current tenant. Never raises for bad
    mail: the returned row says what happened (`status`, `error`, `ticket`)."""
    stored = _store(raw, via=via, mailbox=mailbox)
    if stored.status != InboundEmail.Status.RECEIVED:
        return stored  # the same bytes were delivered before
    return process(stored)


def receive_emails(
    raws: Sequence[bytes], *, via: str, mailbox: Mailbox | None = None
) -> list[InboundEmail]:
    """`receive_email` for a batch of one mailbox (an IMAP FETCH, a directory of .eml files):
    the same results, in two transactions for the whole batch instead of two per message.

    All raw bytes are stored first and committed. Then every message is processed in one
    transaction; a message the parser rejects is marked failed inside it (parsing writes
    nothing, so nothing needs undoing). Should anything fail after a message started writing,
    the batch is rolled back and each message is processed alone, so one bad message costs
    the others nothing but time."""
    rows = [_store(raw, via=via, mailbox=mailbox) for raw in raws] if len(raws) < 2 else (
        _store_batch(raws, via=via, mailbox=mailbox)
    )  # fmt: skip
    waiting = [row for row in rows if row.status == InboundEmail.Status.RECEIVED]
    if len(waiting) < 2:
        return [process(row) if row.status == InboundEmail.Status.RECEIVED else row
                for row in rows]  # fmt: skip
    try:
        with transaction.atomic():
            settings = channel_settings()
            for row in waiting:
                try:
                    parsed = _parse(row, settings)
                except Exception as error:  # noqa: BLE001 - broken mail: flagged, batch goes on
                    _mark_failed(row, error)
                    continue
                _ingest_parsed(row, parsed, settings)
    except Exception:  # noqa: BLE001 - a failure mid-write: redo one by one, each alone
        logger.warning("inbound batch of %d rolled back; processing one by one", len(waiting),
                       exc_info=True)  # fmt: skip
        ids = [row.pk for row in waiting]
        fresh = {row.pk: row for row in InboundEmail.objects.filter(pk__in=ids)}
        done = {pk: process(fresh[pk]) for pk in ids}
        return [done.get(row.pk, row) for row in rows]
    return rows


def process(stored: InboundEmail) -> InboundEmail:
    """Parse and ingest a stored message (also the admins' "retry" action)."""
    try:
        with transaction.atomic():
            settings = channel_settings()
            _ingest_parsed(stored, _parse(stored, settings), settings)
    except Exception as error:  # noqa: BLE001 - hostile or broken mail must not stop the worker
        _mark_failed(stored, error)
    return stored


def _parse(stored: InboundEmail, settings: ChannelSettings) -> ParsedEmail:
    return parse_email(
        bytes(stored.raw), max_attachment_bytes=settings.max_attachment_mb * 1024 * 1024
    )


def _ingest_parsed(stored: InboundEmail, parsed: ParsedEmail, settings: ChannelSettings) -> None:
    retry = stored.status == InboundEmail.Status.FAILED
    _describe(stored, parsed)
    if parsed.is_bounce:
        result = _bounce(parsed)
    else:
        result = ingest(to_inbound(parsed, mailbox=stored.mailbox), settings=settings)
    if result is None:
        stored.status = InboundEmail.Status.PROCESSED
        stored.thread_reason = "bounce of a message we did not send"
    else:
        stored.ticket, stored.message = result.ticket, result.message
        stored.thread_reason = result.reason[:100]
        stored.status = (
            InboundEmail.Status.DUPLICATE
            if result.duplicate
            else InboundEmail.Status.RETRIED
            if retry
            else InboundEmail.Status.PROCESSED
        )
    stored.notes = "\n".join(parsed.notes)
    stored.error = ""
    stored.save(update_fields=[  # not `raw`: it is stored already, and can be large
        "header_message_id", "sender", "recipients", "subject", "is_auto", "status",
        "ticket", "message", "thread_reason", "notes", "error",
    ])  # fmt: skip


def _mark_failed(stored: InboundEmail, error: Exception) -> None:
    logger.warning("inbound email %s failed: %s", stored.pk, error)
    detail = "" if isinstance(error, EmailParseError) else traceback.format_exc(limit=5)
    InboundEmail.objects.filter(pk=stored.pk).update(
        status=InboundEmail.Status.FAILED,
        error=f"{type(error).__name__}: {error}\n{detail}".strip()[:5000],
        **_headers_for_admins(bytes(stored.raw)),
    )
    stored.refresh_from_db()


def _headers_for_admins(raw: bytes) -> dict[str, str]:
    """What the unprocessed-mail list can show of a message the parser gave up on."""
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:65536])
        return {
            "sender": str(headers.get("From", "") or headers.get("Return-Path", ""))[:320],
            "subject": str(headers.get("Subject", ""))[:500],
            "header_message_id": str(headers.get("Message-ID", ""))[:500],
        }
    except Exception:  # noqa: BLE001 - best effort only
        return {}


def _store(raw: bytes, *, via: str, mailbox: Mailbox | None) -> InboundEmail:
    digest = hashlib.sha256(raw).hexdigest()
    with transaction.atomic():
        same = (
            InboundEmail.objects.filter(raw_digest=digest)
            .exclude(status=InboundEmail.Status.FAILED)
            .only("id", "status", "ticket", "message")
            .first()
        )
        stored = InboundEmail.objects.create(
            mailbox=mailbox,
            via=via,
            raw=raw[:MAX_RAW_BYTES],
            size=len(raw),
            raw_digest=digest,
            status=InboundEmail.Status.DUPLICATE if same else InboundEmail.Status.RECEIVED,
            ticket_id=same.ticket_id if same else None,
            message_id=same.message_id if same else None,  # the tickets.Message it became
            thread_reason="same bytes delivered again" if same else "",
        )
    if len(raw) > MAX_RAW_BYTES:
        InboundEmail.objects.filter(pk=stored.pk).update(
            status=InboundEmail.Status.FAILED,
            error=f"Message of {len(raw) // (1024 * 1024)} MB is over the 50 MB limit; "
            "the first 50 MB are kept.",
        )
        stored.refresh_from_db()
    return stored


def _store_batch(raws: Sequence[bytes], *, via: str, mailbox: Mailbox | None) -> list[InboundEmail]:
    """`_store` for many messages: one SELECT for earlier copies, one multi-row INSERT."""
    if any(len(raw) > MAX_RAW_BYTES for raw in raws):  # the rare giant: the careful path
        return [_store(raw, via=via, mailbox=mailbox) for raw in raws]
    digests = [hashlib.sha256(raw).hexdigest() for raw in raws]
    with transaction.atomic():
        earlier = {
            row.raw_digest: row
            for row in InboundEmail.objects.filter(raw_digest__in=set(digests))
            .exclude(status=InboundEmail.Status.FAILED)
            .only("id", "raw_digest", "ticket", "message")
        }
        rows = []
        for raw, digest in zip(raws, digests, strict=True):
            same = earlier.get(digest)
            rows.append(InboundEmail(
                mailbox=mailbox, via=via, raw=raw, size=len(raw), raw_digest=digest,
                status=InboundEmail.Status.DUPLICATE if same else InboundEmail.Status.RECEIVED,
                ticket_id=same.ticket_id if same else None,
                message_id=same.message_id if same else None,
                thread_reason="same bytes delivered again" if same else "",
            ))  # fmt: skip
        return InboundEmail.objects.bulk_create(rows)


def _describe(stored: InboundEmail, parsed: ParsedEmail) -> None:
    stored.header_message_id = parsed.message_id
    stored.sender = parsed.sender[:320]
    stored.recipients = "\n".join(parsed.recipients)
    stored.subject = parsed.subject[:500]
    stored.is_auto = bool(parsed.auto_reason)


def to_inbound(parsed: ParsedEmail, *, mailbox: Mailbox | None = None) -> InboundMessage:
    """A parsed email as the channel-independent shape the ingest service takes."""
    ours = _our_addresses(mailbox)
    number = next(
        (n for a in parsed.recipients if (n := ticket_number_from_address(a)) is not None), None
    )
    key = f"{parsed.message_id or '-'}|{parsed.content_digest()}"
    attachments = [
        InboundAttachment(a.filename, a.content_type, a.content, a.inline, a.content_id)
        for a in parsed.attachments
    ]
    return InboundMessage(
        channel=Ticket.Channel.EMAIL,
        key=key,
        identity_kind=ContactIdentity.Kind.EMAIL,
        identity=parsed.reply_to if parsed.reply_to and parsed.reply_to not in ours
        else parsed.sender,
        sender_name=parsed.sender_name,
        subject=clean_subject(parsed.subject) or parsed.subject,
        text=strip_quoted(parsed.text) if parsed.in_reply_to or parsed.references
        else parsed.text,
        reply_text=strip_quoted(parsed.text),
        html=parsed.html,
        attachments=attachments,
        notes=parsed.notes,
        external_id=parsed.message_id,
        references=[*parsed.references, *parsed.in_reply_to],
        ticket_number=number,
        subject_number=parsed.subject_ticket_number(),
        participants=[a for a in parsed.recipients if a not in ours],
        email=parsed.sender,
        is_automatic=bool(parsed.auto_reason) or parsed.sender in ours,
        mailbox_id=mailbox.pk if mailbox is not None else None,
    )  # fmt: skip


def _our_addresses(mailbox: Mailbox | None) -> set[str]:
    ours = {support_address().lower()}
    if mailbox is not None:
        ours.add(mailbox.address.lower())
    return ours


def _bounce(parsed: ParsedEmail) -> IngestResult | None:
    """A delivery failure report: attached as an internal note to the ticket whose reply
    bounced, and that reply is marked failed; a bounce of mail we never sent is just kept."""
    original = (
        Message.objects.filter(external_id__in=parsed.bounced_message_ids, direction="out")
        .select_related("ticket")
        .first()
        if parsed.bounced_message_ids
        else None
    )
    if original is None:
        return None
    ticket = original.ticket
    recipients = ", ".join(parsed.bounced_recipients) or ticket.requester.email
    failed = parsed.bounce_action == "failed"
    if failed:
        Message.objects.filter(pk=original.pk).update(
            delivery_status=Message.Delivery.FAILED,
            delivery_error=f"Bounced: {recipients}"[:500],
            delivery_changed_at=timezone.now(),
        )
    headline = (
        f"Delivery failed to {recipients}."
        if failed
        else f"Delivery to {recipients} is {parsed.bounce_action}; the mail server keeps trying."
    )
    note = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.NOTE,
        direction=Message.Direction.IN,
        channel=Ticket.Channel.EMAIL,
        body_text=f"{headline}\n\n{parsed.text}"[:20000],
        external_id=parsed.message_id,
    )
    if not failed:
        return IngestResult(ticket, note, created=False, duplicate=False,
                            reason=f"delivery {parsed.bounce_action} notice")  # fmt: skip
    from tickets import services

    for address in parsed.bounced_recipients or [ticket.requester.email]:
        flag_bounced(address, reason=parsed.subject)
    services.event(
        ticket=ticket,
        kind="bounced",
        actor=None,
        reason=f"delivery to {recipients} failed"[:300],
        message_id=original.pk,
    )
    return IngestResult(ticket, note, created=False, duplicate=False, reason="bounce")


def flag_bounced(address: str, *, reason: str = "") -> None:
    from django.db.models import F

    address = address.strip().lower()
    if not address:
        return
    now = timezone.now()
    updated = BouncedAddress.objects.filter(address__iexact=address).update(
        bounces=F("bounces") + 1, last_bounce_at=now, last_reason=reason[:500]
    )
    if not updated:
        BouncedAddress.objects.create(
            address=address, bounces=1, last_bounce_at=now, last_reason=reason[:500]
        )

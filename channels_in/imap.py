"""Polling a tenant's IMAP mailbox into the ingest pipeline.

    poll_mailbox(mailbox) -> PollResult      (inside the mailbox's tenant context)

One poll: connect (TLS or plain, with a timeout), log in, select the folder, and fetch every
message whose UID is above the last one we took — by UID, never by \\Seen, so mail a person has
already read in their own client is still ingested. Each FETCH (up to BATCH messages) goes
through `receive_emails` as one batch (raw bytes stored first; bad mail never raises), is then
marked \\Seen or moved to the processed folder, and only then is `last_uid` advanced past it:
a crash mid-batch resumes at the first message of that batch, and a message taken twice (a
crash between ingest and the advance) is a no-op because ingest de-duplicates by content.

When the server's UIDVALIDITY changes (folder recreated, server migrated) the old UIDs mean
nothing: `last_uid` restarts at 0 and everything in the folder is offered again; mail we already
have is recognised as a duplicate and opens nothing.

Login and network failures are recorded on the mailbox (`last_error`), never raised: the next
poll simply tries again. One poll takes at most MAX_PER_POLL messages so a huge backlog in one
mailbox cannot starve the others; the rest comes on the following polls.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from .email import MAX_RAW_BYTES, receive_emails
from .models import InboundEmail, Mailbox

logger = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds, for connecting and for each server response
MAX_PER_POLL = 200  # messages per poll of one mailbox
BATCH = 25  # messages per FETCH
BATCH_BYTES = 20 * 1024 * 1024  # ... or fewer, when they are large
DEFAULT_PROCESSED_FOLDER = "Processed"
SEEN = b"\\Seen"


@dataclass
class PollResult:
    fetched: int = 0  # messages taken from the server this poll
    ingested: int = 0  # of those, new messages on a ticket (or a bounce recorded)
    duplicates: int = 0  # already had them (redelivery, UIDVALIDITY reset)
    failed: int = 0  # stored but could not be processed (shown to admins for retry)
    more: bool = False  # the per-poll bound was reached: more mail waits on the server
    uidvalidity_reset: bool = False
    error: str = ""  # login / network / server failure, also kept in mailbox.last_error


def poll_mailbox(mailbox: Mailbox, *, limit: int = MAX_PER_POLL) -> PollResult:
    """Poll one IMAP mailbox once. Call inside the mailbox's tenant context, with the
    mailbox locked against a concurrent poll (channels_in.tasks does both)."""
    result = PollResult()
    client: IMAPClient | None = None
    try:
        client = _connect(mailbox)
        _poll(client, mailbox, result, limit)
    except (IMAPClientError, OSError) as error:  # ssl.SSLError, socket.timeout are OSErrors
        result.error = _describe(error)
        logger.warning("IMAP poll of mailbox %s (%s) failed: %s", mailbox.pk, mailbox, error)
    except Exception as error:
        # Not the server's fault (e.g. the database went away): shown to admins, then raised
        # so the task fails visibly. What was taken so far is kept (last_uid is per message).
        try:
            _record(mailbox, error=_describe(error))
        except Exception:  # noqa: BLE001
            logger.exception("could not record the failed poll of mailbox %s", mailbox.pk)
        raise
    finally:
        if client is not None:
            _logout(client)
    _record(mailbox, error=result.error)
    return result


def _connect(mailbox: Mailbox) -> IMAPClient:
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=mailbox.imap_ssl,
        ssl_context=ssl.create_default_context() if mailbox.imap_ssl else None,
        timeout=TIMEOUT,
    )
    try:
        client.login(mailbox.imap_username, mailbox.imap_password)
    except BaseException:
        _logout(client)
        raise
    return client


def _poll(client: IMAPClient, mailbox: Mailbox, result: PollResult, limit: int) -> None:
    selected = client.select_folder(mailbox.imap_folder)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    if mailbox.uidvalidity != uidvalidity:
        if mailbox.uidvalidity is not None and mailbox.last_uid:
            logger.info(
                "mailbox %s: UIDVALIDITY %s -> %s, fetching the folder again",
                mailbox.pk, mailbox.uidvalidity, uidvalidity,
            )  # fmt: skip
            result.uidvalidity_reset = True
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
        Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
    # "n:*" always matches the highest UID even when it is below n: filter again here.
    waiting = sorted(
        uid for uid in client.search(["UID", f"{mailbox.last_uid + 1}:*"]) if uid > mailbox.last_uid
    )
    result.more = len(waiting) > limit
    waiting = waiting[:limit]
    if not waiting:
        return
    target = _processed_folder(client, mailbox)
    for batch, partial in _batches(client, waiting):
        item = f"BODY.PEEK[]<0.{MAX_RAW_BYTES + 1}>" if partial else "BODY.PEEK[]"
        bodies = client.fetch(batch, [item])
        found = {  # a UID missing here was expunged by someone else since the SEARCH
            uid: bytes(raw)
            for uid in batch
            if (raw := bodies.get(uid, {}).get(b"BODY[]<0>" if partial else b"BODY[]")) is not None
        }
        if found:
            _take(client, mailbox, found, target, result)
        _advance(mailbox, batch[-1])


def _batches(client: IMAPClient, uids: list[int]) -> Iterator[tuple[list[int], bool]]:
    """UIDs in FETCH-sized groups (at most BATCH messages, about BATCH_BYTES); a message over
    the stored-size limit comes alone and is fetched only up to just past the limit
    (receive_email keeps the first 50 MB and flags it)."""
    sizes = {
        uid: int(data.get(b"RFC822.SIZE", 0))
        for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()
    }
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if size > MAX_RAW_BYTES:
            if batch:
                yield batch, False
                batch, total = [], 0
            yield [uid], True
            continue
        if batch and (len(batch) >= BATCH or total + size > BATCH_BYTES):
            yield batch, False
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch, False


def _take(
    client: IMAPClient,
    mailbox: Mailbox,
    found: dict[int, bytes],
    target: str | None,
    result: PollResult,
) -> None:
    """One FETCH's messages into the pipeline as one batch (stored, then processed), then
    marked \\Seen or moved on the server together."""
    uids = list(found)
    for stored in receive_emails(list(found.values()), via=InboundEmail.Via.IMAP, mailbox=mailbox):
        result.fetched += 1
        if stored.status == InboundEmail.Status.DUPLICATE:
            result.duplicates += 1
        elif stored.status == InboundEmail.Status.FAILED:
            result.failed += 1
        else:
            result.ingested += 1
    if target is None:
        client.add_flags(uids, [SEEN], silent=True)
    elif client.has_capability("MOVE"):
        client.move(uids, target)
    else:  # RFC 6851 fallback: copy, flag deleted, expunge just these where possible
        client.copy(uids, target)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            client.expunge()


def _processed_folder(client: IMAPClient, mailbox: Mailbox) -> str | None:
    """Where taken mail goes (created when missing), or None to just mark it \\Seen."""
    if mailbox.after_fetch != Mailbox.AfterFetch.MOVE:
        return None
    folder = mailbox.processed_folder.strip() or DEFAULT_PROCESSED_FOLDER
    if folder == mailbox.imap_folder:
        return None  # moving into the polled folder would offer the mail again forever
    if not client.folder_exists(folder):
        client.create_folder(folder)
    return folder


def _advance(mailbox: Mailbox, uid: int) -> None:
    mailbox.last_uid = uid
    Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=uid)


def _record(mailbox: Mailbox, *, error: str) -> None:
    mailbox.last_polled_at, mailbox.last_error = timezone.now(), error
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_polled_at=mailbox.last_polled_at, last_error=error
    )


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection may already be broken
        with contextlib.suppress(Exception):
            client.shutdown()


def _describe(error: BaseException) -> str:
    text = str(error)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]  # imaplib puts the server's bytes in the message
    return f"{type(error).__name__}: {text or repr(error)}"[:500]

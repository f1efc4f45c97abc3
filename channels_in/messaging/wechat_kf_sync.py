"""The pull of WeChat Customer Service messages (kf/sync_msg), run by a Celery task that each
callback enqueues (wechat_kf.WeChatKF.parse).

- One pull per channel at a time (a Postgres session advisory lock, as for IMAP mailboxes): two
  callbacks at once must not both read from the same cursor. A task that finds the lock taken
  retries a moment later instead of giving up, so a message that arrived while the other pull was
  finishing is not left waiting for the next callback.
- Page by page: a page's customer messages and its next_cursor are committed together, so a
  crash re-pulls at most that page, and ingest's key (the msgid) makes the re-pull harmless.
- At most MAX_PAGES pages per run; more waiting is pulled by a new task (the same Token).
- The channel's one cursor is the stream of its KF account (account_id), or of all of them when
  account_id is empty: the cursor is never mixed between accounts.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from celery import shared_task
from django.db import connection, transaction

from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.tasks import tenant_task

from .base import MessagingError
from .models import MessagingChannel
from .services import receive
from .wechat_kf import WeChatKF, kf_message

logger = logging.getLogger(__name__)

MAX_PAGES = 20  # sync_msg pages per run (up to 1000 messages each); the rest in a new task
LOCKED_RETRY = 2  # seconds before a pull that found another one running tries again
LOCKED_RETRIES = 60
ERROR_RETRIES = (15, 60, 180)  # seconds: a failed pull is tried again (the Token lasts 10 min)
LOCK_NAMESPACE = zlib.crc32(b"channels_in.wechat_kf_sync") & 0x7FFFFFFF


def lock_key(channel_id: int) -> tuple[int, int]:
    return LOCK_NAMESPACE, channel_id % 2**31


@contextmanager
def channel_lock(channel_id: int) -> Iterator[bool]:
    """Hold the channel's pull lock for this database session; yields False at once when
    another pull holds it. Released at the end, or by the database if the worker dies."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", lock_key(channel_id))
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", lock_key(channel_id))


@dataclass
class SyncResult:
    pages: int = 0
    ingested: int = 0  # new messages (a re-pulled duplicate is not counted)
    skipped: int = 0  # events, servicers' messages, other accounts'
    more: bool = False  # stopped at MAX_PAGES with more waiting


def sync_channel(channel: MessagingChannel, *, token: str = "",
                 max_pages: int | None = None) -> SyncResult:  # fmt: skip
    """Pull what is new on `channel` from its saved cursor (inside the tenant's context, under
    `channel_lock`). Raises MessagingError when the API refuses or cannot be reached; what was
    committed before stays committed."""
    adapter = WeChatKF(channel)
    result, cursor = SyncResult(), channel.sync_cursor
    for _page in range(MAX_PAGES if max_pages is None else max_pages):
        page = adapter.sync_page(cursor=cursor, token=token)  # no transaction open during calls
        items = page.get("msg_list") or []
        messages = [m for m in (kf_message(adapter, item) for item in items) if m is not None]
        names = adapter.nicknames({m.identity for m in messages}) if messages else {}
        next_cursor = str(page.get("next_cursor") or "")
        with transaction.atomic():
            for message in messages:
                message.sender_name = names.get(message.identity, "")
                result.ingested += not receive(channel, message).duplicate
            if next_cursor and next_cursor != cursor:
                MessagingChannel.objects.filter(pk=channel.pk).update(sync_cursor=next_cursor)
                channel.sync_cursor = next_cursor
        result.pages += 1
        result.skipped += len(items) - len(messages)
        if not page.get("has_more"):
            break
        if not next_cursor or next_cursor == cursor:
            logger.warning("%s: has_more without a new cursor; stopping this pull", channel)
            break
        cursor = next_cursor
    else:
        result.more = True
    return result


@tenant_task(bind=True, acks_late=True)
def wechat_kf_sync_task(self, *, channel_id: int, token: str = "") -> str:
    """Pull one WeChat Customer Service channel of the current tenant. Safe to run twice or
    concurrently: pulls of a channel take turns, and every message is keyed by its msgid."""
    with channel_lock(channel_id) as acquired:
        if not acquired:  # another pull is running: pull after it
            raise self.retry(countdown=LOCKED_RETRY, max_retries=LOCKED_RETRIES)
        # Read after locking: sync_cursor is where the previous pull ended.
        channel = MessagingChannel.objects.filter(
            pk=channel_id, provider=MessagingChannel.Provider.WECHAT_KF, is_active=True
        ).first()
        if channel is None:
            return "skipped"
        try:
            result = sync_channel(channel, token=token)
        except MessagingError as error:
            attempt = self.request.retries
            logger.warning("WeChat KF pull of channel %s failed: %s", channel_id, error)
            if attempt < len(ERROR_RETRIES):
                raise self.retry(countdown=ERROR_RETRIES[attempt], exc=error) from error
            return f"error: {error}"
    if result.more:
        wechat_kf_sync_task.delay(require_current_tenant().pk, channel_id=channel_id, token=token)
    return f"ingested {result.ingested} from {result.pages} page(s)" + (
        " (more waiting)" if result.more else ""
    )


@shared_task
def sync_all_wechat_kf() -> int:
    """Beat, every 5 minutes: pull every active WeChat Customer Service channel without a
    callback token (allowed, at a stricter rate limit), so a callback whose task was lost
    (Redis down at commit) delays its messages by minutes, never loses them. Lists channels
    across tenants through the all_tenants() door; each pull runs in its own tenant."""
    channels = (
        MessagingChannel.objects.all_tenants()
        .filter(provider=MessagingChannel.Provider.WECHAT_KF, is_active=True)
        .values_list("tenant_id", "id")[:1000]
    )
    count = 0
    for tenant_id, channel_id in channels:
        wechat_kf_sync_task.delay(tenant_id, channel_id=channel_id)
        count += 1
    return count

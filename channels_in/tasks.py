"""Celery tasks of the inbound channels.

- `poll_all_mailboxes` (beat, every minute): cross-tenant by necessity, through the explicit
  `all_tenants()` door; it only reads ids and enqueues one `poll_mailbox_task` per active
  IMAP mailbox, each of which then runs inside its own tenant.
- `poll_mailbox_task(tenant_id, mailbox_id=...)`: one poll of one mailbox (channels_in.imap),
  never two at once for the same mailbox.
- `sweep_inbound` (beat, every minute) and `process_inbound`: stored mail whose processing was
  cut short (a crash between storing and processing) is processed after all.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task
from django.db import connection
from django.db.models import F

from helpdesk.tenancy.tasks import tenant_task

from .imap import poll_mailbox
from .messaging import wechat_kf_sync  # noqa: F401 - registers wechat_kf_sync_task with Celery
from .models import Mailbox

logger = logging.getLogger(__name__)
POLL_EVERY = 60.0  # seconds; the beat entry in settings.CELERY_BEAT_SCHEDULE
# The namespace of our Postgres advisory locks (first of the two int4 keys).
LOCK_NAMESPACE = zlib.crc32(b"channels_in.poll_mailbox") & 0x7FFFFFFF


@contextmanager
def mailbox_lock(mailbox_id: int) -> Iterator[bool]:
    """Hold a Postgres session advisory lock for this mailbox; yields False at once (without
    waiting) when another poll holds it. Unlike a row lock it needs no transaction around
    the whole poll, so every message can commit as it is taken; unlike a lock with a timeout
    it cannot expire under a slow poll, and it is released if the worker dies (the database
    ends the session)."""
    key = (LOCK_NAMESPACE, mailbox_id % 2**31)  # a wrap-around collision only skips one poll
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


@tenant_task(acks_late=True)
def poll_mailbox_task(*, mailbox_id: int) -> str:
    """Poll one IMAP mailbox of the current tenant. Safe to run twice or concurrently: a
    second poll of a mailbox that is being polled returns "locked" and does nothing, and
    what a poll takes is keyed by UID and de-duplicated by ingest."""
    with mailbox_lock(mailbox_id) as acquired:
        if not acquired:
            return "locked"
        # Read after locking: last_uid is what the previous poll left.
        mailbox = Mailbox.objects.filter(
            pk=mailbox_id, kind=Mailbox.Kind.IMAP, is_active=True
        ).first()
        if mailbox is None or not mailbox.imap_host:
            return "skipped"
        result = poll_mailbox(mailbox)
    if result.error:
        return f"error: {result.error}"
    return f"fetched {result.fetched}" + (" (more waiting)" if result.more else "")


@shared_task
def poll_all_mailboxes() -> int:
    """Beat, every minute: one poll task per active IMAP mailbox of every active tenant. Ids
    only; a poll still queued when the next round comes expires rather than piling up."""
    due = list(
        Mailbox.objects.all_tenants()
        .filter(kind=Mailbox.Kind.IMAP, is_active=True, tenant__is_active=True)
        .exclude(imap_host="")
        .order_by(F("last_polled_at").asc(nulls_first=True), "id")
        .values_list("tenant_id", "id")
    )
    for tenant_id, mailbox_id in due:
        poll_mailbox_task.apply_async((tenant_id,), {"mailbox_id": mailbox_id}, expires=POLL_EVERY)
    return len(due)


# --- Mail stored but never processed ----------------------------------------------------------
# receive_email stores the raw bytes in one transaction and processes them in the next. A
# worker or smtpd that dies between the two leaves a row "received": this sweep finishes it.

STALE_AFTER_SECONDS = 120


@shared_task
def sweep_inbound() -> int:
    """Beat, every minute: re-queue stored mail whose processing never finished. Reads ids
    across tenants through the all_tenants() door; each is processed in its own tenant."""
    from django.utils import timezone

    from .models import InboundEmail

    cutoff = timezone.now() - timezone.timedelta(seconds=STALE_AFTER_SECONDS)
    stuck = list(
        InboundEmail.objects.all_tenants()
        .filter(status=InboundEmail.Status.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("tenant_id", "id")[:500]
    )
    for tenant_id, inbound_id in stuck:
        process_inbound.delay(tenant_id, inbound_id=inbound_id)
    return len(stuck)


@tenant_task(acks_late=True)
def process_inbound(*, inbound_id: int) -> str:
    """Process one stored message that is still "received" (idempotent: anything else is
    left alone, and ingest's keys make a repeat of a half-done run write nothing twice)."""
    from .email import process
    from .models import InboundEmail

    stored = InboundEmail.objects.filter(pk=inbound_id, status=InboundEmail.Status.RECEIVED).first()
    if stored is None:
        return "skipped"
    return process(stored).status

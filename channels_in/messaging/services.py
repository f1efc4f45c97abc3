"""Writes for messaging channels: an inbound message onto the user's open ticket.

A provider user's messages on one channel stay on one ticket while it is open; once it is
solved or closed, the next message opens a new ticket. Two deliveries of one message are one
message (ingest's idempotency key is the provider's message id).
"""

from __future__ import annotations

import hashlib

from django.db import connection, transaction

from tickets.models import Ticket

from ..inbound import InboundMessage
from ..ingest import IngestResult, ingest
from .models import MessagingChannel, MessagingThread


def open_thread(channel: MessagingChannel, identity: str) -> MessagingThread | None:
    return (
        MessagingThread.objects.filter(
            channel=channel,
            identity=identity,
            ticket__status__in=Ticket.OPEN_STATUSES,
            ticket__merged_into__isnull=True,
        )  # fmt: skip
        .select_related("ticket")
        .order_by("-updated_at", "-id")
        .first()
    )


def _lock(channel: MessagingChannel, identity: str) -> None:
    """Serialise one user's messages on one channel for this transaction, so two messages
    arriving at once land on one ticket rather than opening two."""
    name = f"messaging:{channel.tenant_id}:{channel.pk}:{identity}".encode()
    key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


@transaction.atomic
def receive(channel: MessagingChannel, inbound: InboundMessage) -> IngestResult:
    """Ingest one message of `channel` (inside the tenant's context)."""
    _lock(channel, inbound.identity)
    thread = open_thread(channel, inbound.identity)
    if thread is not None:
        inbound.ticket_number = thread.ticket.number  # the conversation proves the ticket
    result = ingest(inbound)
    if result.duplicate:
        return result
    reply_to = getattr(inbound, "reply_to", "")
    MessagingThread.objects.update_or_create(
        ticket=result.ticket,
        defaults={"channel": channel, "identity": inbound.identity, "reply_to": reply_to},
    )
    return result

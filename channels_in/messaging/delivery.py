"""Agents' public replies on messaging tickets, sent back through the channel the
conversation came in on (called by tickets.tasks.deliver_message, which claims the reply,
records failures and retries with backoff exactly as for email)."""

from __future__ import annotations

from django.db.models import Q

from tickets.models import Message

from . import adapter_for
from .base import SendError
from .models import MessagingThread


def send_reply(message: Message) -> str:
    """Send one reply; the provider's message id(s). Raises SendError (or a network error)."""
    thread = (
        MessagingThread.objects.filter(
            Q(ticket_id=message.ticket_id) | Q(ticket__merged_into_id=message.ticket_id)
        )
        .select_related("channel")
        .order_by("-updated_at", "-id")
        .first()
    )
    if thread is None:
        raise SendError(
            "This ticket did not come in through a connected messaging channel: there is no "
            "conversation to send the reply to."
        )
    channel = thread.channel
    if not channel.is_active:
        raise SendError(f"The channel {channel.name} is switched off.")
    text = message.body_text.strip()
    if not text:
        raise SendError("Only text is sent to messaging apps, and this reply has none.")
    return adapter_for(channel).send(channel, thread.reply_to or thread.identity, text)

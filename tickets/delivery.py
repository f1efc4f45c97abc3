"""Writes about the delivery of outbound replies (the sending itself is tickets.tasks)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.tasks import enqueue_on_commit

from .models import Message
from .services import TicketError, event
from .tasks import deliver_message


@transaction.atomic
def message_retry_delivery(*, message: Message, actor: User) -> Message:
    """Queue a failed reply for another attempt, now. The claim is a conditional UPDATE
    (failed -> pending), so a double click or two agents at once enqueue it once; the task
    itself claims it again before sending, so a retry racing the automatic backoff still sends
    the message exactly once."""
    if message.direction != Message.Direction.OUT or message.kind != Message.Kind.REPLY:
        raise TicketError(_("Only a reply to the customer is delivered."))
    claimed = Message.objects.filter(pk=message.pk, delivery_status=Message.Delivery.FAILED).update(
        delivery_status=Message.Delivery.PENDING, delivery_changed_at=timezone.now()
    )
    if not claimed:
        raise TicketError(_("This reply is not waiting for a retry: it was sent or is queued."))
    event(
        ticket=message.ticket,
        kind="delivery_retried",
        actor=actor,
        message_id=message.pk,
        error=message.delivery_error,
    )
    enqueue_on_commit(deliver_message, message_id=message.pk)
    message.delivery_status = Message.Delivery.PENDING
    return message

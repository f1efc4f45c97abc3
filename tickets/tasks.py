from __future__ import annotations

import logging

from django.db.models import F
from django.utils import timezone

from helpdesk.tenancy.tasks import tenant_task

from .models import Message
from .outbound import build_email, message_id_for

logger = logging.getLogger(__name__)
RETRY_DELAYS = [30, 120, 600, 1800, 3600, 7200]  # seconds; then the message stays "failed"


@tenant_task(bind=True, max_retries=len(RETRY_DELAYS))
def deliver_message(self, *, message_id: int) -> str:
    """Send one public reply by email. Safe to run twice: the claim is a conditional UPDATE
    (pending/failed -> sending) and a message already sent is never sent again."""
    claimed = Message.objects.filter(
        pk=message_id,
        delivery_status__in=[Message.Delivery.PENDING, Message.Delivery.FAILED],
    ).update(delivery_status=Message.Delivery.SENDING, delivery_attempts=F("delivery_attempts") + 1)
    if not claimed:
        return "skipped"
    message = Message.objects.select_related("ticket", "ticket__requester", "author_user").get(
        pk=message_id
    )
    if not message.external_id:
        message.external_id = message_id_for(message)
        Message.objects.filter(pk=message_id).update(external_id=message.external_id)
    try:
        build_email(message).send()
    except Exception as error:  # noqa: BLE001 - every failure is recorded, then retried
        Message.objects.filter(pk=message_id).update(
            delivery_status=Message.Delivery.FAILED,
            delivery_error=f"{type(error).__name__}: {error}"[:500],
        )
        attempt = self.request.retries
        if attempt < len(RETRY_DELAYS):
            logger.warning("delivery of message %s failed (%s); retrying", message_id, error)
            raise self.retry(countdown=RETRY_DELAYS[attempt], exc=error) from error
        return "failed"
    Message.objects.filter(pk=message_id).update(
        delivery_status=Message.Delivery.SENT, delivery_error="", sent_at=timezone.now()
    )
    return "sent"

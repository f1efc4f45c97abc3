from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from helpdesk.tenancy.tasks import tenant_task

from .models import Message
from .outbound import build_email, message_id_for
from .services import MESSAGING_CHANNELS

logger = logging.getLogger(__name__)
RETRY_DELAYS = [30, 120, 600, 1800, 3600, 7200]  # seconds; then the message stays "failed"
LOST_AFTER = timedelta(minutes=2)  # queued but no task ran (e.g. Redis was down at commit)
STUCK_AFTER = timedelta(minutes=10)  # a worker died while sending


def _mark(message_id: int, status: str, **fields) -> int:
    return Message.objects.filter(pk=message_id).update(
        delivery_status=status, delivery_changed_at=timezone.now(), **fields
    )


@tenant_task(bind=True, max_retries=len(RETRY_DELAYS))
def deliver_message(self, *, message_id: int) -> str:
    """Send one public reply by email, or through the messaging app it came from. Safe to run
    twice: the claim is a conditional UPDATE (pending/failed -> sending) and a message already
    sent is never sent again."""
    claimed = Message.objects.filter(
        pk=message_id,
        delivery_status__in=[Message.Delivery.PENDING, Message.Delivery.FAILED],
    ).update(
        delivery_status=Message.Delivery.SENDING,
        delivery_attempts=F("delivery_attempts") + 1,
        delivery_changed_at=timezone.now(),
    )
    if not claimed:
        return "skipped"
    message = Message.objects.select_related("ticket", "ticket__requester", "author_user").get(
        pk=message_id
    )
    messaging = message.ticket.channel in MESSAGING_CHANNELS
    if not message.external_id and not messaging:
        message.external_id = message_id_for(message)
        Message.objects.filter(pk=message_id).update(external_id=message.external_id)
    sent_as = {}
    try:
        if messaging:  # back through the messaging app; the provider's id is the external id
            from channels_in.messaging.delivery import send_reply

            sent_as = {"external_id": send_reply(message)[:500]}
        else:
            build_email(message).send()
    except Exception as error:  # noqa: BLE001 - every failure is recorded, then retried
        _mark(
            message_id,
            Message.Delivery.FAILED,
            delivery_error=f"{type(error).__name__}: {error}"[:500],
        )
        attempt = self.request.retries
        if attempt < len(RETRY_DELAYS):
            logger.warning("delivery of message %s failed (%s); retrying", message_id, error)
            raise self.retry(countdown=RETRY_DELAYS[attempt], exc=error) from error
        return "failed"
    _mark(message_id, Message.Delivery.SENT, delivery_error="", sent_at=timezone.now(), **sent_as)
    return "sent"


@shared_task
def sweep_outbox() -> int:
    """Beat, every minute: re-enqueue replies whose delivery task was lost (queued while Redis
    was down at commit) or whose worker died mid-send. Cross-tenant by necessity, through the
    explicit all_tenants() door; each message is then delivered inside its own tenant."""
    now = timezone.now()
    outbox = Message.objects.all_tenants()
    stuck = list(
        outbox.filter(
            delivery_status=Message.Delivery.SENDING, delivery_changed_at__lt=now - STUCK_AFTER
        ).values_list("tenant_id", "id")[:500]
    )
    outbox.filter(id__in=[pk for _tenant, pk in stuck]).update(
        delivery_status=Message.Delivery.FAILED, delivery_changed_at=now
    )
    lost = list(
        outbox.filter(
            delivery_status=Message.Delivery.PENDING, delivery_changed_at__lt=now - LOST_AFTER
        ).values_list("tenant_id", "id")[:500]
    )
    for tenant_id, message_id in stuck + lost:
        deliver_message.delay(tenant_id, message_id=message_id)
    return len(stuck) + len(lost)


# --- Automation (tickets.automation) ---------------------------------------------------------

AUTOMATION_RETRY_DELAYS = [10, 60, 300, 900]  # seconds


@tenant_task(bind=True, max_retries=len(AUTOMATION_RETRY_DELAYS))
def run_automation(self, *, job_ids: list[int]) -> dict[str, int]:
    """Run the automation pipeline for these jobs (tickets.automation.jobs), each exactly once
    in its own transaction; jobs that raised are retried with backoff, the others are done."""
    from .automation import jobs

    outcome: dict[str, int] = {}
    failed = []
    for job_id in job_ids:
        try:
            status = jobs.run(job_id)
        except Exception as error:  # noqa: BLE001 - recorded on the job; retried below
            logger.warning("automation job %s failed: %s", job_id, error)
            failed.append(job_id)
            status = "error"
        outcome[status] = outcome.get(status, 0) + 1
    if failed:
        attempt = self.request.retries
        if attempt < len(AUTOMATION_RETRY_DELAYS):
            raise self.retry(kwargs={"job_ids": failed}, countdown=AUTOMATION_RETRY_DELAYS[attempt])
    return outcome


@tenant_task()
def assign_queue(*, team_id: int) -> int:
    """Assign a team's waiting tickets while its agents have capacity (idempotent)."""
    from django.db import transaction

    from .automation.assignment import assign_waiting
    from .models import Team

    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return 0
    with transaction.atomic():
        return assign_waiting(team)


@shared_task
def sweep_automation() -> dict[str, int]:
    """Beat, every minute: automation jobs whose task was lost, and teams with tickets waiting
    in their queue. Cross-tenant through the all_tenants() door; the work runs per tenant."""
    from .automation import jobs
    from .models import Ticket

    queues = (
        Ticket.objects.all_tenants()
        .filter(awaiting_assignment=True, assignee__isnull=True, team__isnull=False)
        .values_list("tenant_id", "team_id")
        .distinct()[:500]
    )
    queues = list(queues)
    for tenant_id, team_id in queues:
        assign_queue.delay(tenant_id, team_id=team_id)
    return {"jobs": jobs.sweep(), "queues": len(queues)}

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
    """Run the automation pipeline for these jobs (tickets.automation.jobs.run_many): once
    each, as one transaction while all goes well; jobs that raised are retried with backoff
    on their own, the others are done."""
    from .automation import jobs

    try:
        return jobs.run_many(job_ids)
    except jobs.BatchFailed as failure:
        attempt = self.request.retries
        logger.warning("automation jobs %s failed (attempt %d)", failure.failed, attempt + 1)
        if attempt < len(AUTOMATION_RETRY_DELAYS):
            raise self.retry(kwargs={"job_ids": failure.failed},
                             countdown=AUTOMATION_RETRY_DELAYS[attempt]) from None  # fmt: skip
        return failure.outcome


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


# --- Classification (tickets.automation.classify) --------------------------------------------


@shared_task
def retrain_classifiers() -> int:
    """Beat, hourly: a training task for each tenant whose labels changed since its models were
    trained a while ago, or that has enough labels for a first model. Cross-tenant through the
    all_tenants() door (ids, counts and dates only); each tenant trains in its own task."""
    from .automation.classify.training import tenants_due

    tenant_ids = tenants_due()
    for tenant_id in tenant_ids:
        train_classifiers.delay(tenant_id)
    return len(tenant_ids)


@tenant_task()
def train_classifiers(*, kinds: list[str] | None = None, force: bool = False) -> dict[str, str]:
    """Train this tenant's classifiers that are due; safe twice (a fresh model is not due)."""
    from .automation.classify import KINDS, train_due

    return train_due(kinds or KINDS, force=force)


@tenant_task()
def train_classifier(*, kind: str) -> dict:
    """Settings › Classification › "Retrain now": train `kind`, keeping its progress note."""
    from .automation.classify.training import train_now

    return train_now(kind)


# --- Triggers, notifications (tickets.automation.triggers / .notifications) ------------------


@tenant_task(bind=True, max_retries=4)
def send_dispatch(self, *, dispatch_id: int) -> str:
    """Send one notification email or webhook call (the automation outbox), once: a claim by
    conditional UPDATE; a transient failure is retried with growing pauses, a refusal never."""
    from .automation import notifications

    final = self.request.retries >= len(notifications.RETRY_DELAYS)
    try:
        return notifications.deliver(dispatch_id, final=final)
    except notifications.DispatchError as error:
        delay = notifications.RETRY_DELAYS[self.request.retries]
        raise self.retry(countdown=delay, exc=error) from error


@shared_task
def sweep_dispatches() -> int:
    """Beat, every minute: notification emails and webhook calls whose task was lost (Redis
    down at commit) or whose worker died. Cross-tenant through the all_tenants() door."""
    from .automation import notifications

    return notifications.sweep()


@tenant_task()
def run_idle_triggers() -> int:
    """This tenant's idle triggers over its open tickets idle long enough (safe twice: an idle
    period fires once, keyed by the ticket's last activity)."""
    from .automation import triggers

    return triggers.run_idle()


@shared_task
def sweep_idle_triggers() -> int:
    """Beat, every five minutes: one run_idle_triggers task per tenant that has an active idle
    trigger. Cross-tenant through the all_tenants() door, reading tenant ids only."""
    from .automation.models import Trigger

    tenant_ids = list(
        Trigger.objects.all_tenants()
        .filter(is_active=True, event=Trigger.Event.IDLE)
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    for tenant_id in tenant_ids:
        run_idle_triggers.delay(tenant_id)
    return len(tenant_ids)

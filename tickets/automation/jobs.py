"""The automation outbox: a job row per event, written in the event's own transaction.

    enqueue(ticket, event, message=None, **data)   inside the transaction that made the event
    run(job_id) -> str                             the worker: once, in one transaction
    sweep() -> int                                 beat: jobs whose task was lost or failed

Exactly once, without trusting Redis:
- the row commits with the ticket or message, and the task is sent on commit (one task per
  transaction and tenant, carrying every job id of that transaction);
- `run` takes the row with SELECT … FOR UPDATE SKIP LOCKED and marks it done in the same
  transaction as everything the pipeline wrote. A redelivered task finds it done (or locked by
  the first run) and does nothing; a worker killed mid-run rolls its transaction back, so the
  next run starts from a clean slate — no half-routed ticket, no second auto-reply;
- the beat sweep re-sends jobs still pending after a minute (Redis was down at commit, or the
  task died), with attempts counted so a job that always fails stops after MAX_ATTEMPTS and
  shows its error instead of looping.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from helpdesk.tenancy.context import require_current_tenant
from tickets.models import Message, Ticket

from .models import AutomationJob

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
LOST_AFTER = timedelta(minutes=1)


def enqueue(
    ticket: Ticket, event: str, *, message: Message | None = None, **data: Any
) -> AutomationJob:
    """Record that `event` happened to `ticket`; the pipeline runs once this commits."""
    job = AutomationJob.objects.create(ticket=ticket, message=message, event=event, data=data)
    _send_on_commit(job.pk)
    return job


def _send_on_commit(job_id: int) -> None:
    """One task per transaction and tenant, however many jobs the transaction made (a batch
    of 25 mails sends one task message, not 25)."""
    tenant_id = require_current_tenant().pk
    key = ("automation-jobs", tenant_id)
    connection = transaction.get_connection()
    for _sid, callback, _robust in connection.run_on_commit:
        if getattr(callback, "once_key", None) == key:
            callback.job_ids.append(job_id)
            return

    def callback() -> None:
        from tickets.tasks import run_automation

        try:
            run_automation.delay(tenant_id, job_ids=callback.job_ids)
        except Exception:  # noqa: BLE001 - Redis down: the rows are there, the sweep sends them
            logger.warning("automation jobs %s not sent; the sweep will", callback.job_ids,
                           exc_info=True)  # fmt: skip

    callback.once_key = key  # type: ignore[attr-defined]
    callback.job_ids = [job_id]  # type: ignore[attr-defined]
    transaction.on_commit(callback)


def run(job_id: int) -> str:
    """Run one job's pipeline exactly once. Returns "done", "skipped" or "failed"."""
    AutomationJob.objects.filter(pk=job_id, done_at__isnull=True).update(
        attempts=F("attempts") + 1
    )  # outside the job's transaction: a crash still counts as an attempt
    from .routing import counting_hits

    try:
        with counting_hits(), transaction.atomic():
            job = (
                AutomationJob.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=job_id, done_at__isnull=True)
                .select_related("message")
                .first()
            )
            if job is None:
                return "skipped"  # done already, or another worker has it right now
            if job.attempts > MAX_ATTEMPTS:
                job.done_at = timezone.now()
                job.save(update_fields=["done_at"])
                return "failed"
            with _batched():
                pipeline(job)
            job.done_at = timezone.now()
            job.last_error = ""
            job.save(update_fields=["done_at", "last_error"])
    except Exception as error:
        AutomationJob.objects.filter(pk=job_id).update(
            last_error=f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}"[:5000]
        )
        raise
    return "done"


BATCH = 25  # jobs per transaction


def run_many(job_ids: list[int]) -> dict[str, int]:
    """Run a task's jobs, BATCH at a time, each batch in ONE transaction: the jobs, their
    tickets and tags read with one query each, every ticket's changes written with one UPDATE
    and the events with one INSERT, rule statistics once. Tickets for teams that assign
    automatically go into the team queue inside the batch, and the queues are assigned right
    after it commits, in a short transaction per team: a batch never holds a team's lock
    while it works, so workers run batches side by side. (A crash in between leaves them
    queued; the beat sweep assigns them.)

    Exactly-once holds as in `run`: a batch commits as a whole or not at all. If anything in
    it fails, it is rolled back and each of its jobs runs alone with `run`, so one bad job
    costs the others only time and keeps its own error and retries."""
    outcome: dict[str, int] = {}
    failed: list[int] = []
    for start in range(0, len(job_ids), BATCH):
        part = job_ids[start : start + BATCH]
        try:
            done = _run_batch(part) if len(part) > 1 else _count([run(part[0])])
        except BatchFailed as failure:
            failed += failure.failed
            done = failure.outcome
        except Exception:  # noqa: BLE001 - a single run's error is recorded on its job
            failed += part
            done = {"error": 1}
        for status, n in done.items():
            outcome[status] = outcome.get(status, 0) + n
    if failed:
        raise BatchFailed(failed, outcome)
    return outcome


def _run_batch(job_ids: list[int]) -> dict[str, int]:
    from .routing import counting_hits, queueing_assignments

    AutomationJob.objects.filter(pk__in=job_ids, done_at__isnull=True).update(
        attempts=F("attempts") + 1
    )
    try:
        with counting_hits(), transaction.atomic(), queueing_assignments() as teams:
            jobs = list(
                AutomationJob.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=job_ids, done_at__isnull=True, attempts__lte=MAX_ATTEMPTS)
                .select_related("message")
                .order_by("pk")
            )
            tickets = locked_tickets({job.ticket_id for job in jobs})
            tags = _tag_names(tickets)
            with _batched():
                for job in jobs:
                    ticket = tickets.get(job.ticket_id)
                    if ticket is not None:
                        pipeline(job, ticket=ticket, tags=tags.get(ticket.pk, []))
            AutomationJob.objects.filter(pk__in=[job.pk for job in jobs]).update(
                done_at=timezone.now(), last_error=""
            )
    except Exception:  # noqa: BLE001 - one at a time now, each with its own error and retry
        logger.warning("automation batch of %d rolled back; running one by one", len(job_ids),
                       exc_info=True)  # fmt: skip
        AutomationJob.objects.filter(pk__in=job_ids, done_at__isnull=True).update(
            attempts=F("attempts") - 1
        )  # the single runs count their own attempt
        outcome: dict[str, int] = {}
        failed = []
        for job_id in job_ids:
            try:
                status = run(job_id)
            except Exception:  # noqa: BLE001 - recorded on the job by `run`
                failed.append(job_id)
                status = "error"
            outcome[status] = outcome.get(status, 0) + 1
        if failed:
            raise BatchFailed(failed, outcome) from None
        return outcome
    assign_queues(teams)
    skipped = len(job_ids) - len(jobs)
    return {"done": len(jobs), **({"skipped": skipped} if skipped else {})}


def assign_queues(team_ids: set[int]) -> int:
    """Assign the waiting tickets of these teams in one short transaction (teams locked in id
    order). A team whose queue another worker is assigning right now is skipped: that worker
    goes round again while its pass assigned something and tickets still wait, so it takes
    ours too (and the beat sweep catches the rare one left in between)."""
    from tickets import services
    from tickets.models import OPEN_UNMERGED, Ticket

    from .assignment import assign_waiting_teams, holding_teams

    assigned, teams = 0, set(team_ids)
    for _round in range(5):
        with transaction.atomic(), services.buffered_events(), holding_teams():
            done, held = assign_waiting_teams(sorted(teams), skip_locked=True)
        assigned += done
        teams = held  # go round again only for queues this worker is in charge of
        waiting = Ticket.objects.filter(OPEN_UNMERGED, team_id__in=teams, awaiting_assignment=True,
                                        assignee__isnull=True)  # fmt: skip
        if not done or not teams or not waiting.exists():
            break
    return assigned


_memo: ContextVar[dict | None] = ContextVar("automation_memo", default=None)


def per_batch[T](key: tuple, compute: Callable[[], T]) -> T:
    """`compute()` once per batch of jobs (e.g. "are the cached rules still current?"); every
    call outside a batch computes."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


@contextmanager
def _batched() -> Iterator[None]:
    """Events and ticket changes collected and written once at the end, the assignments made
    last; lookups that cannot change within the transaction (rule versions) made once."""
    from sla import timers as sla_timers
    from tickets import services

    from .assignment import holding_teams
    from .routing import assigning

    token = _memo.set({})
    try:  # left in reverse order: assign, then rule statistics, team positions, SLA timers, events
        with services.buffered_events(), sla_timers.buffered(), holding_teams(), assigning():
            yield
    finally:
        _memo.reset(token)


class BatchFailed(Exception):
    """Some jobs of a batch failed on their own; the others are done."""

    def __init__(self, failed: list[int], outcome: dict[str, int]):
        super().__init__(f"automation jobs {failed} failed")
        self.failed, self.outcome = failed, outcome


def _count(statuses: list[str]) -> dict[str, int]:
    outcome: dict[str, int] = {}
    for status in statuses:
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def locked_tickets(ids: set[int]) -> dict[int, Ticket]:
    """The tickets, locked in id order (an agent's edit waits for the job, not clashes)."""
    rows = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("requester__organization")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    return {ticket.pk: ticket for ticket in rows}


def _tag_names(tickets: dict[int, Ticket]) -> dict[int, list[str]]:
    from tickets.models import TicketTag

    names: dict[int, list[str]] = {}
    rows = TicketTag.objects.filter(ticket_id__in=list(tickets))
    for ticket_id, name in rows.values_list("ticket_id", "tag__name"):
        names.setdefault(ticket_id, []).append(name)
    return names


def pipeline(
    job: AutomationJob, *, ticket: Ticket | None = None, tags: list[str] | None = None
) -> None:
    """What happens after an event (DESIGN.md §5), in order, inside the job's transaction.
    `ticket` (locked) and its `tags` are given by a batch; read here otherwise."""
    from sla import timers as sla_timers

    from . import autoreply, classify, triggers
    from .routing import route
    from .rules import facts_for

    if ticket is None:
        ticket = locked_tickets({job.ticket_id}).get(job.ticket_id)
    if ticket is None or ticket.merged_into_id:
        return
    body = job.message.body_text if job.message is not None else ""
    facts = facts_for(ticket, body=body, tags=tags, mailbox=job.data.get("mailbox"),
                      automatic=bool(job.data.get("automatic")))  # fmt: skip
    if job.event != AutomationJob.Event.CREATED:
        triggers.fire(job, ticket, facts)
    else:
        with sla_timers.starting(ticket.pk):  # the changes below touch no clock yet
            classify.apply(ticket, facts)  # category and topic, before routing looks at them
            route(ticket, facts)  # its assignment is made last, when the job (or batch) is done
            autoreply.acknowledge(job, ticket, facts)
            triggers.fire(job, ticket, facts)  # after routing (they see what it set)
        # The SLA's clocks, from the ticket's creation, under the policy it now meets.
        agent_created = job.message is not None and job.message.direction == "out"
        sla_timers.start(ticket, agent_created=agent_created, fresh=True)
    from sla import escalation

    escalation.after_event(job, ticket)  # escalation policies: the N-th customer reply, a complaint


def sweep(*, limit: int = 1000) -> int:
    """Beat: send again the jobs still pending a minute after they were made. Reads ids
    across tenants through the all_tenants() door; each runs in its own tenant."""
    from tickets.tasks import run_automation

    cutoff = timezone.now() - LOST_AFTER
    pending = (
        AutomationJob.objects.all_tenants()
        .filter(done_at__isnull=True, created_at__lt=cutoff, attempts__lte=MAX_ATTEMPTS)
        .order_by("created_at")
        .values_list("tenant_id", "id")[:limit]
    )
    by_tenant: dict[int, list[int]] = {}
    for tenant_id, job_id in pending:
        by_tenant.setdefault(tenant_id, []).append(job_id)
    for tenant_id, job_ids in by_tenant.items():
        for start in range(0, len(job_ids), 100):
            run_automation.delay(tenant_id, job_ids=job_ids[start : start + 100])
    return sum(len(ids) for ids in by_tenant.values())

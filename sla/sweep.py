"""The SLA sweep (beat, every minute): warnings and breaches, exactly once, across tenants.

Two set-based statements in one transaction on the owner connection — the explicit
cross-tenant path (DESIGN.md §2; grep for OWNER_DB) — each an UPDATE of the due timers that
feeds, in the same statement, an INSERT into the automation outbox:

    breach: running, not yet breached, due_at  <= now  → breached_at = due_at  → job "sla_breached"
    warn:   running, not yet warned,   warn_at <= now  → warned_at  = warn_at  → job "sla_warning"

- O(due timers): each UPDATE reads a partial index holding only running, unmarked timers
  (slatimer_breach_due, slatimer_warn_due), so a sweep costs what is due, not what is open.
- Exactly once: a timer is marked by the statement that turns its NULL into a time. A second
  sweep running at the same moment waits for the first one's row locks, re-reads the rows
  (READ COMMITTED), finds them marked and leaves them out. An agent's answer committed first
  takes the timer out of "running"; the sweep then skips it.
- A breach marks the warning too (its warned_at), so a timer found overdue in one go gets one
  job, the breach.
- The jobs commit with the marks; their tasks go out on commit, one per tenant per 100 jobs.
  If Redis is down then, the automation sweep sends them later (tickets.automation.jobs).
  The worker writes the timeline events and runs escalation and alerts (sla.breaches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections, transaction
from django.utils import timezone

from helpdesk.lib import clock
from helpdesk.tenancy.routers import OWNER_DB
from tickets.automation.models import AutomationJob

from .models import SLATimer

TASK_CHUNK = 100

_MARK_AND_QUEUE = """
WITH marked AS (
    UPDATE {timers} SET {set_clause}, updated_at = %(real_now)s
    WHERE state = 'running' AND {unmarked} IS NULL AND {due} <= %(now)s
    RETURNING id, tenant_id, ticket_id, kind, cycle, {due} AS at
)
INSERT INTO {jobs} (tenant_id, ticket_id, message_id, event, data, created_at, attempts, last_error)
SELECT tenant_id, ticket_id, NULL, %(event)s,
       jsonb_build_object('timer', id, 'kind', kind, 'cycle', cycle, 'at', at),
       %(real_now)s, 0, ''
FROM marked
RETURNING tenant_id, id
"""


@dataclass
class SweepResult:
    breached: int = 0
    warned: int = 0
    jobs: dict[int, list[int]] = field(default_factory=dict)  # tenant id → job ids


def _statement(event: str) -> str:
    tables = {"timers": SLATimer._meta.db_table, "jobs": AutomationJob._meta.db_table}
    if event == AutomationJob.Event.SLA_BREACHED:
        return _MARK_AND_QUEUE.format(
            **tables, unmarked="breached_at", due="due_at",
            set_clause="breached_at = due_at, warned_at = COALESCE(warned_at, due_at)",
        )  # fmt: skip
    return _MARK_AND_QUEUE.format(**tables, unmarked="warned_at", due="warn_at",
                                  set_clause="warned_at = warn_at")  # fmt: skip


def sweep(*, now: datetime | None = None, send: bool = True) -> SweepResult:
    """Mark what is due at `now` (default: the SLA clock's now) and queue its jobs."""
    params = {"now": now or clock.now(), "real_now": timezone.now()}
    result = SweepResult()
    with transaction.atomic(using=OWNER_DB), connections[OWNER_DB].cursor() as cursor:
        for event in (AutomationJob.Event.SLA_BREACHED, AutomationJob.Event.SLA_WARNING):
            cursor.execute(_statement(event), {**params, "event": event})
            rows = cursor.fetchall()
            if event == AutomationJob.Event.SLA_BREACHED:
                result.breached = len(rows)
            else:
                result.warned = len(rows)
            for tenant_id, job_id in rows:
                result.jobs.setdefault(tenant_id, []).append(job_id)
        if send and result.jobs:
            transaction.on_commit(lambda: _send(result.jobs), using=OWNER_DB)
    return result


def _send(jobs: dict[int, list[int]]) -> None:
    from tickets.tasks import run_automation

    for tenant_id, job_ids in jobs.items():
        for start in range(0, len(job_ids), TASK_CHUNK):
            try:
                run_automation.delay(tenant_id, job_ids=job_ids[start : start + TASK_CHUNK])
            except Exception:  # noqa: BLE001 - Redis down: the jobs are rows; the automation sweep sends them
                return

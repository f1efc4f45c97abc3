"""The SLA sweep (beat, every minute): warnings and breaches, exactly once, across tenants.

One transaction on the owner connection — the explicit cross-tenant path (DESIGN.md §2; grep
for OWNER_DB) — with two set-based UPDATEs that mark the due timers and return their ids:

    breach: running, breach not handled, not marked, due_at  <= now → breached_at = due_at
    warn:   running, warning not handled, not marked, warn_at <= now → warned_at  = warn_at

- O(due timers): each UPDATE reads a partial index holding only the running timers whose
  breach (warning) the worker has not handled yet (slatimer_breach_due, slatimer_warn_due).
- Cheap per row: the marked row IS the outbox (no job rows, no foreign keys to check), and
  no index names the columns the sweep writes, so Postgres updates the row in place on its
  page (a HOT update) without touching any of the table's indexes (docs/sla.md › The sweep).
- Exactly once: a timer is marked by the statement that turns its NULL into a time. A second
  sweep running at the same moment waits for the first one's row locks, re-reads the rows
  (READ COMMITTED), finds them marked and leaves them out. An agent's answer committed first
  takes the timer out of "running"; the sweep then skips it. A breach also marks the warning,
  so a clock found overdue in one go is one breach.
- After commit, one `handle_sla_marks` task per tenant and 100 timers; the worker records
  the marks, escalates and alerts, and sets *_handled_at in the same transaction
  (sla.breaches). Marks still unhandled two minutes after they were made (Redis was down at
  commit, the task died) are sent again by `resend_lost` (beat, every 5 minutes, read-only and
  apart from the marking so the minute's sweep stays two statements): nothing depends on
  Redis being up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections, transaction

from helpdesk.lib import clock
from helpdesk.tenancy.routers import OWNER_DB

from .models import SLATimer

TASK_CHUNK = 100
RESEND_AFTER = timedelta(minutes=2)
RESEND_LIMIT = 5000

_BREACH = """
UPDATE {timers} SET breached_at = due_at, warned_at = COALESCE(warned_at, due_at),
                    updated_at = %(real_now)s
WHERE state = 'running' AND breach_handled_at IS NULL AND breached_at IS NULL
  AND due_at <= %(now)s
RETURNING tenant_id, id
"""
_WARN = """
UPDATE {timers} SET warned_at = warn_at, updated_at = %(real_now)s
WHERE state = 'running' AND warning_handled_at IS NULL AND warned_at IS NULL
  AND warn_at <= %(now)s
RETURNING tenant_id, id
"""
# Marked but not handled a while after marking: the task was lost. Read through the same
# partial indexes (the handled ones have left them).
_LOST = """
(SELECT tenant_id, id FROM {timers}
 WHERE state = 'running' AND breach_handled_at IS NULL AND due_at <= %(now)s
   AND breached_at IS NOT NULL AND updated_at < %(stale)s LIMIT %(limit)s)
UNION
(SELECT tenant_id, id FROM {timers}
 WHERE state = 'running' AND warning_handled_at IS NULL AND warn_at <= %(now)s
   AND warned_at IS NOT NULL AND updated_at < %(stale)s LIMIT %(limit)s)
"""


@dataclass
class SweepResult:
    breached: int = 0
    warned: int = 0
    resent: int = 0
    timers: dict[int, list[int]] = field(default_factory=dict)  # tenant id → timer ids
    timings: dict[str, float] = field(default_factory=dict)  # statement → milliseconds


def sweep(*, now: datetime | None = None, send: bool = True) -> SweepResult:
    """Mark what is due at `now` (default: the SLA clock's now) and send it to the workers."""
    params = {"now": now or clock.now(), "real_now": clock.real_now()}
    table = {"timers": SLATimer._meta.db_table}
    result = SweepResult()
    with transaction.atomic(using=OWNER_DB), connections[OWNER_DB].cursor() as cursor:
        for name, statement in (("breach", _BREACH), ("warning", _WARN)):
            started = time.perf_counter()
            cursor.execute(statement.format(**table), params)
            rows = cursor.fetchall()
            result.timings[name] = (time.perf_counter() - started) * 1000
            if name == "breach":
                result.breached = len(rows)
            else:
                result.warned = len(rows)
            for tenant_id, timer_id in rows:
                result.timers.setdefault(tenant_id, []).append(timer_id)
        if send and result.timers:
            transaction.on_commit(lambda: send_marks(result.timers), using=OWNER_DB)
    return result


def resend_lost(*, now: datetime | None = None, send: bool = True) -> SweepResult:
    """Beat, every few minutes: marks still unhandled RESEND_AFTER after they were made (the
    task was lost: Redis down at commit, a worker gone) are sent again. Read-only."""
    real_now = clock.real_now()
    params = {"now": now or clock.now(), "stale": real_now - RESEND_AFTER, "limit": RESEND_LIMIT}
    result = SweepResult()
    with connections[OWNER_DB].cursor() as cursor:
        cursor.execute(_LOST.format(timers=SLATimer._meta.db_table), params)
        for tenant_id, timer_id in cursor.fetchall():
            result.timers.setdefault(tenant_id, []).append(timer_id)
            result.resent += 1
    if send and result.timers:
        send_marks(result.timers)
    return result


def send_marks(timers: dict[int, list[int]]) -> int:
    """One handle_sla_marks task per tenant and TASK_CHUNK timers; returns tasks sent."""
    from .tasks import handle_sla_marks

    sent = 0
    for tenant_id, ids in timers.items():
        for start in range(0, len(ids), TASK_CHUNK):
            try:
                handle_sla_marks.delay(tenant_id, timer_ids=ids[start : start + TASK_CHUNK])
            except Exception:  # noqa: BLE001 - Redis down: the marks stay; the next sweeps resend
                return sent
            sent += 1
    return sent

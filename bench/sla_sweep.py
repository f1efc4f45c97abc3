"""SLA benchmark: the beat sweep over a million open tickets, and recomputing one ticket.

    .venv/bin/python bench/sla_sweep.py [--tickets 1000000] [--tenants 100] [--runs 7] [--keep]
    .venv/bin/python bench/sla_sweep.py --tickets 20000 --tenants 10     # a quick smoke run

The issue's target: "1,000,000 open tickets over 100 tenants with 1 % due: one sweep ≤ 1 s on
2 cores; recomputing one ticket ≤ 5 ms."

1. Its own database (default `helpdesk_bench_sla`), created with the owner role and migrated in
   a subprocess (bench/_db.py, as bench/inbox.py does).
2. Bulk load as the owner with COPY (the explicit cross-tenant bulk path): tenants, agents,
   teams, contacts (5 % VIP) from bench/inbox.py's Loader; each tenant's SLA configuration from
   `sla.demo.seed_sla` (run through the app as the runtime role: a business calendar with the
   country's holidays, policies Urgent 24/7, VIP and Standard in business hours); then only OPEN
   tickets (new / open / pending / on-hold) and their SLA timers as sla.timers stores them: a
   first-response clock (met for ~60 %), a resolution clock, next-response cycles for some;
   pending and on-hold tickets' clocks paused; some open ones with a finished pause. Every
   deadline is computed with `sla.clocks.due_at` / `warn_at` on the policy's real calendar
   (`sla.selectors.calendar_for`), no shortcut for 24/7. Timers already due or warning before
   `now` are marked as earlier sweeps would have marked them, except exactly `--due` tickets
   (1 %) with one running clock due at `now` and not yet breached and `--warnings` (1 %) with
   one clock in its warning window and not yet warned. The big tables' indexes and foreign
   keys are dropped for the load and re-created; then ANALYZE.
3. Measures `sla.sweep.sweep(now=<the fixed now>, send=False)` — the real code on the owner
   connection — `--runs` times, each on freshly reset marks (restored from a snapshot, then
   VACUUM ANALYZE, untimed); EXPLAIN (ANALYZE, BUFFERS) of both statements (rolled back); with
   `--send`, the tasks sent to a Redis queue of the bench's own (`sla.sweep.send_marks`, what
   the sweep does on commit), purged afterwards. Then, as the runtime
   role in tenant context, `sla.timers.recompute` and a priority change through
   `tickets.services.ticket_update` for `--samples` random open tickets, each in a transaction
   rolled back: p50 / p95 / max in ms and SQL queries per call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _db  # noqa: E402 - bench/_db.py: database set-up shared by the benches
import inbox  # noqa: E402 - bench/inbox.py: tenant sizes, agents, teams, contacts, texts

SCRIPT = "bench/sla_sweep.py"
# The tables COPY fills in bulk (indexes and foreign keys dropped around the load).
BIG_TABLES = ("tickets_contact", "tickets_ticket", "sla_slatimer")
SNAPSHOT = "bench_sla_due"  # the marks of the due timers before the first sweep (for resets)
STATUSES = ["new"] * 15 + ["open"] * 45 + ["pending"] * 28 + ["on-hold"] * 12
PAUSED = {"pending", "on-hold"}
VIP_EVERY = 20  # every 20th contact is a VIP: the VIP policy applies
OUTAGE = timedelta(minutes=60)  # forced breaches: due within the last 60 minutes the clock counted
TIMER_COLUMNS = (
    "id", "tenant_id", "ticket_id", "kind", "cycle", "state", "policy_id", "policy_name",
    "target_minutes", "business_hours", "started_at", "pauses", "paused_at", "due_at",
    "warn_at", "warned_at", "breached_at", "achieved_at", "updated_at", "warning_handled_at",
    "breach_handled_at",
)  # fmt: skip
COLUMNS = {**{t: inbox.COLUMNS[t] for t in (
    "tenancy_tenant", "accounts_user", "tenancy_membership", "tickets_team", "tickets_teammember",
    "tickets_tag", "tickets_contact", "tickets_ticket", "tickets_ticketcounter")},
    "sla_slatimer": TIMER_COLUMNS}  # fmt: skip


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def sql_ts(at: datetime | None) -> str:
    return "\\N" if at is None else at.isoformat(sep=" ")


# --- Generated tickets and timers ------------------------------------------------------------


class Policies:
    """Each tenant's policies and the Calendar each one counts on (built by the app's own
    sla.selectors.calendar_for; identical calendars of different tenants share one object, so
    the per-day memo of sla.calendar is shared too)."""

    def __init__(self, plans: list[inbox.TenantPlan]) -> None:
        from helpdesk.tenancy.context import tenant_context
        from helpdesk.tenancy.models import Tenant
        from sla.models import SLAPolicy
        from sla.selectors import calendar_for

        self.by_tenant: dict[int, list] = {}
        self.calendar: dict[int, object] = {}  # policy id → Calendar
        self.targets: dict[tuple[int, str], dict] = {}
        shared: dict[tuple, object] = {}
        tenants = {t.pk: t for t in Tenant.objects.filter(pk__in=[p.id for p in plans])}
        for plan in plans:
            with tenant_context(tenants[plan.id]):
                policies = list(SLAPolicy.objects.filter(is_active=True)
                                .select_related("calendar").order_by("position", "id"))  # fmt: skip
                self.by_tenant[plan.id] = policies
                for policy in policies:
                    cal = calendar_for(policy)
                    key = (str(cal.tz), cal.weekly, tuple(sorted(cal.special.items())))
                    self.calendar[policy.pk] = shared.setdefault(key, cal)

    def choose(self, tenant_id: int, facts: dict[str, str]):
        from sla.policies import conditions_match

        for policy in self.by_tenant[tenant_id]:
            if conditions_match(policy.conditions, policy.match, facts):
                return policy
        return None

    def targets_for(self, policy, priority: str) -> dict:
        from sla.policies import targets_for

        key = (policy.pk, priority)
        if key not in self.targets:
            self.targets[key] = targets_for(policy, priority)
        return self.targets[key]


class Timer:
    __slots__ = ("kind", "cycle", "state", "minutes", "started", "pauses", "paused_at",
                 "achieved", "force")  # fmt: skip

    def __init__(self, kind, cycle, minutes, started, state="running", pauses=(), paused_at=None,
                 achieved=None):  # fmt: skip
        self.kind, self.cycle, self.minutes, self.started = kind, cycle, minutes, started
        self.state, self.pauses, self.paused_at = state, tuple(pauses), paused_at
        self.achieved, self.force = achieved, ""

    def clock(self, started: datetime | None = None):
        from sla.clocks import Clock

        return Clock(started or self.started, self.pauses, self.paused_at)


class Generator:
    """Open tickets and their timers, streamed as COPY lines (ticket line, timer lines)."""

    def __init__(self, loader: inbox.Loader, plans, policies: Policies, now: datetime,
                 due: int, warnings: int, seed: int = 11) -> None:  # fmt: skip
        self.loader, self.plans, self.policies, self.now = loader, plans, policies, now
        self.rng = random.Random(seed)
        total = sum(p.tickets for p in plans)
        # Which tickets get the forced clocks: decided up front over the running ones.
        self.status = [self.rng.choice(STATUSES) for _ in range(total)]
        running = [i for i, s in enumerate(self.status) if s not in PAUSED]
        if due + warnings > len(running):
            sys.exit(f"--due + --warnings ({due + warnings}) exceed the running tickets")
        chosen = self.rng.sample(running, due + warnings)
        self.force = dict.fromkeys(chosen[:due], "breach") | dict.fromkeys(chosen[due:], "warn")
        self.stats: dict[str, int] = {}

    def count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    def rows(self) -> Iterator[tuple[str, str]]:
        rng, loader, now = self.rng, self.loader, self.now
        pool = loader.pool
        zh_pool = [i for i, t in enumerate(pool) if t.language == "zh-hans"]
        en_pool = [i for i, t in enumerate(pool) if t.language == "en"]
        tid = timer_id = 0
        for p in self.plans:
            zh_share = 0.7 if p.id % 3 == 0 else 0.2
            # Open tickets are young: ages exponential (mean 5 days), a long tail to 200 days.
            ages = sorted((min(200.0, rng.expovariate(1 / 5)) + 0.002 for _ in range(p.tickets)),
                          reverse=True)  # fmt: skip
            for number, age in enumerate(ages, 1):
                index, tid = tid, tid + 1
                status = self.status[index]
                created = now - timedelta(days=age)
                requester = p.first_contact + rng.randrange(p.contacts)
                team_offset = rng.choice((0, 0, 0, 0, 0, 0, 0, 1, 1, 2))
                priority = rng.choice(inbox.PRIORITIES)
                channel = rng.choice(inbox.CHANNELS)
                category = rng.choice(inbox.CATEGORIES)
                facts = {
                    "priority": priority, "channel": channel, "category": category,
                    "requester_tier": "vip" if requester % VIP_EVERY == 0 else "standard",
                    "team": str(p.first_team + team_offset),
                }  # fmt: skip
                policy = self.policies.choose(p.id, facts)
                force, forced = self.force.get(index, ""), None
                if force and policy is not None:
                    targets = self.policies.targets_for(policy, priority)
                    kinds = [k for k in ("first_response", "resolution") if targets[k] is not None]
                    forced = rng.choice(kinds)
                    created = self.fit(policy, targets[forced], force)
                timers, responded, last = self.plan_timers(policy, priority, status, created,
                                                           forced)  # fmt: skip
                for timer in timers:
                    if timer.kind == forced:
                        timer.force = force
                lines = []
                for timer in timers:
                    timer_id += 1
                    lines.append(self.timer_line(timer_id, tid, p.id, policy, timer))
                text = pool[rng.choice(zh_pool if rng.random() < zh_share else en_pool)]
                assigned = status != "new" and rng.random() < 0.8
                assignee = str(p.first_user + rng.randrange(p.users)) if assigned else "\\N"
                title = (f"{number} {text.search_subject} "
                         f"{loader.name_search[loader.contact_names[requester]]} "
                         f"c{requester} customers test")  # fmt: skip
                last_at = sql_ts(max(last, created))
                ticket = "\t".join((
                    str(tid), str(number), text.subject, status, priority,
                    rng.choice(inbox.TYPES), category, channel, text.language,
                    str(team_offset + 1), "{}", text.snippet, sql_ts(created), last_at, last_at,
                    sql_ts(responded), "\\N", "1", title, text.search_body, assignee, "\\N",
                    "\\N", str(requester), str(p.first_team + team_offset), str(p.id), "", "{}",
                    "[]", "f",
                )) + "\n"  # fmt: skip
                self.count(f"tickets {status}")
                yield ticket, "".join(lines)

    def plan_timers(self, policy, priority: str, status: str, created: datetime,
                    forced: str | None = None):  # fmt: skip
        """The clocks a ticket of this age and status has by now (deadlines come later).
        `forced`: the clock fitted to be due / warning at now (running, without pauses)."""
        rng, now = self.rng, self.now
        if policy is None:
            return [], None, created
        targets = self.policies.targets_for(policy, priority)
        span = (now - created).total_seconds()
        responded = None
        # ~60 % of all open tickets answered (70 % of those past "new").
        if status != "new" and forced != "first_response" and rng.random() < 0.7:
            responded = created + timedelta(seconds=span * rng.random() ** 2)
        last = responded or created
        pauses: tuple = ()
        paused_at = None
        if status in PAUSED:  # waiting for the customer (or a third party) since paused_at
            paused_at = last + timedelta(seconds=(now - last).total_seconds() * rng.random())
            last = paused_at
        elif status == "open" and not forced and rng.random() < 0.2:
            # Was pending once, until the customer answered.
            a = created + timedelta(seconds=span * rng.uniform(0.1, 0.6))
            b = a + timedelta(seconds=(now - a).total_seconds() * rng.uniform(0.1, 0.9))
            pauses, last = ((a, b),), max(last, b)
        timers = []
        if targets["first_response"] is not None:
            if responded is not None:
                timers.append(Timer("first_response", 1, targets["first_response"], created,
                                    state="met", achieved=responded))  # fmt: skip
            else:
                timers.append(self.open_timer("first_response", 1, targets["first_response"],
                                              created, pauses, paused_at))  # fmt: skip
        if responded is not None and targets["next_response"] is not None and rng.random() < 0.35:
            cycles = rng.choice((1, 1, 1, 2, 2, 3))
            at = responded
            for cycle in range(1, cycles + 1):
                start = at + timedelta(seconds=(now - at).total_seconds() * rng.uniform(0.05, 0.5))
                last = max(last, start)
                if cycle == cycles and status == "open" and rng.random() < 0.6:
                    timers.append(Timer("next_response", cycle, targets["next_response"], start))
                    break
                at = start + timedelta(
                    seconds=(now - start).total_seconds() * rng.uniform(0.05, 0.5)
                )
                timers.append(Timer("next_response", cycle, targets["next_response"], start,
                                    state="met", achieved=at))  # fmt: skip
                last = max(last, at)
            if status in PAUSED and paused_at is not None and paused_at < last:
                paused_at = last + (now - last) * rng.random()
                for timer in timers:
                    if timer.state == "paused":
                        timer.paused_at = paused_at
        if targets["resolution"] is not None:
            timers.append(self.open_timer("resolution", 1, targets["resolution"], created,
                                          pauses, paused_at))  # fmt: skip
        return timers, responded, last

    @staticmethod
    def open_timer(kind, cycle, minutes, started, pauses, paused_at) -> Timer:
        state = "paused" if paused_at is not None else "running"
        return Timer(kind, cycle, minutes, started, state=state, pauses=pauses,
                     paused_at=paused_at)  # fmt: skip

    def fit(self, policy, minutes: int, force: str) -> datetime:
        """The creation time at which a running clock of `minutes` (no pauses) is due at `now`
        within the last OUTAGE (breach), or in its warning window (warn) — counted in the
        clock's own business minutes with sla.clocks.elapsed, so exact on any calendar."""
        from sla import clocks

        cal = self.policies.calendar[policy.pk]
        if force == "breach":
            lo, hi = minutes + 0.5, minutes + OUTAGE.total_seconds() / 60
        else:
            lo, hi = minutes * clocks.WARN_FRACTION + 0.5, minutes - 0.5
        goal = self.rng.uniform(lo, hi)
        start = self.now - timedelta(minutes=goal)
        for _ in range(10_000):
            counted = clocks.elapsed(cal, clocks.Clock(start), self.now)
            if lo <= counted < hi:
                return start
            start -= timedelta(minutes=goal - counted)  # closed hours count nothing: go back
        raise RuntimeError("could not fit a forced clock")

    def timer_line(self, timer_id: int, tid: int, tenant: int, policy, timer: Timer) -> str:
        from sla import clocks

        now = self.now
        cal = self.policies.calendar[policy.pk]
        clock = timer.clock()
        due = clocks.due_at(cal, clock, timer.minutes)
        warn = clocks.warn_at(cal, clock, timer.minutes)
        warned = breached = None
        if timer.state == "met":  # an earlier sweep warned / the answer came late
            warned = warn if warn is not None and timer.achieved > warn else None
            breached = due if due is not None and timer.achieved > due else None
        elif timer.state == "paused":  # marked while it ran, before the pause
            warned, breached = warn, due
        else:
            warned = warn if warn is not None and warn <= now else None
            breached = due if due is not None and due <= now else None
            if timer.force == "breach":
                assert due is not None and due <= now, (due, now)
                breached = None
                warned = warn if warn < now - OUTAGE else None  # warned before the outage
                self.count("forced breach (warned before)" if warned else "forced breach")
            elif timer.force == "warn":
                assert warn is not None and warn <= now < due, (warn, due, now)
                warned = None
                self.count("forced warning")
        self.count(f"timers {timer.kind} {timer.state}")
        if breached is not None:
            self.count(f"timers {timer.state}, breached before")
        pauses = json.dumps([[a.isoformat(), b.isoformat()] for a, b in timer.pauses])
        return "\t".join((
            str(timer_id), str(tenant), str(tid), timer.kind, str(timer.cycle), timer.state,
            str(policy.pk), _db.esc(policy.name), str(timer.minutes),
            "t" if policy.business_hours else "f", sql_ts(timer.started), pauses,
            sql_ts(timer.paused_at), sql_ts(due), sql_ts(warn), sql_ts(warned), sql_ts(breached),
            sql_ts(timer.achieved), sql_ts(now),
            sql_ts(warned), sql_ts(breached),  # earlier marks: handled by the worker back then
        )) + "\n"  # fmt: skip


def vip_contacts(lines: Iterator[str]) -> Iterator[str]:
    """bench/inbox.py's contacts, every VIP_EVERY-th a VIP (tier is the 11th column)."""
    for line in lines:
        if int(line.split("\t", 1)[0]) % VIP_EVERY == 0:
            fields = line.split("\t")
            fields[10] = "vip"
            line = "\t".join(fields)
        yield line


def seed(target: _db.Target, args: argparse.Namespace, now: datetime, phases: _db.Phases) -> dict:
    plans = inbox.plan_tenants(inbox.tenant_sizes(args.tickets, args.tenants))
    with phases("create database"):
        _db.recreate_database(target)
    with phases("migrate (subprocess)"):
        _db.migrate(target)
    with phases("segment a pool of 500 texts (jieba)"):
        loader = inbox.Loader(plans)
    conn = _db.connect(target.owner_url)
    _db.check_columns(conn, COLUMNS, SCRIPT)
    with phases("drop secondary indexes and foreign keys of the big tables"):
        schema = _db.strip_tables(conn, BIG_TABLES)
    conn.execute("SET synchronous_commit = off")
    small = [t for t in COLUMNS if t not in ("tickets_ticket", "sla_slatimer")]
    conn.execute("TRUNCATE " + ", ".join(COLUMNS) + " CASCADE")
    sources = {
        "tenancy_tenant": loader.tenants, "accounts_user": loader.users,
        "tenancy_membership": loader.memberships, "tickets_team": loader.teams,
        "tickets_teammember": loader.team_members, "tickets_tag": loader.tags,
        "tickets_contact": lambda: vip_contacts(loader.contacts()),
        "tickets_ticketcounter": loader.counters,
    }  # fmt: skip
    assert set(sources) == set(small)
    with phases("COPY tenants, agents, teams, contacts"):
        for table, source in sources.items():
            _db.copy_rows(conn, table, COLUMNS[table], source())
    conn.commit()
    with phases("SLA calendars and policies (sla.demo.seed_sla, runtime role)"):
        from django.db import connections

        from helpdesk.tenancy.models import Tenant
        from sla.demo import seed_sla

        for tenant in Tenant.objects.order_by("pk"):
            seed_sla(tenant)
        policies = Policies(plans)
        connections.close_all()
    generator = Generator(loader, plans, policies, now, args.due, args.warnings)
    with phases("generate + COPY tickets and SLA timers (2 connections)"):
        big = {t: COLUMNS[t] for t in ("tickets_ticket", "sla_slatimer")}
        counts = _db.copy_parallel(target.owner_url, big, generator.rows())
    phases.rows[-1] = (phases.rows[-1][0] + " — " + ", ".join(
        f"{n:,} {t}" for t, n in counts.items()), phases.rows[-1][1])  # fmt: skip
    with _db.connect(target.owner_url, autocommit=True) as owner:
        for table in COLUMNS:
            owner.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
    conn.close()
    with phases(f"re-create {len(schema.indexes)} indexes (2 connections)"):
        _db.restore_indexes(target.owner_url, schema)
    with phases(f"re-add {len(schema.uniques) + len(schema.foreign_keys)} constraints"):
        _db.restore_constraints(target.owner_url, schema)
    with phases("snapshot the due timers' marks, ANALYZE"), \
            _db.connect(target.owner_url, autocommit=True) as owner:  # fmt: skip
        owner.execute(
            f"CREATE TABLE {SNAPSHOT} AS SELECT id, warned_at, breached_at FROM sla_slatimer "
            "WHERE state = 'running' AND ((breached_at IS NULL AND due_at <= %(now)s) "
            "OR (warned_at IS NULL AND warn_at <= %(now)s))",
            {"now": now},
        )
        owner.execute("ANALYZE")
        owner.execute(
            f"COMMENT ON DATABASE \"{target.name}\" IS '{wanted(args)} now={now.isoformat()}'"
        )
    return generator.stats


def wanted(args: argparse.Namespace) -> str:
    return f"tickets={args.tickets} tenants={args.tenants} due={args.due} warnings={args.warnings}"


# --- Measuring -------------------------------------------------------------------------------


def reset(target: _db.Target) -> None:
    """Untimed: the due timers' marks as before the first sweep, then VACUUM ANALYZE (which
    also prunes the previous run's row versions, as autovacuum does between real sweeps)."""
    with _db.connect(target.owner_url, autocommit=True) as owner:
        owner.execute(
            f"UPDATE sla_slatimer t SET warned_at = s.warned_at, breached_at = s.breached_at "
            f"FROM {SNAPSHOT} s WHERE t.id = s.id "
            "AND (t.warned_at IS DISTINCT FROM s.warned_at OR t.breached_at IS DISTINCT FROM "
            "s.breached_at)"
        )
        owner.execute("VACUUM ANALYZE sla_slatimer")
        # Keep a checkpoint out of the timed statement (needs pg_checkpoint or a superuser).
        with contextlib.suppress(Exception):
            owner.execute("CHECKPOINT")


def due_counts(target: _db.Target, now: datetime) -> tuple[int, int, int, int]:
    with _db.connect(target.owner_url) as owner:
        return owner.execute(
            "SELECT count(*) FILTER (WHERE breached_at IS NULL AND due_at <= %(now)s), "
            "count(*) FILTER (WHERE warned_at IS NULL AND warn_at <= %(now)s), "
            "count(*), (SELECT count(*) FROM tickets_ticket) FROM sla_slatimer "
            "WHERE state = 'running'",
            {"now": now},
        ).fetchone()


def measure_sweep(target: _db.Target, now: datetime, runs: int) -> dict:
    from sla.sweep import sweep

    times, result = [], None
    for run in range(runs):
        reset(target)
        started = time.perf_counter()
        result = sweep(now=now, send=False)
        times.append((time.perf_counter() - started) * 1000)
        parts = ", ".join(f"{k} {v:.0f} ms" for k, v in result.timings.items())
        print(f"  run {run + 1}: {times[-1]:7.1f} ms ({parts}, commit the rest) — "
              f"{result.breached:,} breached, {result.warned:,} warned in "
              f"{len(result.timers)} tenants", flush=True)  # fmt: skip
    return {"times": times, "result": result}


def explain_sweep(target: _db.Target, now: datetime) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of both statements as the sweep runs them, rolled back."""
    from django.db import connections, transaction
    from django.utils import timezone

    from helpdesk.tenancy.routers import OWNER_DB
    from sla.sweep import _BREACH, _WARN

    reset(target)
    params = {"now": now, "real_now": timezone.now()}
    with transaction.atomic(using=OWNER_DB), connections[OWNER_DB].cursor() as cursor:
        for event, statement in (("breach", _BREACH), ("warning", _WARN)):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.format(timers="sla_slatimer"),
                           params)  # fmt: skip
            print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the {event} statement:")
            for (line,) in cursor.fetchall():
                print("    " + line)
        transaction.set_rollback(True, using=OWNER_DB)


def measure_send(target: _db.Target, now: datetime) -> tuple[float, float, int]:
    """The tasks the sweep sends on commit (sla.sweep.send_marks), to a Redis queue of our own:
    once on a new broker connection, once more on the warm one (as a worker's beat task)."""
    from helpdesk.celery import app
    from sla.sweep import TASK_CHUNK, send_marks, sweep

    reset(target)
    result = sweep(now=now, send=False)
    tasks = sum(math.ceil(len(ids) / TASK_CHUNK) for ids in result.timers.values())
    times = []
    for _ in range(2):
        started = time.perf_counter()
        send_marks(result.timers)
        times.append((time.perf_counter() - started) * 1000)
    with app.connection_for_write() as connection:
        sent = connection.default_channel.queue_purge(os.environ["CELERY_TASK_DEFAULT_QUEUE"])
    if sent != 2 * tasks:
        print(f"  ! {2 * tasks} tasks expected on the bench queue, {sent} found")
    return times[0], times[1], tasks


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


OTHER_PRIORITY = {"low": "high", "normal": "urgent", "high": "low", "urgent": "normal"}


def measure_recompute(plans, samples: int, seed: int = 5, profile: bool = False) -> list:
    from django.db import connection, transaction

    from helpdesk.accounts.models import User
    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Tenant
    from sla import timers as sla_timers
    from tickets import services
    from tickets.models import Ticket

    rng = random.Random(seed)
    tenants = {t.pk: t for t in Tenant.objects.all()}
    starts, plan_of = [], []
    first = 1
    for p in plans:  # ticket ids are dense, tenant after tenant
        starts.append(first)
        plan_of.append(p)
        first += p.tickets
    ids = rng.sample(range(1, first), samples + 10)

    def locate(ticket_id: int):
        lo = max(i for i, s in enumerate(starts) if s <= ticket_id)
        return plan_of[lo]

    # Steady state: a worker or web process has seen its tenants before (their SLA
    # configuration and calendars are cached in-process); one untimed recompute per tenant.
    for plan in {locate(i).id: locate(i) for i in ids}.values():
        with tenant_context(tenants[plan.id]), transaction.atomic():
            warm = Ticket.objects.select_related("requester__organization").filter(
                pk__gte=starts[plan_of.index(plan)]).order_by("pk").first()  # fmt: skip
            if warm is not None:
                sla_timers.recompute(warm, reason="warm-up")
            transaction.set_rollback(True)

    agents = {}
    cases = {
        "sla.timers.recompute (nothing changed)": "same",
        "sla.timers.recompute (priority changed)": "priority",
        "tickets.services.ticket_update(priority=…)": "update",
    }
    if profile:  # where the Python time of recompute goes, over the same tickets
        cases = {"sla.timers.recompute (priority changed)": "priority"}
    results = []
    for label, mode in cases.items():
        timings, queries = [], []
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
        for n, ticket_id in enumerate(ids):
            plan = locate(ticket_id)
            tenant = tenants[plan.id]
            with tenant_context(tenant), transaction.atomic():
                # Loaded as the app's callers hold it (the ticket page, the automation batch:
                # with its requester); this also sets app.tenant_id (untimed).
                ticket = Ticket.objects.select_related("requester__organization").get(pk=ticket_id)
                if plan.id not in agents:
                    agents[plan.id] = User.objects.get(email=f"agent2@{plan.slug}.bench.test")
                counter = Counter()
                new = OTHER_PRIORITY[ticket.priority]
                with connection.execute_wrapper(counter):
                    if profiler is not None and n >= 10:
                        profiler.enable()
                    started = time.perf_counter()
                    if mode == "update":
                        services.ticket_update(ticket=ticket, actor=agents[plan.id],
                                               reason="bench", priority=new)  # fmt: skip
                    else:
                        if mode == "priority":
                            ticket.priority = new
                        sla_timers.recompute(ticket, reason="bench")
                    elapsed = (time.perf_counter() - started) * 1000
                    if profiler is not None:
                        profiler.disable()
                transaction.set_rollback(True)
            if n >= 10:  # the first ten warm up (imports, calendars, the connection)
                timings.append(elapsed)
                queries.append(counter.n)
        results.append((label, timings, queries))
        if profiler is not None:
            import pstats

            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(25)
        print(f"| {label} | {statistics.median(timings):.2f} | {pct(timings, 0.95):.2f} | "
              f"{max(timings):.2f} | {statistics.median(queries):.0f} "
              f"({min(queries)}–{max(queries)}) |", flush=True)  # fmt: skip
    return results


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="open tickets")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--due", type=int, help="tickets with a clock due at now (default 1 %%)")
    parser.add_argument("--warnings", type=int, help="tickets in their warning window (1 %%)")
    parser.add_argument("--runs", type=int, default=7, help="timed sweeps (each on reset data)")
    parser.add_argument("--samples", type=int, default=200, help="tickets recomputed")
    parser.add_argument("--send", action="store_true", help="also time sending the tasks (Redis)")
    parser.add_argument("--keep", action="store_true", help="keep the database for reruns")
    parser.add_argument("--fresh", action="store_true", help="seed again even if kept")
    parser.add_argument("--db", default="helpdesk_bench_sla", help="bench database name")
    parser.add_argument("--profile", action="store_true", help="cProfile recompute and stop")
    args = parser.parse_args()
    args.due = args.tickets // 100 if args.due is None else args.due
    args.warnings = args.tickets // 100 if args.warnings is None else args.warnings
    target = _db.Target.from_env(args.db)
    # sla.sweep._send's tasks go to a queue of the bench's own, purged afterwards.
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-sla-{os.getpid()}"
    _db.setup_django(target, debug=False)
    print(f"Bench database {target.name}: {wanted(args)}")
    comment = _db.database_comment(target) if args.keep and not args.fresh else None
    if comment and comment.startswith(wanted(args) + " now="):
        now = datetime.fromisoformat(comment.split(" now=", 1)[1])
        print(f"  already seeded (--keep): skipping the load; now = {now.isoformat()}")
    else:
        now = datetime.now(UTC).replace(microsecond=0)
        phases = _db.Phases()
        stats = seed(target, args, now, phases)
        print("\n" + phases.table() + "\n")
        for key, value in sorted(stats.items()):
            print(f"  {key}: {value:,}")
    plans = inbox.plan_tenants(inbox.tenant_sizes(args.tickets, args.tenants))
    try:
        if args.profile:
            measure_recompute(plans, args.samples, profile=True)
            return
        breach_due, warn_due, running, tickets = due_counts(target, now)
        print(f"\nAt now = {now.isoformat()}: {tickets:,} open tickets, {running:,} running "
              f"clocks; due and not breached: {breach_due:,}; warning due and not warned: "
              f"{warn_due:,}")  # fmt: skip
        print(f"Load average before: {load_average()}; CPU check: {_db.cpu_check():.0f} ms "
              "for a fixed Python loop (lower is faster)\n")  # fmt: skip
        print(f"sla.sweep.sweep(now=…, send=False), {args.runs} runs on reset data:")
        sweep = measure_sweep(target, now, args.runs)
        explain_sweep(target, now)
        send = measure_send(target, now) if args.send else None
        reset(target)
        print(f"\nRecompute, {args.samples} random open tickets (runtime role, tenant context, "
              "rolled back):\n")  # fmt: skip
        print("| call | p50 ms | p95 ms | max ms | SQL queries p50 (min–max) |")
        print("|---|---:|---:|---:|---:|")
        measure_recompute(plans, args.samples)
        print(f"\nLoad average after: {load_average()}; CPU check: {_db.cpu_check():.0f} ms")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _db.drop_database(target)
    times, result = sweep["times"], sweep["result"]
    print("\n| measure | median ms | p95 ms | min ms | max ms | marked |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| sweep, {breach_due:,} due + {warn_due:,} warning of {tickets:,} open "
          f"({args.runs} runs) | {statistics.median(times):.0f} | {pct(times, 0.95):.0f} | "
          f"{min(times):.0f} | {max(times):.0f} | {result.breached:,} breached, "
          f"{result.warned:,} warned |")  # fmt: skip
    if send:
        print(f"| sending the tasks (sla.sweep.send_marks, Redis): new connection / warm | "
              f"{send[0]:.0f} / {send[1]:.0f} | | | | {send[2]:,} tasks |")  # fmt: skip


if __name__ == "__main__":
    main()

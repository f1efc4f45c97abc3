"""Routing throughput: 10,000 new tickets through real Celery workers and 50 routing rules.

    .venv/bin/python bench/routing.py                    # 10,000 tickets, 50 rules, 2 processes
    .venv/bin/python bench/routing.py --tickets 2000 --per-task 1
    .venv/bin/python bench/routing.py --tickets 2000 --profile   # in-process: SQL and Python
                                                                 # cost per ticket, no worker

1. Creates and migrates its own database (`helpdesk_bench_routing`, like bench/inbox.py).
2. In one tenant, as the runtime role: 6 teams of 8 agents (3 round-robin, 3 least-loaded,
   with capacities), the demo's SLA calendar and three policies (so every ticket gets its
   clocks), 50 routing rules of the shapes admins write (Chinese and English keywords,
   regexes, customer tier, channel, tags; some stop, some combine, a catch-all last), 2,000
   contacts (10 % VIP), and the tickets with their first message and their pending automation
   job — written in bulk, because creating tickets is not what is measured here.
3. Starts `celery worker --concurrency=N` (prefork) against the bench database and a queue of
   its own, sends the jobs as the app does (`run_automation`, `--per-task` job ids per task:
   25 is a transaction of the IMAP poller, 1 a single web-form or SMTP ticket), and times
   from the first send until no job is pending. Each job is the full pipeline: lock the job and
   the ticket, build the facts, evaluate the rules, write the changes with their events,
   assign (team lock, loads), the "routed" explanation, mark the job done.
4. Checks that every ticket was routed exactly once and prints tickets/second.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inbox as common  # noqa: E402 - bench/inbox.py: database set-up shared by the benches

ROOT = Path(__file__).resolve().parent.parent
TOPICS = [  # (keywords, team index, priority)
    (["退款", "refund", "退钱"], 0, "high"), (["发票", "invoice", "开票"], 0, None),
    (["登录", "login", "密码", "password"], 1, None), (["闪退", "crash", "崩溃"], 1, "high"),
    (["物流", "包裹", "parcel", "delivery", "快递"], 2, None), (["地址", "address"], 2, "low"),
    (["订阅", "subscription", "续费"], 3, None), (["投诉", "complaint", "差评"], 4, "urgent"),
    (["建议", "suggestion", "希望"], 5, "low"), (["api", "接口", "webhook"], 1, None),
]  # fmt: skip
SUBJECTS = ["订单 {n} 申请退款", "Refund for order {n}", "发票 {n} 开错了", "Cannot login",
            "应用启动就闪退", "Parcel {n} late", "包裹 {n} 还没到", "Change my address",
            "取消订阅 {n}", "我要投诉你们的客服", "A suggestion for the app", "API returns 500",
            "Hello", "你好，请问一下"]  # fmt: skip


def make_rules(teams: list, tier_team) -> list[dict]:
    rules: list[dict] = []
    for round_ in range(4):  # 40 keyword rules: 10 topics x 4 channel / wording variants
        for words, team, priority in TOPICS:
            conditions = [{"field": "text", "op": "contains_any", "value": words[round_ % 2 :]}]
            if round_ == 1:
                conditions.append({"field": "channel", "op": "in", "value": ["web", "chat"]})
            if round_ == 2:
                conditions.append({"field": "tags", "op": "has_none", "value": ["spam"]})
            if round_ == 3:
                conditions = [{"field": "subject", "op": "matches",
                               "value": "(" + "|".join(words) + r")\s*\d*"}]  # fmt: skip
            actions = [{"action": "set_team", "value": teams[team].pk},
                       {"action": "add_tags", "value": [words[0]]}]  # fmt: skip
            if priority:
                actions.append({"action": "set_priority", "value": priority})
            rules.append({"conditions": conditions, "actions": actions, "stop": round_ != 0})
    for n in range(9):  # VIP handling and odd ones, before the catch-all
        rules.insert(n * 4, {
            "conditions": [{"field": "requester_tier", "op": "in", "value": ["vip"]},
                           {"field": "text", "op": "contains_any", "value": [f"vip{n}", "加急"]}],
            "actions": [{"action": "set_team", "value": tier_team.pk},
                        {"action": "set_priority", "value": "urgent"}],
            "stop": True})  # fmt: skip
    rules.append({"conditions": [], "actions": [{"action": "set_team", "value": teams[0].pk}],
                  "stop": True})  # fmt: skip
    return rules[:50]


def seed(args, tenant) -> list[int]:
    from helpdesk.accounts.models import User
    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Membership
    from tickets.automation.models import AgentProfile, AutomationJob, RoutingRule
    from tickets.models import Contact, CustomerTier, Message, Team, TeamMember, Ticket

    rng = random.Random(11)
    with tenant_context(tenant):
        teams = []
        for n in range(6):
            strategy = "round_robin" if n % 2 == 0 else "least_loaded"
            team = Team.objects.create(name=f"Team {n}", tier=1 + n // 3, assignment=strategy)
            teams.append(team)
            for a in range(8):
                user = User.objects.create_user(email=f"t{n}a{a}@bench.test", password=None)
                Membership.objects.create(user=user)
                TeamMember.objects.create(team=team, user=user)
                AgentProfile.objects.create(user=user, capacity=10_000)
        from sla.demo import seed_sla

        seed_sla(tenant)  # calendar + urgent / VIP / standard policies: clocks for every ticket
        for n, rule in enumerate(make_rules(teams, teams[3])):
            RoutingRule.objects.create(name=f"Rule {n + 1}", position=n, **rule)
        contacts = Contact.objects.bulk_create([
            Contact(name=f"Customer {n}", email=f"c{n}@example.cn",
                    tier=CustomerTier.VIP if n % 10 == 0 else CustomerTier.STANDARD)
            for n in range(2000)])  # fmt: skip
        tickets = Ticket.objects.bulk_create([
            Ticket(number=n + 1, subject=rng.choice(SUBJECTS).format(n=rng.randrange(99999)),
                   requester=rng.choice(contacts), channel=rng.choice(["email", "web", "chat"]),
                   status="new")
            for n in range(args.tickets)])  # fmt: skip
        messages = Message.objects.bulk_create([
            Message(ticket=t, kind="reply", direction="in", author_contact=t.requester,
                    channel=t.channel, body_text=f"{t.subject}\n\n麻烦尽快处理，谢谢。Thanks.")
            for t in tickets])  # fmt: skip
        pairs = zip(tickets, messages, strict=True)
        jobs = AutomationJob.objects.bulk_create(
            [AutomationJob(ticket=t, message=m, event="created") for t, m in pairs]
        )
        return [j.pk for j in jobs]


def profile(tenant, job_ids: list[int], per_task: int) -> None:
    """The pipeline in this process, batch by batch as the worker runs it: statements and
    milliseconds per ticket, and where the Python time goes."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpdesk.tenancy.context import tenant_context
    from tickets.automation import jobs

    warm, rest = job_ids[: per_task * 4], job_ids[per_task * 4 :]
    with tenant_context(tenant):
        for start in range(0, len(warm), per_task):  # caches, jieba, compiled rules
            jobs.run_many(warm[start : start + per_task])
        profiler = cProfile.Profile()
        with CaptureQueriesContext(connection) as queries:
            begun = time.perf_counter()
            profiler.enable()
            for start in range(0, len(rest), per_task):
                jobs.run_many(rest[start : start + per_task])
            profiler.disable()
            elapsed = time.perf_counter() - begun
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    print(f"\n{len(rest):,} tickets in one process: {elapsed / len(rest) * 1000:.2f} ms and "
          f"{len(queries) / len(rest):.2f} statements per ticket "
          f"(SQL round trips {sql_ms / len(rest):.2f} ms per ticket)")  # fmt: skip
    shapes: dict[str, int] = {}
    for query in queries.captured_queries:
        shape = query["sql"].split(" WHERE ")[0][:110]
        shapes[shape] = shapes.get(shape, 0) + 1
    print("\nstatements by shape (per 100 tickets):")
    for shape, count in sorted(shapes.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {count * 100 / len(rest):7.1f}  {shape}")
    print()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def start_worker(target, concurrency: int, queue: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": target.runtime_url, "DATABASE_OWNER_URL": target.owner_url,
           "CELERY_TASK_DEFAULT_QUEUE": queue, "DJANGO_DEBUG": "false"}  # fmt: skip
    log = open(ROOT / ".data" / "bench-routing-worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--loglevel=WARNING",
         f"--concurrency={concurrency}", "-Q", queue, "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--prefetch-multiplier=4"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork)")
    parser.add_argument("--per-task", type=int, default=25, help="job ids per task message")
    parser.add_argument("--db", default="helpdesk_bench_routing")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the jobs in this process under cProfile: SQL and time per ticket",
    )
    args = parser.parse_args()
    target = common.Target.from_env(args.db)
    started = time.perf_counter()
    common.recreate_database(target)
    common.migrate(target)
    print(f"Bench database {target.name}: created and migrated in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    queue = f"bench-routing-{os.getpid()}"
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = queue
    common.setup_django(target, debug=False)
    from django.db import connections

    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Tenant
    from tickets.automation.models import AutomationJob, RoutingRule
    from tickets.models import Ticket, TicketEvent
    from tickets.tasks import run_automation

    tenant = Tenant.objects.create(slug="bench", name="Bench")
    seeded = time.perf_counter()
    job_ids = seed(args, tenant)
    with tenant_context(tenant):
        rules = RoutingRule.objects.count()
    print(f"{len(job_ids):,} tickets with pending jobs, {rules} rules, 6 teams x 8 agents: "
          f"seeded in {time.perf_counter() - seeded:.1f} s")  # fmt: skip
    print(f"CPU check: {common.cpu_check():.0f} ms for a fixed Python loop (lower is faster)")
    if args.profile:
        profile(tenant, job_ids, args.per_task)
        return
    connections.close_all()
    (ROOT / ".data").mkdir(exist_ok=True)
    worker = start_worker(target, args.workers, queue)
    try:
        time.sleep(4)  # worker start-up (Django, jieba) is not routing
        if worker.poll() is not None:
            sys.exit((ROOT / ".data" / "bench-routing-worker.log").read_text())
        begun = time.perf_counter()
        for start in range(0, len(job_ids), args.per_task):
            part = job_ids[start : start + args.per_task]
            run_automation.apply_async((tenant.pk,), {"job_ids": part}, queue=queue)
        with tenant_context(tenant):
            pending = AutomationJob.objects.filter(done_at__isnull=True)
            while pending.exists():
                time.sleep(0.1)
                if time.perf_counter() - begun > 900:
                    sys.exit("timed out after 15 minutes")
        elapsed = time.perf_counter() - begun
    finally:
        worker.terminate()
        worker.wait(30)
    with tenant_context(tenant):
        routed = TicketEvent.objects.filter(kind="routed").count()
        teams = Ticket.objects.filter(team__isnull=False).count()
        assigned = Ticket.objects.filter(assignee__isnull=False).count()
        failed = AutomationJob.objects.exclude(last_error="").count()
    print()
    print("| tickets | rules | worker processes | jobs per task | seconds | tickets/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {len(job_ids):,} | {rules} | {args.workers} | {args.per_task} | {elapsed:.1f} | "
          f"{len(job_ids) / elapsed:.0f} |")  # fmt: skip
    print(
        f"\nrouted events {routed:,}, tickets with a team {teams:,}, assigned {assigned:,}, "
        f"jobs with errors {failed} ({'OK' if routed == len(job_ids) else 'MISMATCH'})"
    )
    connections.close_all()
    if not args.keep:
        common.drop_database(target)


if __name__ == "__main__":
    main()

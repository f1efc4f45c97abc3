"""Inbox benchmark: a million tickets over a hundred tenants, then the pages agents live in.

    .venv/bin/python bench/inbox.py [--tickets 1000000] [--tenants 100] [--requests 200] [--keep]

1. Creates its own database (default `helpdesk_bench`, next to the dev database, through the
   owner role of DATABASE_OWNER_URL) and migrates it with `manage.py migrate` in a subprocess,
   so the dev data is never touched.
2. Bulk-loads tenants, users, memberships, teams, contacts, tickets (2 messages each) and tags
   with COPY ... FREEZE as the owner role. This is the explicit cross-tenant bulk path: the
   owner is not subject to row-level security, and nothing here goes through the app's scoped
   managers. Secondary indexes and foreign keys of the big tables are dropped first and
   re-created (and validated) afterwards, exactly as migrate defined them; then ANALYZE.
3. Measures, in this process, as the runtime role (DATABASE_URL pointed at the bench database,
   so row-level security is in force) with django.test.Client and a signed-in agent: the inbox,
   a filtered inbox, a Chinese and an English search and a ticket page, for the median-size
   and the largest tenant. Prints p50 / p95 / max in ms and the SQL queries per page. A page
   that has no view yet is measured through its selectors instead, and labelled so.

`--keep` keeps the database for the next run, which then skips seeding when the sizes match.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
# The database, COPY and Django set-up shared by the benches (bench/_db.py); re-exported here
# for bench/ingest.py and bench/routing.py, which use them as `inbox.<name>`.
from _db import (  # noqa: E402
    Phases,
    Target,
    check_columns,
    connect,
    copy_parallel,
    copy_rows,
    cpu_check,
    database_comment,
    drop_database,
    esc,
    migrate,
    recreate_database,
    restore_constraints,
    restore_indexes,
    setup_django,
    strip_tables,
    ts,
)

# The tables COPY fills in bulk: their secondary indexes and foreign keys (and every foreign key
# pointing at them) are dropped before the load and re-created after it.
BIG_TABLES = ("tickets_contact", "tickets_ticket", "tickets_message", "tickets_tickettag")
NOW = datetime.now(UTC).replace(microsecond=0)
DAY = 86_400
SEARCH_WORDS = {"zh": "退款", "en": "refund"}


# --- Generated rows -------------------------------------------------------------------------


@dataclass
class PoolText:
    """One realistic ticket text, escaped for COPY and segmented for search once."""

    language: str
    subject: str
    first: str
    first_html: str
    second: str
    second_html: str
    snippet: str
    search_subject: str
    search_body: str


def text_pool(rng: random.Random, size: int = 500, chinese_share: float = 0.3) -> list[PoolText]:
    from tickets.demo import COMPANIES, PRODUCTS, SCENARIOS_EN, SCENARIOS_ZH
    from tickets.sanitize import text_to_html
    from tickets.search import segment

    pool = []
    for _ in range(size):
        zh = rng.random() < chinese_share
        scenario = rng.choice(SCENARIOS_ZH if zh else SCENARIOS_EN)
        language = "zh-hans" if zh else "en"
        day = NOW - timedelta(days=rng.randint(3, 60))
        values = {
            "order": f"DD{day:%Y%m%d}{rng.randint(1000, 9999)}" if zh
            else f"SO-{rng.randint(100000, 999999)}",
            "tracking": f"SF{rng.randint(10**11, 10**12 - 1)}" if zh
            else f"JD{rng.randint(10**13, 10**14 - 1)}GB",
            "invoice": f"INV-{day:%Y}-{rng.randint(1000, 9999)}",
            "amount": f"¥{rng.randint(99, 2999)}.00" if zh else f"£{rng.randint(9, 499)}.99",
            "date": f"{day.month}月{day.day}日" if zh else f"{day.day} {day:%B}",
            "due": f"{day.month}月{day.day}日" if zh else f"{day.day} {day:%B}",
            "product": rng.choice(PRODUCTS[language]),
            "org": rng.choice(COMPANIES[language]),
            "email": "customer@mail.test",
            "domain": "mail.test",
        }  # fmt: skip
        subject = scenario.subject.format_map(values)
        first = scenario.first.format_map(values)
        second = rng.choice([scenario.ask, scenario.solve, scenario.note]).format_map(values)
        pool.append(
            PoolText(
                language=language,
                subject=esc(subject),
                first=esc(first),
                first_html=esc(text_to_html(first)),
                second=esc(second),
                second_html=esc(text_to_html(second)),
                snippet=esc(" ".join(second.split())[:200]),
                search_subject=esc(segment(subject)),
                search_body=esc(f" {segment(first)} {segment(second)}"),
            )
        )
    return pool


FIRST_EN = [
    "Emma",
    "Oliver",
    "Amelia",
    "George",
    "Isla",
    "Harry",
    "Ava",
    "Noah",
    "Mia",
    "Jack",
    "Sophia",
    "Leo",
    "Grace",
    "Oscar",
    "Lily",
    "Arthur",
    "Freya",
    "Henry",
    "Ella",
    "Jacob",
]
LAST_EN = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
]
SURNAMES_ZH = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱"]
GIVEN_ZH = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明",
            "超", "秀英", "晓燕", "建华", "俊杰", "丽"]  # fmt: skip
TAGS = ["refund", "shipping", "login", "invoice", "bug", "vip", "退款", "物流", "发票", "投诉"]
STATUS_OLD = (["closed"] * 86 + ["solved"] * 6 + ["open"] * 3 + ["pending"] * 3
              + ["on-hold"] * 2)  # tickets older than 30 days  # fmt: skip
STATUS_NEW = (["new"] * 14 + ["open"] * 28 + ["pending"] * 14 + ["on-hold"] * 6
              + ["solved"] * 22 + ["closed"] * 16)  # the last 30 days  # fmt: skip
OPEN = {"new", "open", "pending", "on-hold"}
PRIORITIES = ["low"] * 20 + ["normal"] * 55 + ["high"] * 18 + ["urgent"] * 7
CHANNELS = (["email"] * 35 + ["web"] * 20 + ["chat"] * 15 + ["wechat"] * 12 + ["phone"] * 8
            + ["portal"] * 8 + ["api"] * 2)  # fmt: skip
CATEGORIES = ["inquiry"] * 60 + ["complaint"] * 15 + ["suggestion"] * 10 + ["other"] * 15
TYPES = ["question"] * 55 + ["incident"] * 25 + ["problem"] * 10 + ["task"] * 10


def tenant_sizes(tickets: int, tenants: int) -> list[int]:
    """A few big tenants and a long tail (Zipf-like, s = 0.8), largest first."""
    weights = [1 / (i + 1) ** 0.8 for i in range(tenants)]
    total = sum(weights)
    sizes = [max(1, int(tickets * w / total)) for w in weights]
    sizes[0] += tickets - sum(sizes)
    return sizes


@dataclass
class TenantPlan:
    id: int
    slug: str
    tickets: int
    first_user: int
    users: int
    first_contact: int
    contacts: int
    first_team: int
    first_tag: int


def plan_tenants(sizes: list[int]) -> list[TenantPlan]:
    plans, user, contact = [], 1, 1
    for index, size in enumerate(sizes):
        users = max(3, min(60, size // 1500))
        contacts = max(20, size // 4)
        plans.append(
            TenantPlan(index + 1, f"bench{index + 1:03d}", size, user, users, contact, contacts,
                       first_team=index * 3 + 1, first_tag=index * len(TAGS) + 1)
        )  # fmt: skip
        user += users
        contact += contacts
    return plans


def copy_tickets(url: str, tickets: Iterable[tuple[str, str, str]]) -> dict[str, int]:
    tables = ("tickets_ticket", "tickets_message", "tickets_tickettag")
    return copy_parallel(url, {table: COLUMNS[table] for table in tables}, tickets)


class Loader:
    def __init__(self, plans: list[TenantPlan], seed: int = 42) -> None:
        self.plans = plans
        self.rng = random.Random(seed)
        self.pool = text_pool(random.Random(seed + 1))
        self.names_en = [f"{f} {last}" for f in FIRST_EN for last in LAST_EN]
        self.names_zh = [s + g for s in SURNAMES_ZH for g in GIVEN_ZH]
        from tickets.search import segment

        self.name_search = {n: esc(segment(n)) for n in self.names_en + self.names_zh}
        self.contact_names: dict[int, str] = {}

    def tenants(self) -> Iterator[str]:
        for p in self.plans:
            zh = p.id % 3 == 0
            language, zone = ("zh-hans", "Asia/Shanghai") if zh else ("en", "Europe/London")
            brand = "#2457c5\t\t7"  # accent colour, no logo, reopen within 7 days
            yield f"{p.id}\t{p.slug}\tBench tenant {p.id}\t{language}\t{zone}\t{brand}\tt\t{NOW}\n"

    def users(self) -> Iterator[str]:
        for p in self.plans:
            for j in range(p.users):
                uid = p.first_user + j
                name = self.rng.choice(self.names_en)
                yield (f"{uid}\t!bench\t\\N\tf\tagent{j}@{p.slug}.bench.test\t{name}\t\tt\tf"
                       f"\t{NOW}\n")  # fmt: skip

    def memberships(self) -> Iterator[str]:
        for p in self.plans:
            for j in range(p.users):
                role = "admin" if j == 0 else ("manager" if j == 1 else "agent")
                uid = p.first_user + j
                yield f"{uid}\t{role}\tt\t\\N\t{NOW}\t{uid}\t{p.id}\n"

    def teams(self) -> Iterator[str]:
        for p in self.plans:
            for tier, name in enumerate(("Tier 1 Support", "Tier 2 Technical", "Tier 3 Eng"), 1):
                yield f"{p.first_team + tier - 1}\t{name}\t{tier}\t[]\t\t{p.id}\tmanual\n"

    def team_members(self) -> Iterator[str]:
        for p in self.plans:
            for j in range(p.users):
                team = p.first_team + (0 if j % 4 < 2 else (1 if j % 4 == 2 else 2))
                yield f"{p.first_user + j}\t[]\t{team}\t{p.id}\t{p.first_user + j}\n"

    def tags(self) -> Iterator[str]:
        for p in self.plans:
            for k, name in enumerate(TAGS):
                yield f"{p.first_tag + k}\t{name}\t{p.id}\n"

    def contacts(self) -> Iterator[str]:
        rng = self.rng
        for p in self.plans:
            zh_share = 0.7 if p.id % 3 == 0 else 0.15
            for k in range(p.contacts):
                cid = p.first_contact + k
                zh = rng.random() < zh_share
                name = rng.choice(self.names_zh if zh else self.names_en)
                self.contact_names[cid] = name
                language = "zh-hans" if zh else "en"
                created = ts(NOW.timestamp() - rng.uniform(30, 400) * DAY)
                yield (f"{cid}\t{name}\tc{cid}@customers.test\t\t{language}\t{created}\t{p.id}"
                       f"\t\\N\t\\N\t\tstandard\t\\N\n")  # fmt: skip

    def tickets(self) -> Iterator[tuple[str, str, str]]:
        """Per ticket: its row, its two messages' rows and (for ~30%) a tag row."""
        rng, pool, now = self.rng, self.pool, NOW.timestamp()
        zh_pool = [i for i, t in enumerate(pool) if t.language == "zh-hans"]
        en_pool = [i for i, t in enumerate(pool) if t.language == "en"]
        tid = mid = tagged = 0
        for p in self.plans:
            zh_share = 0.7 if p.id % 3 == 0 else 0.2
            # Ticket n is opened at created[n]: a year of history, numbers in time order.
            created = sorted(now - rng.random() * 365 * DAY for _ in range(p.tickets))
            for number, opened in enumerate(created, 1):
                tid += 1
                age_days = (now - opened) / DAY
                status = rng.choice(STATUS_NEW if age_days < 30 else STATUS_OLD)
                last = min(now - 60, opened + rng.uniform(0.01, 6) * DAY)
                if status in OPEN and age_days > 30:
                    last = now - rng.uniform(0, 20) * DAY  # old but still moving
                text = pool[rng.choice(zh_pool if rng.random() < zh_share else en_pool)]
                requester = p.first_contact + rng.randrange(p.contacts)
                team_offset = rng.choice((0, 0, 0, 0, 0, 0, 0, 1, 1, 2))
                assigned = status != "new" and (status not in OPEN or rng.random() < 0.8)
                assignee = p.first_user + rng.randrange(p.users) if assigned else 0
                channel = rng.choice(CHANNELS)
                opened_at, last_at = ts(opened), ts(last)
                solved = last_at if status in {"solved", "closed"} else "\\N"
                responded = ts(opened + rng.uniform(0.02, 1) * DAY) if status != "new" else "\\N"
                title = (f"{number} {text.search_subject} "
                         f"{self.name_search[self.contact_names[requester]]} "
                         f"c{requester} customers test")  # fmt: skip
                ticket = "\t".join((
                    str(tid), str(number), text.subject, status, rng.choice(PRIORITIES),
                    rng.choice(TYPES), rng.choice(CATEGORIES), channel, text.language,
                    str(team_offset + 1), "{}", text.snippet, opened_at, last_at, last_at,
                    responded, solved, "1", title, text.search_body,
                    str(assignee) if assignee else "\\N", "\\N", "\\N", str(requester),
                    str(p.first_team + team_offset), str(p.id), "", "{}", "[]", "f",
                )) + "\n"  # fmt: skip
                # The customer's message, then an agent's reply (sent) or internal note.
                note = rng.random() < 0.2
                kind, delivery = ("note", "") if note else ("reply", "sent")
                sent = "\\N" if note else last_at
                author = assignee or p.first_user
                messages = (
                    f"{mid + 1}\treply\tin\t{channel}\t{text.first}\t{text.first_html}\t\t\t\t"
                    f"\t\t0\t{opened_at}\t{requester}\t\\N\t{p.id}\t{tid}\t\\N\t\\N\n"
                    f"{mid + 2}\t{kind}\tout\t{channel}\t{text.second}\t{text.second_html}\t\t\t"
                    f"\t{delivery}\t\t{0 if note else 1}\t{last_at}\t\\N\t{author}\t{p.id}"
                    f"\t{tid}\t{sent}\t{sent}\n"
                )  # fmt: skip
                mid += 2
                tag = ""
                if rng.random() < 0.3:
                    tagged += 1
                    tag = f"{tagged}\t{p.first_tag + rng.randrange(len(TAGS))}\t{p.id}\t{tid}\n"
                yield ticket, messages, tag

    def counters(self) -> Iterator[str]:
        for p in self.plans:
            yield f"{p.id}\t{p.tickets}\t{p.id}\n"


COLUMNS = {
    "tenancy_tenant": ("id", "slug", "name", "default_language", "timezone", "accent_color",
                       "logo", "portal_reopen_days", "is_active", "created_at"),
    "accounts_user": ("id", "password", "last_login", "is_superuser", "email", "full_name",
                      "language", "is_active", "is_staff", "date_joined"),
    "tenancy_membership": ("id", "role", "is_active", "invitation_sent_at", "created_at",
                           "user_id", "tenant_id"),
    "tickets_team": ("id", "name", "tier", "skills", "description", "tenant_id",
                     "assignment"),
    "tickets_teammember": ("id", "skills", "team_id", "tenant_id", "user_id"),
    "tickets_tag": ("id", "name", "tenant_id"),
    "tickets_contact": ("id", "name", "email", "phone", "language", "created_at", "tenant_id",
                        "user_id", "merged_into_id", "notes", "tier", "organization_id"),
    "tickets_ticket": ("id", "number", "subject", "status", "priority", "type", "category",
                       "channel", "language", "tier", "custom_fields", "snippet", "created_at",
                       "updated_at", "last_activity_at", "first_response_at", "solved_at",
                       "version", "search_title", "search_body", "assignee_id", "merged_into_id",
                       "organization_id", "requester_id", "team_id", "tenant_id", "topic",
                       "classification", "required_skills", "awaiting_assignment"),
    "tickets_message": ("id", "kind", "direction", "channel", "body_text", "body_html",
                        "external_id", "in_reply_to", "references", "delivery_status",
                        "delivery_error", "delivery_attempts", "created_at", "author_contact_id",
                        "author_user_id", "tenant_id", "ticket_id", "sent_at",
                        "delivery_changed_at"),
    "tickets_tickettag": ("id", "tag_id", "tenant_id", "ticket_id"),
    "tickets_ticketcounter": ("id", "last_number", "tenant_id"),
}  # fmt: skip


def seed(target: Target, args: argparse.Namespace, phases: Phases) -> list[TenantPlan]:
    plans = plan_tenants(tenant_sizes(args.tickets, args.tenants))
    with phases("create database"):
        recreate_database(target)
    with phases("migrate (subprocess)"):
        migrate(target)
    with phases("segment a pool of 500 texts (jieba)"):
        loader = Loader(plans)
    conn = connect(target.owner_url)
    check_columns(conn, COLUMNS, "bench/inbox.py")
    with phases("drop secondary indexes and foreign keys of the big tables"):
        schema = strip_tables(conn, BIG_TABLES)
    conn.execute("SET synchronous_commit = off")
    tables = list(COLUMNS)
    conn.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
    sources: dict[str, Callable[[], Iterable[str]]] = {
        "tenancy_tenant": loader.tenants,
        "accounts_user": loader.users,
        "tenancy_membership": loader.memberships,
        "tickets_team": loader.teams,
        "tickets_teammember": loader.team_members,
        "tickets_tag": loader.tags,
        "tickets_contact": loader.contacts,
        "tickets_ticketcounter": loader.counters,
    }
    for table, source in sources.items():
        name = f"COPY {table}"
        with phases(name):
            count = copy_rows(conn, table, COLUMNS[table], source())
        phases.rows[-1] = (f"{name} ({count:,} rows)", phases.rows[-1][1])
    conn.commit()
    with phases("COPY tickets, messages, tags (3 connections at once)"):
        counts = copy_tickets(target.owner_url, loader.tickets())
    phases.rows[-1] = (
        "COPY " + ", ".join(f"{t} ({n:,} rows)" for t, n in counts.items()),
        phases.rows[-1][1],
    )
    with connect(target.owner_url, autocommit=True) as owner:
        for table in tables:
            owner.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
    conn.close()
    with phases(f"re-create {len(schema.indexes)} indexes (2 connections)"):
        restore_indexes(target.owner_url, schema)
    with phases(f"re-add {len(schema.uniques) + len(schema.foreign_keys)} constraints"):
        restore_constraints(target.owner_url, schema)
    with phases("ANALYZE"), connect(target.owner_url, autocommit=True) as owner:
        owner.execute("ANALYZE")
        owner.execute(
            f'COMMENT ON DATABASE "{target.name}" IS \'tickets={args.tickets} '
            f"tenants={args.tenants}'"
        )
    return plans


# --- Measuring ------------------------------------------------------------------------------


@dataclass
class Result:
    page: str
    tenant: str
    mode: str
    timings: list[float]
    queries: int
    status: int
    slowest: list[tuple[float, str]] = field(default_factory=list)
    sql_ms: float = 0.0  # time in SQL during the one request whose queries were captured

    def row(self) -> str:
        t = sorted(self.timings)
        p50 = statistics.median(t)
        p95 = t[min(len(t) - 1, int(round(0.95 * (len(t) - 1))))]
        return (f"| {self.page} | {self.tenant} | {self.mode} | {p50:.1f} | {p95:.1f} | "
                f"{t[-1]:.1f} | {self.queries} | {self.sql_ms:.1f} |")  # fmt: skip


def has_view(path: str) -> bool:
    from django.urls import Resolver404, resolve
    from django.views.generic import RedirectView

    try:
        match = resolve(path)
    except Resolver404:
        return False
    return getattr(match.func, "view_class", None) is not RedirectView


def selector_call(kind: str, tenant, user, params: dict) -> Callable[[int], int]:
    """The page's reads through tickets.selectors, as its view would make them."""
    from django.db import transaction

    from helpdesk.tenancy.context import tenant_context
    from tickets import selectors

    def call(number: int) -> int:
        with tenant_context(tenant), transaction.atomic():  # like ATOMIC_REQUESTS
            if kind == "ticket":
                found = selectors.ticket_get_for_agent(number=number)
                selectors.ticket_thread(found)
                selectors.ticket_timeline(found)
                selectors.ticket_tag_names(found)
                selectors.contact_other_tickets(found.requester, exclude=found)
            else:
                filters = selectors.InboxFilters.from_query(params)
                selectors.inbox_page(user=user, filters=filters)
                selectors.view_counts(user=user)
        return 200

    return call


def view_call(client, path: str) -> Callable[[int], int]:
    def call(number: int) -> int:
        return client.get(path.format(n=number)).status_code

    return call


def signed_in_client(tenant, user, host: str):
    from django.test import Client

    from helpdesk.tenancy.middleware import SESSION_TENANT_KEY

    client = Client(HTTP_HOST=host)
    client.force_login(user)
    session = client.session
    session[SESSION_TENANT_KEY] = tenant.pk
    session.save()
    return client


HEADER = (
    "| page | tenant | measured through | p50 ms | p95 ms | max ms | SQL queries | SQL ms |\n"
    "|---|---|---|---:|---:|---:|---:|---:|"
)
PAGES = [  # label, path, the same filters as parameters for the selectors
    ("inbox", "/agent/inbox/", {}),
    ("inbox ?priority=high&status=open", "/agent/inbox/?priority=high&status=open",
     {"priority": "high", "status": "open"}),
    (f"search ?q={SEARCH_WORDS['zh']}", f"/agent/inbox/?q={SEARCH_WORDS['zh']}",
     {"q": SEARCH_WORDS["zh"]}),
    (f"search ?q={SEARCH_WORDS['en']}", f"/agent/inbox/?q={SEARCH_WORDS['en']}",
     {"q": SEARCH_WORDS["en"]}),
    ("ticket page", "/agent/tickets/{n}/", {}),
]  # fmt: skip


def time_page(call: Callable[[int], int], numbers: list[int], requests: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for number in numbers[:5]:  # warm up: templates, jieba, the connection
        call(number)
    gc.collect()  # as gunicorn.conf.py's post_worker_init: the loaded app out of the GC's way
    gc.freeze()
    with CaptureQueriesContext(connection) as captured:
        status = call(numbers[5])
    # Read now: the next request clears the connection's query log (request_started).
    queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    timings = []
    for number in numbers[10 : 10 + requests]:
        started = time.perf_counter()
        call(number)
        timings.append((time.perf_counter() - started) * 1000)
    return timings, status, sorted(queries, reverse=True)


def measure(plans: list[TenantPlan], args: argparse.Namespace) -> list[Result]:
    from django.test.utils import override_settings

    from helpdesk.accounts.models import User
    from helpdesk.tenancy.models import Tenant

    by_size = sorted(plans, key=lambda p: p.tickets)
    chosen = {"median": by_size[len(by_size) // 2], "largest": by_size[-1]}
    results = []
    rng = random.Random(7)
    # No collectstatic for a benchmark: plain static storage instead of the manifest.
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        for label, plan in chosen.items():
            if args.only and label not in args.only:
                continue
            tenant = Tenant.objects.get(slug=plan.slug)
            user = User.objects.get(email=f"agent2@{plan.slug}.bench.test")
            client = signed_in_client(tenant, user, f"{plan.slug}.localhost")
            name = f"{label} ({plan.tickets:,} tickets)"
            for page, path, params in PAGES:
                kind = "ticket" if page == "ticket page" else "inbox"
                view = has_view(path.format(n=1).split("?")[0]) and not args.selectors
                call = (
                    view_call(client, path) if view else selector_call(kind, tenant, user, params)
                )
                numbers = [rng.randint(1, plan.tickets) for _ in range(args.requests + 10)]
                if args.profile:
                    if page == args.profile:
                        profile_page(call, numbers, name, page)
                    continue
                timings, status, queries = time_page(call, numbers, args.requests)
                mode = "view (test client)" if view else "selectors only"
                result = Result(page, name, mode, timings, len(queries), status, queries[:3],
                                sql_ms=sum(ms for ms, _sql in queries))  # fmt: skip
                print(result.row(), flush=True)
                results.append(result)
                if args.explain:
                    explain(tenant, queries[:1])
    return results


def profile_page(call: Callable[[int], int], numbers: list[int], tenant: str, page: str) -> None:
    """Where the Python time of a page goes: the 25 costliest functions over 30 requests."""
    import cProfile
    import pstats

    for number in numbers[:5]:
        call(number)
    profiler = cProfile.Profile()
    profiler.enable()
    for number in numbers[5:35]:
        call(number)
    profiler.disable()
    print(f"\nProfile of {page} for {tenant}, 30 requests:")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def explain(tenant, queries: list[tuple[float, str]]) -> None:
    from django.db import connection, transaction

    from helpdesk.tenancy.context import tenant_context

    for ms, sql in queries:
        with tenant_context(tenant), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join("      " + row[0] for row in cursor.fetchall())
        print(f"    slowest query ({ms:.1f} ms): {sql[:300]}\n{plan}\n", flush=True)


# --- Main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--keep", action="store_true", help="keep the database for reruns")
    parser.add_argument("--fresh", action="store_true", help="seed again even if kept")
    parser.add_argument("--db", default="helpdesk_bench", help="bench database name")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE slowest query")
    parser.add_argument("--selectors", action="store_true", help="measure selectors, not views")
    parser.add_argument("--only", nargs="*", choices=["median", "largest"], help="tenants")
    parser.add_argument("--debug", action="store_true", help="run with DJANGO_DEBUG=true")
    parser.add_argument(
        "--profile", metavar="PAGE", help="cProfile one page (a label, e.g. 'inbox') and stop"
    )
    args = parser.parse_args()
    target = Target.from_env(args.db)
    setup_django(target, args.debug)
    phases = Phases()
    wanted = f"tickets={args.tickets} tenants={args.tenants}"
    print(f"Bench database {target.name}: {wanted}")
    if args.keep and not args.fresh and database_comment(target) == wanted:
        print("  already seeded (--keep): skipping the load")
        plans = plan_tenants(tenant_sizes(args.tickets, args.tenants))
    else:
        plans = seed(target, args, phases)
        print("\n" + phases.table() + "\n")
    print(f"CPU check before: {cpu_check():.0f} ms for a fixed Python loop (lower is faster)\n")
    print(HEADER)
    try:
        results = measure(plans, args)
        print(f"\nCPU check after: {cpu_check():.0f} ms")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(target)
    failed = [r for r in results if r.status != 200]
    for r in failed:
        print(f"! {r.page} for {r.tenant} answered {r.status}")
    print("\nSlowest SQL per page:")
    for r in results:
        for ms, sql in r.slowest[:1]:
            print(f"  {r.page} / {r.tenant}: {ms:.1f} ms  {sql[:160]}")


if __name__ == "__main__":
    main()

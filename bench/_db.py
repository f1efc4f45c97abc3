"""What the benches share: their own database (created with the owner role, migrated in a
subprocess), bulk loading with COPY as the owner — the explicit cross-tenant bulk path —,
dropping and re-creating the big tables' secondary indexes and constraints around the load,
and pointing Django at the bench database as the runtime role.

Used by bench/inbox.py (which re-exports these names for bench/ingest.py and bench/routing.py)
and bench/sla_sweep.py.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- Settings and connections ---------------------------------------------------------------


def _env_file() -> dict[str, str]:
    values = {}
    path = ROOT / ".env"
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip().strip("'\"")
    return {**values, **{k: v for k, v in os.environ.items() if k in values}}


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@dataclass
class Target:
    owner_url: str  # the owning role, on the bench database
    runtime_url: str  # the runtime role (row-level security applies), on the bench database
    admin_url: str  # the owning role, on the maintenance database (to create / drop)
    name: str

    @classmethod
    def from_env(cls, name: str) -> Target:
        env = _env_file()
        runtime = env.get("DATABASE_URL") or os.environ.get("DATABASE_URL")
        owner = env.get("DATABASE_OWNER_URL") or runtime
        if not runtime:
            sys.exit("DATABASE_URL is not set (run `make services` or write .env first).")
        dev_name = urlsplit(runtime).path.lstrip("/")
        if name == dev_name or "bench" not in name:
            sys.exit(f"Refusing to use {name!r}: the bench database must be its own ('*bench*').")
        return cls(
            owner_url=_with_db(owner, name),
            runtime_url=_with_db(runtime, name),
            admin_url=_with_db(owner, "postgres"),
            name=name,
        )


def connect(url: str, **kwargs):
    import psycopg

    return psycopg.connect(url, **kwargs)


class Phases:
    """Wall-clock time of each seeding phase."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        print(f"  {name} …", flush=True)
        yield
        self.rows.append((name, time.perf_counter() - started))
        print(f"  {name}: {self.rows[-1][1]:.1f} s", flush=True)

    def table(self) -> str:
        lines = ["| seeding phase | seconds |", "|---|---:|"]
        lines += [f"| {name} | {seconds:.1f} |" for name, seconds in self.rows]
        lines.append(f"| **total** | **{sum(s for _, s in self.rows):.1f}** |")
        return "\n".join(lines)


# --- The database ---------------------------------------------------------------------------


def database_comment(target: Target) -> str | None:
    with connect(target.admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [target.name],
        ).fetchone()
    return None if row is None else (row[0] or "")


def recreate_database(target: Target) -> None:
    with connect(target.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.name}"')


def drop_database(target: Target) -> None:
    with connect(target.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')


def migrate(target: Target) -> None:
    env = {**os.environ, "DATABASE_URL": target.runtime_url,
           "DATABASE_OWNER_URL": target.owner_url}  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


@dataclass
class Schema:
    """What the bulk load takes away from the big tables and puts back afterwards."""

    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)  # table, name, def
    uniques: list[tuple[str, str, str]] = field(default_factory=list)
    indexes: list[tuple[str, str, str]] = field(default_factory=list)  # table, name, CREATE …


def strip_tables(conn, tables: Iterable[str]) -> Schema:
    """Drop the secondary indexes, unique constraints and foreign keys of `tables` (and the
    foreign keys pointing at them), and return their definitions to re-create them with."""
    schema = Schema()
    big = list(tables)
    rows = conn.execute(
        "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE contype IN ('f', 'u') AND ("
        "conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))",
        [big, big],
    ).fetchall()
    for table, name, kind, definition in rows:
        (schema.foreign_keys if kind == "f" else schema.uniques).append((table, name, definition))
    for table, name, _definition in schema.foreign_keys + schema.uniques:
        conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
    rows = conn.execute(
        "SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "WHERE t.relname = ANY(%s) AND NOT x.indisprimary",
        [big],
    ).fetchall()
    schema.indexes = [(table, name, definition) for table, name, definition in rows]
    for _table, name, _definition in schema.indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return schema


def _run_parallel(url: str, statements: list[str], workers: int = 2) -> None:
    """Index builds on two connections at once (GIN builds are single-threaded)."""
    work: queue.Queue[str] = queue.Queue()
    for statement in statements:
        work.put(statement)
    errors: list[BaseException] = []

    def worker() -> None:
        with connect(url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '2GB'")
            conn.execute("SET max_parallel_maintenance_workers = 0")
            while True:
                try:
                    statement = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    conn.execute(statement)
                except BaseException as error:  # noqa: BLE001 - reported below
                    errors.append(error)
                    return

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def restore_indexes(url: str, schema: Schema) -> None:
    # Slowest first, so the two connections finish together.
    def cost(item: tuple[str, str, str]) -> int:
        table, _name, definition = item
        weight = {"tickets_message": 3, "tickets_ticket": 2}.get(table, 1)
        return -(weight * (10 if " gin " in definition.lower() else 1))

    _run_parallel(url, [definition for *_, definition in sorted(schema.indexes, key=cost)])


def restore_constraints(url: str, schema: Schema) -> None:
    with connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '2GB'")
        for table, name, definition in schema.uniques + schema.foreign_keys:
            conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


# --- COPY ----------------------------------------------------------------------------------


def esc(value: str) -> str:
    """A value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(sep=" ")


def copy_rows(conn, table: str, columns: Iterable[str], lines: Iterable[str]) -> int:
    """Stream generated lines into COPY in ~1 MB chunks; the table was truncated in this
    transaction, so FREEZE writes the rows already frozen (no later vacuum needed)."""
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FREEZE)") as copy,
    ):
        chunk: list[str] = []
        size = 0
        for line in lines:
            chunk.append(line)
            size += len(line)
            count += 1
            if size > 1_000_000:
                copy.write("".join(chunk))
                chunk, size = [], 0
        if chunk:
            copy.write("".join(chunk))
    return count


class CopyWriter(threading.Thread):
    """One COPY ... FREEZE on its own connection, fed chunks through a small queue: the
    tickets (whose generated tsvector makes Postgres the bottleneck), their messages and
    tags load at the same time on separate backends while Python generates the rows once."""

    def __init__(self, url: str, table: str, columns: Iterable[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.table, self.columns = url, table, tuple(columns)
        self.chunks: queue.Queue[str | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.rows = 0

    def run(self) -> None:
        try:
            with connect(self.url) as conn:
                conn.execute("SET synchronous_commit = off")
                conn.execute(f"TRUNCATE {self.table}")  # in this transaction, for FREEZE
                copy_rows(conn, self.table, self.columns, iter(self.chunks.get, None))
                conn.commit()
        except BaseException as error:  # noqa: BLE001 - re-raised by the feeding thread
            self.error = error

    def put(self, chunk: str | None) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.chunks.put(chunk, timeout=1)
                return
            except queue.Full:
                continue


def copy_parallel(
    url: str, tables: dict[str, Iterable[str]], rows: Iterable[tuple[str, ...]]
) -> dict[str, int]:
    """COPY … FREEZE into several tables at once, one connection (CopyWriter) each, from one
    generator: each row is a tuple of COPY lines, one string per table in `tables`' order
    ("" for none). Returns the lines loaded per table."""
    names = list(tables)
    writers = [CopyWriter(url, name, tables[name]) for name in names]
    for writer in writers:
        writer.start()
    buffers: list[list[str]] = [[] for _ in names]
    sizes = [0] * len(names)
    counts = dict.fromkeys(names, 0)
    for row in rows:
        for i, lines in enumerate(row):
            if lines:
                buffers[i].append(lines)
                sizes[i] += len(lines)
                counts[names[i]] += lines.count("\n")
                if sizes[i] > 1_000_000:
                    writers[i].put("".join(buffers[i]))
                    buffers[i], sizes[i] = [], 0
    for i, writer in enumerate(writers):
        if buffers[i]:
            writer.put("".join(buffers[i]))
        writer.put(None)
    for writer in writers:
        writer.join()
        if writer.error is not None:
            raise writer.error
    return counts


def check_columns(conn, tables: dict[str, Iterable[str]], script: str) -> None:
    """Fail loudly, before loading, if a model gained a required column `script` omits."""
    for table, columns in tables.items():
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND is_nullable = 'NO' AND column_default IS NULL AND is_generated = 'NEVER' "
            "AND identity_generation IS NULL",
            [table],
        ).fetchall()
        missing = {r[0] for r in rows} - set(columns) - {"id"}
        if missing:
            sys.exit(f"{table} has required columns {script} does not fill: {missing}")


# --- Measuring ------------------------------------------------------------------------------


def setup_django(target: Target, debug: bool) -> None:
    # Static files are served by WhiteNoise from STATIC_ROOT in production; no collectstatic here.
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")
    os.environ["DATABASE_URL"] = target.runtime_url
    os.environ["DATABASE_OWNER_URL"] = target.owner_url
    os.environ["DJANGO_DEBUG"] = "true" if debug else "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()


def cpu_check() -> float:
    """ms for a fixed pure-Python loop: how fast this machine is right now (shared cloud
    cores vary by half from minute to minute; read the figures next to it)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i
        best = min(best, (time.perf_counter() - started) * 1000)
    return best

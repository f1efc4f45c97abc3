"""Inbound mail throughput: 10,000 mixed raw emails through the whole pipeline.

    .venv/bin/python bench/ingest.py                  # 10,000 emails, 2 worker processes
    .venv/bin/python bench/ingest.py --emails 2000 --workers 1
    .venv/bin/python bench/ingest.py --batch 25       # the IMAP poller's path

Each email goes through `channels_in.email.receive_email` one at a time, as SMTP, the webhook
and `manage.py ingest_email` call it, or with `--batch 25` through `receive_emails` a mailbox's
25 at a time, as the IMAP poller does with each FETCH: store the raw bytes, parse (charsets,
MIME, attachments), thread (Message-ID / References, reply address, [#N]), dedupe, store the
message and attachments, record the timeline event, write the automation job and send its task
to Redis on commit (the route enqueue) — as the runtime role, row-level security on, in its
own bench database (`helpdesk_bench_ingest`, created and migrated like bench/inbox.py's).

The mix: new conversations in English and Chinese (GB2312 and UTF-8, some HTML-only or
multipart/alternative), 10 % with a 40 KB attachment, 20 % replies to earlier mails by
References, 5 % delivered twice (must stay one message), 1 % broken (stored and flagged).
Worker processes share the list the way Celery workers would share a queue.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inbox as common  # noqa: E402 - bench/inbox.py: database set-up shared by the benches

SUBJECTS_EN = ["Refund for order {n}", "Cannot sign in", "Invoice {n} is wrong", "Parcel {n} late",
               "Change my address", "App crashes on start", "Cancel subscription {n}"]  # fmt: skip
SUBJECTS_ZH = ["订单 {n} 申请退款", "无法登录账户", "发票 {n} 开错了", "包裹 {n} 还没到",
               "修改收货地址", "应用启动就闪退", "取消订阅 {n}"]  # fmt: skip
BODY_EN = (
    "Hello,\n\nI ordered on Monday and still have nothing. Order {n}.\nCan you help?\n\nThanks"
)
BODY_ZH = "您好，\n\n我周一下的单，到现在还没收到。订单号 {n}。\n麻烦帮忙查一下，谢谢！"


def _headers(i: int, sender: str, subject_header: str, extra: str = "") -> str:
    date = format_datetime(datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=i))
    return (f"From: Customer {i % 500} <{sender}>\r\nTo: support@bench.localhost\r\n"
            f"Subject: {subject_header}\r\nMessage-ID: <m{i}@mail.example>\r\nDate: {date}\r\n"
            f"{extra}MIME-Version: 1.0\r\n")  # fmt: skip


def _encoded(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def make_emails(count: int, seed: int = 7) -> tuple[list[bytes], int]:
    """The mixed corpus, and how many distinct messages it holds (duplicates excluded)."""
    rng = random.Random(seed)
    mails: list[bytes] = []
    attachment = base64.encodebytes(rng.randbytes(40_000)).decode().replace("\n", "\r\n")
    distinct = 0
    for i in range(count):
        if mails and rng.random() < 0.05:  # a redelivery of an earlier mail, byte for byte
            mails.append(rng.choice(mails))
            continue
        distinct += 1
        sender = f"c{rng.randrange(2000)}@example.{rng.choice(['com', 'cn'])}"
        n = rng.randrange(10_000, 99_999)
        if rng.random() < 0.01:
            mails.append(b"this is not an email at all \xff\xfe" * 3)
            continue
        reply = mails and rng.random() < 0.2
        extra = f"In-Reply-To: <m{rng.randrange(i)}@mail.example>\r\n" if reply and i else ""
        if rng.random() < 0.35:  # Chinese, GB2312 like Outlook and QQMail send it
            subject = rng.choice(SUBJECTS_ZH).format(n=n)
            body = BODY_ZH.format(n=n)
            head = _headers(i, sender, _encoded(subject, "gb2312"), extra)
            payload = base64.encodebytes(body.encode("gb18030")).decode().replace("\n", "\r\n")
            part = ("Content-Type: text/plain; charset=gb2312\r\n"
                    f"Content-Transfer-Encoding: base64\r\n\r\n{payload}")  # fmt: skip
        else:
            subject = rng.choice(SUBJECTS_EN).format(n=n)
            body = BODY_EN.format(n=n)
            head = _headers(i, sender, subject, extra)
            if rng.random() < 0.3:
                html = "<p>" + body.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"
                part = ('Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
                        f"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
                        f"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
                        "--alt--\r\n")  # fmt: skip
            else:
                part = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        if rng.random() < 0.1:
            part = ('Content-Type: multipart/mixed; boundary="mix"\r\n\r\n--mix\r\n' + part +
                    "\r\n--mix\r\nContent-Type: application/pdf\r\n"
                    'Content-Disposition: attachment; filename="receipt.pdf"\r\n'
                    "Content-Transfer-Encoding: base64\r\n\r\n"
                    f"{attachment}\r\n--mix--\r\n")  # fmt: skip
        mails.append((head + part).encode("utf-8"))
    return mails, distinct


def _work(tenant_ids: list[int], batches: list[tuple[int, list[bytes]]], queue) -> None:
    from django.db import connections

    from channels_in.email import receive_email, receive_emails
    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Tenant

    connections.close_all()  # a forked process opens its own connection
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in=tenant_ids)}
    counts: dict[str, int] = {}
    for tenant_id, raws in batches:
        with tenant_context(tenants[tenant_id]):
            if len(raws) == 1:  # what SMTP and the webhook do: one message per call
                rows = [receive_email(raws[0], via="command")]
            else:  # what the IMAP poller does with each FETCH
                rows = receive_emails(raws, via="imap")
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
    connections.close_all()
    queue.put(counts)


def batched(addressed: list[tuple[int, bytes]], size: int) -> list[tuple[int, list[bytes]]]:
    """Each tenant's mail in arrival order, cut into batches of `size` (one mailbox's FETCH)."""
    streams: dict[int, list[bytes]] = {}
    for tenant_id, raw in addressed:
        streams.setdefault(tenant_id, []).append(raw)
    cut = [
        (i, t, raws[i : i + size]) for t, raws in streams.items() for i in range(0, len(raws), size)
    ]
    return [(t, raws) for _i, t, raws in sorted(cut, key=lambda c: (c[0], c[1]))]  # interleaved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tenants", type=int, default=10, help="mail spread over this many")
    parser.add_argument("--batch", type=int, default=1,
                        help="messages per call: 1 = SMTP / webhook (receive_email), "
                             "25 = an IMAP FETCH (receive_emails)")  # fmt: skip
    parser.add_argument("--db", default="helpdesk_bench_ingest")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    target = common.Target.from_env(args.db)
    started = time.perf_counter()
    common.recreate_database(target)
    common.migrate(target)
    print(f"Bench database {target.name}: created and migrated in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    # The route enqueue is part of the pipeline: each transaction sends its automation task to
    # Redis. A queue of the bench's own, emptied afterwards, keeps them from any real worker.
    task_queue = f"bench-ingest-{os.getpid()}"
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = task_queue
    common.setup_django(target, debug=False)
    os.environ.setdefault("HELPDESK_ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024))
    from django.conf import settings
    from django.db import connections

    from helpdesk.tenancy.models import Tenant

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(".data/bench-ingest-media").resolve())},
    }}  # fmt: skip
    tenants = [Tenant.objects.create(slug=f"bench{i}", name=f"Bench {i}")
               for i in range(args.tenants)]  # fmt: skip
    mails, distinct = make_emails(args.emails)
    size = sum(len(m) for m in mails)
    print(f"{len(mails):,} emails ({size / 1e6:.1f} MB), {distinct:,} distinct, over "
          f"{args.tenants} tenant(s); {args.workers} worker process(es)")  # fmt: skip
    print(f"CPU check: {common.cpu_check():.0f} ms for a fixed Python loop (lower is faster)")
    connections.close_all()
    # Mail i goes to tenant i % tenants: a redelivery may land in another tenant than its
    # first copy, where it is new — so count distinct (tenant, bytes) pairs below.
    addressed = [(tenants[i % len(tenants)].pk, raw) for i, raw in enumerate(mails)]
    calls = batched(addressed, args.batch) if args.batch > 1 else [(t, [r]) for t, r in addressed]
    shares = [calls[w :: args.workers] for w in range(args.workers)]
    fork = multiprocessing.get_context("fork")
    queue = fork.Queue()
    begun = time.perf_counter()
    ids = [t.pk for t in tenants]
    workers = [fork.Process(target=_work, args=(ids, share, queue)) for share in shares]
    for worker in workers:
        worker.start()
    totals: dict[str, int] = {}
    for _worker in workers:
        for status, n in queue.get().items():
            totals[status] = totals.get(status, 0) + n
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - begun
    from tickets.models import Message, Ticket

    messages = Message.objects.all_tenants().count()
    tickets = Ticket.objects.all_tenants().count()
    print()
    print("| emails | batch | workers | seconds | emails/s | tickets | messages | outcomes |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    outcome = ", ".join(f"{k} {v:,}" for k, v in sorted(totals.items()))
    print(f"| {len(mails):,} | {args.batch} | {args.workers} | {elapsed:.1f} | "
          f"{len(mails) / elapsed:.0f} | {tickets:,} | {messages:,} | {outcome} |")  # fmt: skip
    expected = len({(t, raw) for t, raw in addressed if not raw.startswith(b"this is not")})
    print(
        f"\nDistinct (tenant, mail) pairs that must become messages: {expected:,}; "
        f"messages stored: {messages:,} ({'OK' if messages == expected else 'MISMATCH'})"
    )
    from helpdesk.celery import app

    with app.connection_for_write() as connection:
        sent = connection.default_channel.queue_purge(task_queue) or 0
    print(f"Automation tasks sent to Redis (one per transaction): {sent:,}")
    connections.close_all()
    if not args.keep:
        common.drop_database(target)


if __name__ == "__main__":
    main()

"""A real Celery worker process and a real SMTP sink for tests of the paths that matter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parent.parent


class Sink:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def _url(alias: str) -> str:
    db = connections[alias].settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextmanager
def celery_worker(smtp_port: int) -> Iterator[subprocess.Popen]:
    """Start `celery worker` against the test database (as the runtime role), the test queue and
    the SMTP sink; wait until it is ready; stop it afterwards."""
    env = {
        **os.environ,
        "DATABASE_URL": _url("default"),
        "DATABASE_OWNER_URL": _url("owner"),
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "HELPDESK_TESTING": "true",
        # The same cache keys as the test process (the SLA clock offset of helpdesk.lib.clock).
        "HELPDESK_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "DJANGO_DEBUG": "true",
    }
    (ROOT / ".data").mkdir(exist_ok=True)
    log = open(ROOT / ".data" / f"test-worker-{os.getpid()}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool=solo",
         "--loglevel=INFO", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = (ROOT / ".data" / f"test-worker-{os.getpid()}.log").read_text()
            if "ready." in text:
                break
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{text}")
            time.sleep(0.2)
        else:
            raise RuntimeError("celery worker did not become ready in 60 s")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

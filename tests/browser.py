"""Browser fixtures for every test directory (tests/conftest.py loads them): ONE Chromium per
test session, driven by Playwright's sync API (a second sync_playwright() while the first
runs fails with "Sync API inside the asyncio loop")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import ARGS, CHROMIUM


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(scope="session", autouse=True)
def _live_server_on_ipv4():
    os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


BUSY_BACKENDS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend' AND state IN ('active', 'idle in transaction')
"""


@pytest.fixture(autouse=True)
def _live_server_requests_finish_before_the_flush(request):
    """A page can leave a request in flight when its test ends (an htmx panel loading, a
    countdown polling). Its transaction and the flush's TRUNCATE then lock tables in opposite
    orders and deadlock, leaving the database dirty for every later test. Torn down before
    the flush (set up after pytest-django's live-server helper), this waits until no other
    connection to the test database is inside a statement or a transaction (at most 10 s)."""
    yield
    if "live_server" not in request.fixturenames:
        return
    import time

    from django.db import connections

    deadline = time.monotonic() + 10
    with connections["owner"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(BUSY_BACKENDS)
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)

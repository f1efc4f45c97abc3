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

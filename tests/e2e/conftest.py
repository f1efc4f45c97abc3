"""Playwright driving Debian's Chromium (/usr/bin/chromium); nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HELPDESK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "artifacts"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # <slug>.localhost must reach the live server on IPv4 loopback.
    "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


# The browser, page and live-server fixtures live in tests/browser.py, loaded by
# tests/conftest.py for every test directory: one Chromium per session (a second
# sync_playwright() while the first runs fails with "Sync API inside the asyncio loop").


def tenant_url(live_server, tenant, path: str) -> str:
    port = live_server.url.rsplit(":", 1)[1]
    return f"http://{tenant.slug}.localhost:{port}{path}"

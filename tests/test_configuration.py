"""Production refuses to start on missing configuration, with a message, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "HELPDESK_", "PYTEST"))
    }
    env.update({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "", **overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_secret_key_in_production_is_named():
    result = run_check()
    assert result.returncode == 2
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_database_url_in_production_is_named():
    result = run_check(DJANGO_SECRET_KEY="x" * 50, DATABASE_URL="")
    assert result.returncode == 2
    assert "DATABASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr

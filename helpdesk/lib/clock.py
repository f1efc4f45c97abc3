"""The time SLA clocks, sweeps and countdowns read: `now()`.

In production it is `django.utils.timezone.now()`. With `settings.HELPDESK_CLOCK_CONTROL`
(tests only) a test can move it forward for every process that shares the cache — the test
process, its live server and a real Celery worker — the way freezegun moves one process:

    travel(minutes=61)   # every process's now() is an hour and a minute later
    reset()

The offset lives in the cache (Redis), so it costs a cache read per call; only when control is
on, never in production.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

KEY = "helpdesk:clock-offset-seconds"


def now() -> datetime:
    real = timezone.now()
    if not getattr(settings, "HELPDESK_CLOCK_CONTROL", False):
        return real
    try:
        offset = float(cache.get(KEY) or 0)
    except Exception:  # noqa: BLE001 - a test that takes the cache down: no travel, real time
        offset = 0.0
    return real + timedelta(seconds=offset)


def real_now() -> datetime:
    """The wall clock itself, for bookkeeping columns (when a row was written)."""
    return timezone.now()


def travel(*, minutes: float = 0, seconds: float = 0) -> datetime:
    """Move every process's clock forward (tests only); returns the new now()."""
    if not getattr(settings, "HELPDESK_CLOCK_CONTROL", False):
        raise RuntimeError("Time travel needs settings.HELPDESK_CLOCK_CONTROL (tests only).")
    offset = float(cache.get(KEY) or 0) + minutes * 60 + seconds
    cache.set(KEY, offset, timeout=None)
    return now()


def reset() -> None:
    if getattr(settings, "HELPDESK_CLOCK_CONTROL", False):
        cache.delete(KEY)

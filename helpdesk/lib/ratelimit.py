"""Fixed-window rate limits in the cache (Redis): `allow("web-form-ip", ip, limit=5, window=600)`.

Fails open: with the cache unreachable every call is allowed (and logged) — a Redis outage must
not stop customers from writing in; the honeypot and form tokens still apply.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def allow(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one hit of `key` in `scope`; False once more than `limit` came in `window` s."""
    digest = hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]
    name = f"ratelimit:{scope}:{digest}"
    try:
        if cache.add(name, 1, window):
            return True
        return cache.incr(name) <= limit
    except ValueError:  # expired between add and incr: a new window
        return True
    except Exception:  # noqa: BLE001 - fail open, see the module docstring
        logger.warning("rate limit %s unchecked: cache unavailable", scope)
        return True

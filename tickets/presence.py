"""Who else has a ticket open: agents viewing or typing on it, kept in Redis, never in Postgres.

One sorted set per (tenant, ticket) holds user ids scored by their last heartbeat (epoch
seconds); a second one holds when each of them last typed in the composer. The ticket page
sends a heartbeat every 10 s and while the agent types. Entries older than PRESENCE_WINDOW are
ignored and pruned; both keys expire on their own once nobody sends heartbeats any more.

Presence is a nicety: when Redis is unreachable the page still works and shows nobody.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

from helpdesk.accounts.models import User

from .models import Ticket

logger = logging.getLogger(__name__)

PRESENCE_WINDOW = 30  # seconds: a viewer without a heartbeat for this long has gone
TYPING_WINDOW = 12  # seconds: "typing" lasts a little longer than the 10 s heartbeat
KEY_TTL = 120  # seconds: keys of tickets nobody looks at disappear


@dataclass(frozen=True)
class Viewer:
    user_id: int
    typing: bool


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def _keys(ticket: Ticket) -> tuple[str, str]:
    # The cache prefix keeps test runs and deployments that share one Redis apart.
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    base = f"{prefix}:presence:{ticket.tenant_id}:{ticket.pk}"
    return f"{base}:viewing", f"{base}:typing"


def presence_beat(
    *, ticket: Ticket, user: User, typing: bool = False, now: float | None = None
) -> list[Viewer]:
    """Record that `user` has `ticket` open (and is typing, when `typing`); return the other
    agents there now, typists first. One round trip to Redis."""
    now = time.time() if now is None else now
    viewing, typists = _keys(ticket)
    try:
        pipe = _client(settings.REDIS_URL).pipeline()
        pipe.zadd(viewing, {str(user.pk): now})
        if typing:
            pipe.zadd(typists, {str(user.pk): now})
        pipe.zremrangebyscore(viewing, "-inf", now - PRESENCE_WINDOW)
        pipe.zremrangebyscore(typists, "-inf", now - TYPING_WINDOW)
        pipe.expire(viewing, KEY_TTL)
        pipe.expire(typists, KEY_TTL)
        pipe.zrangebyscore(viewing, now - PRESENCE_WINDOW, "+inf")
        pipe.zrangebyscore(typists, now - TYPING_WINDOW, "+inf")
        *_writes, viewer_ids, typist_ids = pipe.execute()
    except redis.RedisError as error:
        logger.warning("presence unavailable: %s", error)
        return []
    typing_ids = {int(raw) for raw in typist_ids}
    others = [
        Viewer(user_id=int(raw), typing=int(raw) in typing_ids)
        for raw in viewer_ids
        if int(raw) != user.pk
    ]
    return sorted(others, key=lambda v: (not v.typing, v.user_id))


def presence_leave(*, ticket: Ticket, user: User) -> None:
    """Forget `user` on `ticket` at once (they closed it or moved on)."""
    try:
        _client(settings.REDIS_URL).zrem(_keys(ticket)[0], str(user.pk))
        _client(settings.REDIS_URL).zrem(_keys(ticket)[1], str(user.pk))
    except redis.RedisError as error:
        logger.warning("presence unavailable: %s", error)

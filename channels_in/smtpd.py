"""The inbound SMTP server (`manage.py run_smtpd`): mail to a tenant's support address or to a
mailbox a tenant configured goes through `receive_email` in that tenant.

- RCPT: each recipient is resolved by `tenant_for_address`; one nobody owns gets
  550 5.1.1, so the server is never an open relay. Several recipients are accepted, of one
  tenant or of several.
- DATA: the raw bytes, exactly as they arrived (no Received header is added, so a resent
  message has the same digest and is recognised as a duplicate), go to `receive_email` once
  per distinct tenant among the recipients. "250 Message accepted" is only said once every
  tenant has stored them; mail that is stored but cannot be processed (no From header, broken
  MIME) is flagged failed in the admins' list and is still accepted, since it is not lost.
  An unexpected error (the database is down) answers 451 4.3.0 so the sender tries again; a
  tenant that had already stored it then records the retry as a duplicate.
- The Django ORM is synchronous: lookups and deliveries run in a small thread pool (which also
  bounds the database connections the server holds), with stale connections closed around
  each call, as Django does around a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant

from .addresses import tenant_for_address
from .email import MAX_RAW_BYTES, receive_email
from .models import InboundEmail, Mailbox

logger = logging.getLogger(__name__)

DATA_SIZE_LIMIT = MAX_RAW_BYTES  # 50 MB, advertised in EHLO as SIZE; bigger mail gets 552
MAX_RECIPIENTS = 100
IDENT = "Helpdesk ESMTP"
SESSION_TIMEOUT = 300  # seconds of client silence before the session is dropped
DB_THREADS = 4

ACCEPTED = "250 Message accepted"
RECIPIENT_OK = "250 OK"
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox here"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
TRY_AGAIN = "451 4.3.0 Try again later"
NO_VALID_RECIPIENTS = "554 5.5.1 No valid recipients"

Route = tuple[Tenant, Mailbox | None]


class InboundMailHandler:
    """aiosmtpd handler: accepts mail for addresses a tenant owns and stores it in that tenant."""

    def __init__(self, *, threads: int = DB_THREADS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="smtpd-db")

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        try:
            route = await self._run(tenant_for_address, address)
        except Exception:
            logger.exception("smtpd: looking up recipient %r failed", address)
            return TRY_AGAIN
        if route is None:
            logger.info("smtpd: refused %r from %r (%s)", address, envelope.mail_from, session.peer)
            return NO_SUCH_MAILBOX
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        _routes(envelope).append(route)
        return RECIPIENT_OK

    async def handle_DATA(  # noqa: N802 (aiosmtpd's name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):  # only with decode_data=True, which we never set
            raw = raw.encode("utf-8", "surrogateescape")
        deliveries = distinct_tenants(_routes(envelope))
        if not deliveries:  # aiosmtpd asks for RCPT first; never say 250 for unstored mail
            return NO_VALID_RECIPIENTS
        try:
            for tenant, mailbox in deliveries:
                stored = await self._run(deliver, tenant, mailbox, raw or b"")
                logger.info(
                    "smtpd: %d bytes from %r for tenant %s stored as #%s (%s)",
                    len(raw or b""), envelope.mail_from, tenant.slug, stored.pk, stored.status,
                )  # fmt: skip
        except Exception:
            logger.exception(
                "smtpd: storing mail from %r for %r failed; asked the sender to retry",
                envelope.mail_from,
                envelope.rcpt_tos,
            )
            return TRY_AGAIN
        return ACCEPTED

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(_with_fresh_connections, func, *args)
        )

    def close(self) -> None:
        """Wait for deliveries in progress (their mail is being stored), then stop the pool."""
        self._executor.shutdown(wait=True)


def deliver(tenant: Tenant, mailbox: Mailbox | None, raw: bytes) -> InboundEmail:
    """Store and process one message in one tenant (synchronous; runs in the thread pool)."""
    with tenant_context(tenant):
        return receive_email(raw, via=InboundEmail.Via.SMTP, mailbox=mailbox)


def distinct_tenants(routes: Iterable[Route]) -> list[Route]:
    """One delivery per tenant, in recipient order; a mailbox named by any of the tenant's
    recipients is preferred over its plain support address."""
    chosen: dict[int, Route] = {}
    for tenant, mailbox in routes:
        if tenant.pk not in chosen or chosen[tenant.pk][1] is None:
            chosen[tenant.pk] = (tenant, mailbox)
    return list(chosen.values())


def _routes(envelope: Envelope) -> list[Route]:
    """The accepted recipients' tenants, kept on the envelope (a new one per transaction)."""
    routes = getattr(envelope, "helpdesk_routes", None)
    if routes is None:
        routes = envelope.helpdesk_routes = []
    return routes


def _with_fresh_connections[T](func: Callable[..., T], *args: Any) -> T:
    close_old_connections()
    try:
        return func(*args)
    finally:
        close_old_connections()


def make_server(handler: InboundMailHandler, *, hostname: str) -> SMTP:
    """One SMTP protocol instance (aiosmtpd makes one per connection)."""
    return SMTP(
        handler,
        hostname=hostname,
        ident=IDENT,
        data_size_limit=DATA_SIZE_LIMIT,
        enable_SMTPUTF8=True,
        decode_data=False,
        timeout=SESSION_TIMEOUT,
    )


async def serve(
    host: str,
    port: int,
    *,
    hostname: str | None = None,
    on_ready: Callable[[list[tuple[str, int]]], None] | None = None,
    grace: float = 10.0,
) -> None:
    """Listen on host:port until SIGINT or SIGTERM; then stop accepting connections, give open
    sessions `grace` seconds and let deliveries in progress finish storing."""
    loop = asyncio.get_running_loop()
    handler = InboundMailHandler()
    name = hostname or settings.HELPDESK_BASE_DOMAIN
    server = await loop.create_server(
        lambda: make_server(handler, hostname=name), host=host, port=port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if on_ready is not None:
            on_ready([sock.getsockname()[:2] for sock in server.sockets])
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), grace)
        await asyncio.to_thread(handler.close)

"""Notifications: in the app (the bell and /notifications/), by email, and the outbox that
sends email and webhook calls.

    notify(recipients=…, title=…, level=…, ticket=…, key=…) -> int     in-app rows, in the caller's
                                                                    transaction (seen on commit)
    email(to=[…], subject=…, body=…) -> list[Dispatch]               outbox rows + a task on commit
    webhook(url=…, payload=…) -> Dispatch                            the same, for a webhook call
    deliver(dispatch_id) -> str                                      the task's body: send one, once
    sweep() -> int                                                   beat: what a lost task left
    notification_list / unread_count / mark_read / mark_all_read / acknowledge

Levels are info, warning and critical; warning and critical ones ask to be acknowledged (the
SLA breach alerts use that). With a `key`, a notification is written once per recipient
however often the caller runs (a re-run job, a sweep that comes round again).

Webhook calls are SSRF-safe (DESIGN.md §9): https only; the host is resolved when connecting
and every address it resolves to must be public (no loopback, private, link-local, metadata,
multicast or reserved address); the connection goes to the checked address, so a DNS answer
cannot change in between; redirects are not followed; no proxy; a short timeout.
`settings.HELPDESK_WEBHOOK_ALLOW_PRIVATE` (default False; tests only) lifts the address check
and allows plain http, so a test can point a webhook at a local server.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import timedelta
from email.utils import formataddr
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import require_current_tenant
from tickets.models import Ticket

from .models import Dispatch, Notification, Trigger

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5  # seconds, connecting and reading
WEBHOOK_MAX_RESPONSE = 64 * 1024
RETRY_DELAYS = [30, 120, 600, 1800]  # seconds between attempts of a failed dispatch
LOST_AFTER = timedelta(minutes=2)  # pending, but no task took it (Redis down at commit)
STUCK_AFTER = timedelta(minutes=10)  # a worker died while sending
Level = Notification.Level


class WebhookRefused(Exception):
    """The URL or an address its host resolves to is not allowed; never retried."""


class DispatchError(Exception):
    """A transient failure (network, 5xx); the dispatch is tried again."""


# --- In the app -------------------------------------------------------------------------------


def notify(
    *,
    recipients: Iterable[User | int],
    title: str,
    body: str = "",
    url: str = "",
    level: str = Level.INFO,
    ticket: Ticket | None = None,
    key: str = "",
) -> int:
    """Notify each recipient in the app (one row each). With `key`, a recipient who has that
    key already gets nothing new. Returns how many rows were written."""
    ids = sorted({getattr(r, "pk", r) for r in recipients if r is not None})
    if not ids:
        return 0
    rows = [
        Notification(
            recipient_id=user_id,
            ticket=ticket,
            level=level,
            title=title[:200],
            body=body[:5000],
            url=url[:500],
            key=key[:150],
        )
        for user_id in ids
    ]
    if not key:
        return len(Notification.objects.bulk_create(rows))
    before = Notification.objects.filter(recipient_id__in=ids, key=key[:150]).count()
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return Notification.objects.filter(recipient_id__in=ids, key=key[:150]).count() - before


def notification_list(user: User, *, show: str = "all") -> QuerySet[Notification]:
    """The user's notifications, newest first; `show` is "all", "unread" or "ack" (still to
    acknowledge)."""
    rows = Notification.objects.filter(recipient=user).select_related("ticket")
    if show == "unread":
        rows = rows.filter(read_at__isnull=True)
    elif show == "ack":
        rows = rows.filter(acknowledged_at__isnull=True).exclude(level=Level.INFO)
    return rows.order_by("-id")


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(*, user: User, notification_id: int) -> bool:
    """Conditional: only the recipient's own, only once."""
    return bool(
        Notification.objects.filter(
            pk=notification_id, recipient=user, read_at__isnull=True
        ).update(read_at=timezone.now())
    )


def mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def acknowledge(*, user: User, notification_id: int) -> bool:
    """The recipient says they are on it (read as well). Only once; only their own."""
    now = timezone.now()
    done = Notification.objects.filter(
        pk=notification_id, recipient=user, acknowledged_at__isnull=True
    ).update(acknowledged_at=now)
    Notification.objects.filter(pk=notification_id, recipient=user, read_at__isnull=True).update(
        read_at=now
    )
    if done:  # one of an SLA alert's: the alert is acknowledged and its chain stops
        from sla.alerts import notification_acknowledged

        notification_acknowledged(user=user, notification_id=notification_id)
    return bool(done)


# --- The outbox: email and webhooks -------------------------------------------------------------


def email(
    *,
    to: Iterable[str],
    subject: str,
    body: str,
    ticket: Ticket | None = None,
    trigger: Trigger | None = None,
) -> list[Dispatch]:
    """Email each address (one outbox row each), sent by a task once this transaction commits."""
    addresses = sorted({a.strip() for a in to if a and a.strip()})
    rows = Dispatch.objects.bulk_create(
        [
            Dispatch(
                kind=Dispatch.Kind.EMAIL,
                ticket=ticket,
                trigger=trigger,
                target=address[:500],
                subject=" ".join(subject.split())[:300],
                body=body[:20000],
            )
            for address in addresses
        ]
    )
    for row in rows:
        _send_on_commit(row.pk)
    return rows


def webhook(
    *, url: str, payload: dict, ticket: Ticket | None = None, trigger: Trigger | None = None
) -> Dispatch:
    """POST `payload` as JSON to `url`, from a task once this transaction commits."""
    row = Dispatch.objects.create(
        kind=Dispatch.Kind.WEBHOOK,
        ticket=ticket,
        trigger=trigger,
        target=url[:500],
        payload=payload,
    )
    _send_on_commit(row.pk)
    return row


def _send_on_commit(dispatch_id: int) -> None:
    tenant_id = require_current_tenant().pk

    def send() -> None:
        from tickets.tasks import send_dispatch

        try:
            send_dispatch.delay(tenant_id, dispatch_id=dispatch_id)
        except Exception:  # noqa: BLE001 - Redis down: the row is pending, the sweep sends it
            logger.warning("dispatch %s not queued; the sweep will", dispatch_id, exc_info=True)

    transaction.on_commit(send)


def deliver(dispatch_id: int, *, final: bool = True) -> str:
    """Send one dispatch, once: claimed by a conditional UPDATE (pending/failed -> sending).
    Returns "sent", "refused", "failed" or "skipped"; raises DispatchError for a transient
    failure when `final` is False (the task retries)."""
    claimed = Dispatch.objects.filter(
        pk=dispatch_id, status__in=[Dispatch.Status.PENDING, Dispatch.Status.FAILED]
    ).update(status=Dispatch.Status.SENDING, attempts=F("attempts") + 1, changed_at=timezone.now())
    if not claimed:
        return "skipped"
    dispatch = Dispatch.objects.select_related("trigger").get(pk=dispatch_id)
    try:
        if dispatch.kind == Dispatch.Kind.EMAIL:
            _send_email(dispatch)
        else:
            _post_webhook(dispatch)
    except WebhookRefused as error:
        _finish(dispatch, Dispatch.Status.REFUSED, str(error))
        return "refused"
    except DispatchError as error:
        _finish(dispatch, Dispatch.Status.FAILED, str(error), record=final)
        if not final:
            raise
        return "failed"
    _finish(dispatch, Dispatch.Status.SENT, "")
    return "sent"


def _finish(dispatch: Dispatch, status: str, error: str, *, record: bool = True) -> None:
    """Write the outcome; a refusal or a last failure goes on the ticket's timeline."""
    from tickets import services

    with transaction.atomic():
        now = timezone.now()
        Dispatch.objects.filter(pk=dispatch.pk).update(
            status=status,
            last_error=error[:500],
            changed_at=now,
            sent_at=now if status == Dispatch.Status.SENT else None,
        )
        if status != Dispatch.Status.SENT and record and dispatch.ticket_id:
            ticket = Ticket.objects.filter(pk=dispatch.ticket_id).first()
            if ticket is not None:
                target = dispatch.target
                if dispatch.kind == Dispatch.Kind.WEBHOOK:
                    target = urlsplit(target).hostname or ""
                name = dispatch.trigger.name if dispatch.trigger else ""
                services.event(
                    ticket=ticket,
                    kind="dispatch_failed",
                    actor=None,
                    reason=f"trigger: {name}" if name else "automation",
                    via=dispatch.kind,
                    target=target,
                    status=status,
                    error=error[:200],
                )


def _send_email(dispatch: Dispatch) -> None:
    tenant = require_current_tenant()
    message = EmailMessage(
        subject=dispatch.subject,
        body=dispatch.body,
        from_email=formataddr((tenant.name, _sender_address())),
        to=[dispatch.target],
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - SMTP errors of every kind are transient here
        raise DispatchError(f"{type(error).__name__}: {error}") from error


def _sender_address() -> str:
    from email.utils import parseaddr

    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "noreply@localhost"


# --- Webhooks: SSRF-safe -------------------------------------------------------------------------


def _allow_private() -> bool:
    return bool(getattr(settings, "HELPDESK_WEBHOOK_ALLOW_PRIVATE", False))


def webhook_url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook target, from the URL alone (None: fine so far; the host's
    addresses are checked again when connecting)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("That is not a valid URL.")
    schemes = {"https", "http"} if _allow_private() else {"https"}
    if parts.scheme not in schemes:
        return _("The address must start with https://.")
    if not parts.hostname:
        return _("The address needs a host name.")
    if parts.username or parts.password:
        return _("Leave user names and passwords out of the address.")
    if port is not None and not 0 < port < 65536:
        return _("That is not a valid URL.")
    if _allow_private():
        return None
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return _("The address must be on the public internet.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not _public(address):
        return _("The address must be on the public internet.")
    return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


def checked_address(host: str, port: int) -> str:
    """The first address `host` resolves to, if every address it resolves to is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise DispatchError(f"cannot resolve {host}: {error}") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise DispatchError(f"cannot resolve {host}")
    if not _allow_private():
        for raw in addresses:
            if not _public(ipaddress.ip_address(raw.split("%", 1)[0])):
                raise WebhookRefused(f"{host} resolves to {raw}, which is not a public address")
    return addresses[0]


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the address checked a moment ago (no second DNS answer), with TLS and the
    certificate checked for the host name."""

    def connect(self) -> None:
        address = checked_address(self.host, self.port)
        sock = socket.create_connection((address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        address = checked_address(self.host, self.port)
        self.sock = socket.create_connection((address, self.port), self.timeout)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        if not _allow_private():
            raise WebhookRefused("plain http is not allowed")
        return self.do_open(_CheckedHTTPConnection, req)


def _opener() -> urllib.request.OpenerDirector:
    from channels_in.messaging.base import _NoRedirect  # one "never follow a redirect" handler

    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),  # a proxy would make the address check meaningless
        _NoRedirect,
        _CheckedHTTPSHandler,
        _CheckedHTTPHandler,
    )


def post_json(url: str, payload: Any, *, headers: dict[str, str] | None = None) -> int:
    """POST JSON to a webhook URL through the guard. Returns the HTTP status (2xx only);
    raises WebhookRefused (never retried) or DispatchError (retried)."""
    problem = webhook_url_problem(url)
    if problem:
        raise WebhookRefused(problem)
    data = json.dumps(payload, ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - checked above
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", "helpdesk-webhook/1")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    host = urlsplit(url).hostname
    try:
        with _opener().open(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read(WEBHOOK_MAX_RESPONSE)
            return response.status
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise WebhookRefused(
                f"{host} answered HTTP {error.code}; redirects are not followed"
            ) from None
        if error.code in {408, 429} or error.code >= 500:
            raise DispatchError(f"{host} answered HTTP {error.code}") from None
        raise WebhookRefused(f"{host} answered HTTP {error.code}") from None
    except WebhookRefused:
        raise
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, WebhookRefused):
            raise reason from None
        raise DispatchError(f"{host} unreachable: {reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise DispatchError(f"{host} unreachable: {error}") from None


def _post_webhook(dispatch: Dispatch) -> None:
    post_json(dispatch.target, dispatch.payload, headers={"X-Helpdesk-Delivery": str(dispatch.pk)})


def sweep(*, limit: int = 500) -> int:
    """Beat: send again what is pending two minutes after it was written (its task was lost)
    or has been "sending" for ten (its worker died). Across tenants through the all_tenants()
    door; each is sent inside its own tenant."""
    from tickets.tasks import send_dispatch

    now = timezone.now()
    outbox = Dispatch.objects.all_tenants()
    stuck = list(
        outbox.filter(status=Dispatch.Status.SENDING, changed_at__lt=now - STUCK_AFTER).values_list(
            "tenant_id", "id"
        )[:limit]
    )
    outbox.filter(id__in=[pk for _tenant, pk in stuck]).update(
        status=Dispatch.Status.FAILED, changed_at=now
    )
    lost = list(
        outbox.filter(status=Dispatch.Status.PENDING, changed_at__lt=now - LOST_AFTER).values_list(
            "tenant_id", "id"
        )[:limit]
    )
    for tenant_id, dispatch_id in stuck + lost:
        send_dispatch.delay(tenant_id, dispatch_id=dispatch_id)
    return len(stuck) + len(lost)

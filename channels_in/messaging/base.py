"""The one interface every messaging adapter implements, and what they share.

    adapter = adapter_for(channel)
    adapter.challenge(request) -> HttpResponse | None   URL-verification handshakes
    adapter.verify(request)    -> None                  raises SignatureError
    adapter.parse(request)     -> list[InboundMessage]  after verify; may be empty (events)
    adapter.send(channel, identity, text) -> str        the provider's message id
    adapter.acknowledge()      -> HttpResponse          the body the provider expects

Signatures are compared in constant time. Where the provider signs a timestamp, a request
older (or newer) than five minutes is refused as a replay; every message is also keyed by the
provider's message id, so a redelivery is one message (channels_in.ingest).

Outbound calls go only to the provider's own API host over HTTPS, or to a host listed in
settings.HELPDESK_MESSAGING_API_HOSTS (tests point `api_base` at a local server); redirects
are not followed, and media URLs from payloads are never fetched (DESIGN.md §9).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from ..inbound import InboundMessage

if TYPE_CHECKING:
    from .models import MessagingChannel

logger = logging.getLogger(__name__)

MAX_AGE = 300  # seconds: signed timestamps older or newer than this are refused
MAX_BODY = 1024 * 1024  # webhook bodies larger than this are refused (413)
TIMEOUT = 10  # seconds for each call to a provider's API


class MessagingError(Exception):
    """A request we refuse; the message is safe to show to the caller."""

    status = 400


class PayloadError(MessagingError):
    """Not a payload of this provider (malformed JSON/XML, a missing field)."""


class SignatureError(MessagingError):
    """Wrong or replayed signature, or a channel without the secret to check it."""

    status = 403


class MissingSignatureError(SignatureError):
    """The request carries no signature at all: a malformed request rather than a forgery."""

    status = 400


class SendError(MessagingError):
    """The provider did not take our message (the reason is recorded on the reply)."""

    status = 502


@dataclass
class MessagingInbound(InboundMessage):
    """An InboundMessage plus where a reply goes when that is not the sender's id (a group)."""

    reply_to: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 3xx is answered as an error
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def same(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time comparison of a signature or token."""
    given = given.encode() if isinstance(given, str) else given
    expected = expected.encode() if isinstance(expected, str) else expected
    return bool(expected) and hmac.compare_digest(given, expected)


def check_fresh(timestamp: str | int | float, *, unit: float = 1.0) -> None:
    """Refuse a signed timestamp more than MAX_AGE from now (`unit` 1000 for milliseconds)."""
    try:
        seconds = float(timestamp) / unit
    except (TypeError, ValueError):
        raise MissingSignatureError("The request has no valid timestamp.") from None
    age = time.time() - seconds
    if abs(age) > MAX_AGE:
        raise SignatureError(
            f"Refused as a replay: the signed timestamp is {int(age)} s old "
            f"(at most {MAX_AGE} s is accepted)."
        )


def subject_for(text: str, fallback: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line[:120] or fallback


def not_fetched(what: str, reference: str = "") -> str:
    """The note for media we were sent but did not download."""
    ref = f" ({reference})" if reference else ""
    return f"The customer sent {what}{ref}; it was not downloaded."


def json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("The request body is not JSON.") from None


def chunks(text: str, size: int) -> list[str]:
    """Split a long reply at line breaks (or hard, for a very long line) into parts a provider
    accepts in one message."""
    parts, current = [], ""
    for line in text.splitlines(keepends=True):
        while len(line) > size:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:size])
            line = line[size:]
        if len(current) + len(line) > size:
            parts.append(current)
            current = ""
        current += line
    if current.strip() or not parts:
        parts.append(current)
    return [part.rstrip("\n") for part in parts]


class Adapter:
    """One provider. Subclasses set the class attributes and implement the four methods."""

    provider: ClassVar[str]  # a tickets.Ticket.Channel / ContactIdentity.Kind value
    label: ClassVar[str]
    API_BASE: ClassVar[str]  # the provider's real API, the default of MessagingChannel.api_base
    API_HOSTS: ClassVar[tuple[str, ...]] = ()  # other official hosts (e.g. Lark's)
    MAX_TEXT: ClassVar[int] = 2000  # longest text of one outbound message
    # How the provider's JSON answers say "failed" (see `_checked`), for those that do.
    ERROR_CODE_FIELD: ClassVar[str] = "errcode"
    TOKEN_ERRORS: ClassVar[frozenset[int]] = frozenset()  # codes meaning "fetch a new token"

    def __init__(self, channel: MessagingChannel):
        self.channel = channel

    # --- the interface ----------------------------------------------------------------------

    def challenge(self, request: HttpRequest) -> HttpResponse | None:
        """Answer a URL-verification handshake, or None when the request is not one."""
        return None

    def verify(self, request: HttpRequest) -> None:
        raise NotImplementedError

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        raise NotImplementedError

    def send(self, channel: MessagingChannel, identity: str, text: str) -> str:
        raise NotImplementedError

    def acknowledge(self) -> HttpResponse:
        return HttpResponse("", content_type="text/plain")

    # --- shared helpers ---------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return (self.channel.api_base or self.API_BASE).rstrip("/")

    def inbound(self, **fields: Any) -> MessagingInbound:
        fields.setdefault("subject", subject_for(fields.get("text", ""), f"{self.label} message"))
        return MessagingInbound(channel=self.provider, identity_kind=self.provider, **fields)

    def require(self, *names: str, error: type[MessagingError] = SignatureError) -> None:
        """The channel must have these credentials before anything is accepted or sent."""
        missing = [name for name in names if not getattr(self.channel, name)]
        if missing:
            raise error(f"This {self.label} channel is not set up: {', '.join(missing)} missing.")

    def check_url(self, url: str) -> None:
        parts = urlsplit(url)
        official = {urlsplit(self.API_BASE).hostname, *self.API_HOSTS}
        allowed = set(getattr(settings, "HELPDESK_MESSAGING_API_HOSTS", ()))
        if parts.hostname in official and parts.scheme == "https":
            return
        if parts.hostname in allowed and parts.scheme in {"http", "https"}:
            return
        raise SendError(
            f"The {self.label} API address {parts.scheme}://{parts.hostname} is not the "
            "provider's; add its host to HELPDESK_MESSAGING_API_HOSTS to allow it."
        )

    def call(self, method: str, url: str, *, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
        """One call to the provider's API: (HTTP status, decoded JSON or {}). Raises SendError
        when the host is not allowed or cannot be reached; never puts the URL (it may carry a
        token) in the error."""
        self.check_url(url)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - checked
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", "helpdesk-messaging/1")
        if data is not None:
            request.add_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        host = urlsplit(url).hostname
        try:
            with _opener.open(request, timeout=TIMEOUT) as response:
                status, raw = response.status, response.read(MAX_BODY)
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read(MAX_BODY)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SendError(f"{self.label} API at {host} unreachable: {reason}") from None
        try:
            payload = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            payload = {"raw": raw[:200].decode("utf-8", "replace")}
        return status, payload

    def call_ok(self, method: str, url: str, *, body: Any = None,
                headers: dict[str, str] | None = None) -> Any:  # fmt: skip
        status, payload = self.call(method, url, body=body, headers=headers)
        if not 200 <= status < 300:
            raise SendError(f"{self.label} API answered HTTP {status}: {describe(payload)}")
        return payload

    def access_token(self, fetch: Callable[[], tuple[str, int]]) -> str:
        """An app access token, cached (shared by all workers) until shortly before it
        expires. A cache outage only costs a token request."""
        key = self._token_key()
        try:
            token = cache.get(key)
        except Exception:  # noqa: BLE001 - the cache is an optimisation here
            token = None
        if token:
            return token
        token, expires_in = fetch()
        if not token:
            raise SendError(f"{self.label} gave no access token.")
        try:
            cache.set(key, token, max(60, int(expires_in) - 300))
        except Exception:  # noqa: BLE001
            logger.warning("could not cache the %s access token", self.label)
        return token

    def _checked(self, payload: dict) -> dict:
        """The API's JSON answer, or SendError when its error code is set (an expired access
        token is forgotten first, so the retry fetches a new one)."""
        code = payload.get(self.ERROR_CODE_FIELD, 0) if isinstance(payload, dict) else -1
        if code:
            if code in self.TOKEN_ERRORS:
                self.forget_token()
            raise SendError(f"{self.label} refused: {describe(payload)}")
        return payload

    def forget_token(self) -> None:
        try:
            cache.delete(self._token_key())
        except Exception:  # noqa: BLE001
            logger.warning("could not drop the cached %s access token", self.label)

    def _token_key(self) -> str:
        channel = self.channel
        secret = f"{self.api_base}\n{channel.app_id}\n{channel.app_secret}".encode()
        digest = hashlib.sha256(secret).hexdigest()[:24]
        return f"messaging-token:{channel.tenant_id}:{channel.pk}:{digest}"


def describe(payload: Any) -> str:
    """A provider's error, briefly, from the usual fields."""
    if not isinstance(payload, dict):
        return str(payload)[:200]
    error = payload.get("error")
    if isinstance(error, dict):  # Meta's Graph API
        return f"{error.get('code', '')} {error.get('message', '')}".strip()[:300]
    for code, text in (("errcode", "errmsg"), ("code", "msg"), ("error_code", "description"),
                       ("code", "message")):  # fmt: skip
        if text in payload:
            return f"{payload.get(code, '')} {payload[text]}".strip()[:300]
    return json.dumps(payload, ensure_ascii=False)[:300]

"""What WhatsApp Cloud API and Messenger webhooks share (both are Meta's Graph webhooks).

- GET ?hub.mode=subscribe&hub.verify_token&hub.challenge: the subscription check; the token
  must be the channel's verify token; we answer the challenge as plain text.
- POST: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(key = App Secret, raw body).
Meta signs no delivery time (the timestamps in the body are when the user wrote, and Meta
retries a failed delivery for hours), so replays are stopped by the message id (ingest's
idempotency key), not by age.
"""

from __future__ import annotations

import hashlib
import hmac

from django.http import HttpRequest, HttpResponse

from .base import Adapter, MissingSignatureError, SignatureError, same


def hub_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class MetaAdapter(Adapter):
    API_BASE = "https://graph.facebook.com/v21.0"

    def challenge(self, request: HttpRequest) -> HttpResponse | None:
        if request.method != "GET":
            return None
        query = request.GET
        mode, token = query.get("hub.mode", ""), query.get("hub.verify_token", "")
        challenge = query.get("hub.challenge", "")
        if not mode or not token or not challenge:
            raise MissingSignatureError(
                "Expected hub.mode, hub.verify_token and hub.challenge (Meta's webhook check)."
            )
        self.require("verify_token")
        if mode != "subscribe" or not same(token, self.channel.verify_token):
            raise SignatureError("The hub.verify_token does not match the channel's.")
        return HttpResponse(challenge, content_type="text/plain")

    def verify(self, request: HttpRequest) -> None:
        self.require("app_secret")
        given = request.headers.get("X-Hub-Signature-256", "")
        if not given:
            raise MissingSignatureError("Expected the X-Hub-Signature-256 header.")
        if not same(given, hub_signature(self.channel.app_secret, request.body)):
            raise SignatureError("X-Hub-Signature-256 does not match the channel's App Secret.")

    def acknowledge(self) -> HttpResponse:
        return HttpResponse("EVENT_RECEIVED", content_type="text/plain")

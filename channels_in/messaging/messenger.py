"""Facebook Messenger (Page) webhooks at /channels/messenger/<token>/, replies through the Send
API.

Receiving (see meta.py for the handshake and X-Hub-Signature-256): object "page", entry[] (id
= our Page id; other Pages of the same app are skipped) with messaging[] events: sender.id (the
user's page-scoped id), recipient.id, timestamp and `message` {mid, text, attachments[]}.
Echoes of our own messages (message.is_echo), deliveries, reads and reactions are skipped; a
postback (a button the user pressed) is read as its title.
Sending: POST /{page-id}/messages (or /me/messages), Authorization: Bearer <Page token>,
{"recipient": {"id"}, "messaging_type": "RESPONSE", "message": {"text"}}; answers message_id.
Messenger allows standard replies within 24 hours of the user's last message.
"""

from __future__ import annotations

from django.http import HttpRequest

from ..inbound import InboundMessage
from .base import PayloadError, SendError, chunks, json_body, not_fetched
from .meta import MetaAdapter


class Messenger(MetaAdapter):
    provider = "messenger"
    label = "Messenger"
    MAX_TEXT = 2000

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        data = json_body(request)
        if not isinstance(data, dict) or data.get("object") != "page":
            raise PayloadError("Expected a Messenger (Page) webhook.")
        found = []
        for entry in data.get("entry") or []:
            page = str(entry.get("id", ""))
            if self.channel.account_id and page and page != self.channel.account_id:
                continue
            for event in entry.get("messaging") or []:
                inbound = self._event(event)
                if inbound is not None:
                    found.append(inbound)
        return found

    def _event(self, event: dict) -> InboundMessage | None:
        sender = str((event.get("sender") or {}).get("id", ""))
        message, postback = event.get("message"), event.get("postback")
        if isinstance(message, dict):
            if message.get("is_echo"):
                return None
            mid, text = str(message.get("mid", "")), str(message.get("text", ""))
            notes = [
                not_fetched(f"an attachment ({item.get('type', 'file')})")
                for item in message.get("attachments") or []
                if item.get("type") != "fallback"
            ]
        elif isinstance(postback, dict):
            mid, text, notes = str(postback.get("mid", "")), str(postback.get("title", "")), []
        else:
            return None  # delivery, read, reaction, optin …
        if not sender or not mid:
            raise PayloadError("A Messenger message needs sender.id and message.mid.")
        return self.inbound(key=mid, identity=sender, text=text, notes=notes, external_id=mid)

    def send(self, channel, identity: str, text: str) -> str:
        self.require("access_token", error=SendError)
        url = f"{self.api_base}/{self.channel.account_id or 'me'}/messages"
        headers = {"Authorization": f"Bearer {self.channel.access_token}"}
        ids = []
        for part in chunks(text, self.MAX_TEXT):
            body = {"recipient": {"id": identity}, "messaging_type": "RESPONSE",
                    "message": {"text": part}}  # fmt: skip
            payload = self.call_ok("POST", url, body=body, headers=headers)
            ids.append(str(payload.get("message_id", "")))
        return " ".join(filter(None, ids))

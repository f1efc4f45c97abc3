"""WhatsApp Cloud API webhooks at /channels/whatsapp/<token>/, replies through the Graph API.

Receiving (see meta.py for the handshake and X-Hub-Signature-256): object
"whatsapp_business_account", entry[].changes[] with field "messages"; value.metadata names our
phone_number_id (messages for another number of the same app are skipped), value.contacts
gives the profile name by wa_id, value.messages[] the messages (id "wamid…", from, timestamp,
type and its object). Status updates carry no messages and are skipped.
Sending: POST /{phone-number-id}/messages, Authorization: Bearer <token>,
{"messaging_product": "whatsapp", "recipient_type": "individual", "to", "type": "text",
"text": {"preview_url": false, "body"}}; answers messages[0].id. Free-form text reaches a user
within 24 hours of their last message (a template is needed after that).
"""

from __future__ import annotations

from django.http import HttpRequest

from ..inbound import InboundMessage
from .base import PayloadError, SendError, chunks, json_body, not_fetched
from .meta import MetaAdapter

MEDIA = {"image": "an image", "video": "a video", "audio": "a voice message",
         "document": "a document", "sticker": "a sticker"}  # fmt: skip


class WhatsApp(MetaAdapter):
    provider = "whatsapp"
    label = "WhatsApp"
    MAX_TEXT = 4096

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        data = json_body(request)
        if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
            raise PayloadError("Expected a WhatsApp Business Account webhook.")
        found = []
        for entry in data.get("entry") or []:
            for change in entry.get("changes") or []:
                if change.get("field") != "messages":
                    continue
                value = change.get("value") or {}
                number = (value.get("metadata") or {}).get("phone_number_id", "")
                if self.channel.account_id and number and number != self.channel.account_id:
                    continue
                names = {c.get("wa_id"): (c.get("profile") or {}).get("name", "")
                         for c in value.get("contacts") or []}  # fmt: skip
                for message in value.get("messages") or []:
                    inbound = self._message(message, names)
                    if inbound is not None:
                        found.append(inbound)
        return found

    def _message(self, message: dict, names: dict) -> InboundMessage | None:
        sender, message_id = str(message.get("from", "")), str(message.get("id", ""))
        kind = message.get("type", "")
        if not sender or not message_id:
            raise PayloadError("A WhatsApp message needs from and id.")
        if kind == "reaction":
            return None
        body = message.get(kind) if isinstance(message.get(kind), dict) else {}
        text, notes = "", []
        if kind == "text":
            text = str(body.get("body", ""))
        elif kind in MEDIA:
            text = str(body.get("caption", ""))
            name = f" {body['filename']}" if body.get("filename") else ""
            notes.append(not_fetched(MEDIA[kind] + name, f"media id {body.get('id', '')}"))
        elif kind == "location":
            place = ", ".join(filter(None, (body.get("name"), body.get("address"))))
            text = f"Location: {place} ({body.get('latitude')}, {body.get('longitude')})".strip()
        elif kind == "button":
            text = str(body.get("text", ""))
        elif kind == "interactive":
            reply = body.get("button_reply") or body.get("list_reply") or {}
            text = str(reply.get("title", ""))
        elif kind == "contacts":
            people = message.get("contacts") or []
            text = "Shared contacts: " + ", ".join(
                (p.get("name") or {}).get("formatted_name", "") for p in people
            )
        else:
            notes.append(f"The customer sent a {kind or 'message'} the help desk cannot show.")
        return self.inbound(
            key=message_id, identity=sender, sender_name=names.get(sender, ""), text=text,
            notes=notes, external_id=message_id,
        )  # fmt: skip

    def send(self, channel, identity: str, text: str) -> str:
        self.require("access_token", "account_id", error=SendError)
        url = f"{self.api_base}/{self.channel.account_id}/messages"
        headers = {"Authorization": f"Bearer {self.channel.access_token}"}
        ids = []
        for part in chunks(text, self.MAX_TEXT):
            body = {"messaging_product": "whatsapp", "recipient_type": "individual",
                    "to": identity, "type": "text",
                    "text": {"preview_url": False, "body": part}}  # fmt: skip
            payload = self.call_ok("POST", url, body=body, headers=headers)
            messages = payload.get("messages") or [{}]
            ids.append(str(messages[0].get("id", "")))
        return " ".join(filter(None, ids))

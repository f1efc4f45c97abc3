"""Telegram bots: Bot API webhook updates at /channels/telegram/<token>/, replies by
sendMessage.

Receiving: setWebhook is called with `secret_token`; Telegram sends it in the
X-Telegram-Bot-Api-Secret-Token header of every update, which must equal the channel's token.
The Update JSON has update_id and `message` {message_id, from {id, first_name, last_name,
username, is_bot}, chat {id, type}, date, text | caption, photo, document, voice …}. A
message_id is unique within its chat only, so the key is "<chat id>:<message id>". Telegram
signs no delivery time and retries failed deliveries later, so replays are stopped by that key,
not by age. Edited messages, channel posts and button callbacks are skipped.
Sending: POST /bot<token>/sendMessage {"chat_id", "text"}; answers result.message_id.
"""

from __future__ import annotations

import re

from django.http import HttpRequest

from ..inbound import InboundMessage
from .base import (
    Adapter,
    MissingSignatureError,
    PayloadError,
    SendError,
    SignatureError,
    chunks,
    describe,
    json_body,
    not_fetched,
    same,
)

MEDIA = {"photo": "a photo", "document": "a document", "voice": "a voice message",
         "audio": "an audio file", "video": "a video", "video_note": "a video message",
         "sticker": "a sticker", "animation": "an animation"}  # fmt: skip


class Telegram(Adapter):
    provider = "telegram"
    label = "Telegram"
    API_BASE = "https://api.telegram.org"
    MAX_TEXT = 4096

    def verify(self, request: HttpRequest) -> None:
        self.require("token")
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not given:
            raise MissingSignatureError("Expected the webhook token header of Telegram.")
        if not same(given, self.channel.token):
            raise SignatureError("The webhook token does not match the channel's.")

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        update = json_body(request)
        if not isinstance(update, dict) or "update_id" not in update:
            raise PayloadError("Expected a Telegram Update.")
        message = update.get("message")
        if not isinstance(message, dict):
            return []
        sender, chat = message.get("from") or {}, message.get("chat") or {}
        if sender.get("is_bot") or not sender.get("id") or not chat.get("id"):
            return []
        text = str(message.get("text") or message.get("caption") or "")
        notes = []
        for kind, what in MEDIA.items():
            item = message.get(kind)
            if item:
                item = item[-1] if isinstance(item, list) else item  # photos: largest size last
                name = f" {item['file_name']}" if item.get("file_name") else ""
                notes.append(not_fetched(what + name, f"file id {item.get('file_id', '')}"))
        if message.get("location"):
            spot = message["location"]
            text = text or f"Location: ({spot.get('latitude')}, {spot.get('longitude')})"
        if message.get("contact"):
            person = message["contact"]
            text = (
                text or f"Contact: {person.get('first_name', '')} {person.get('phone_number', '')}"
            )
        name = " ".join(filter(None, (sender.get("first_name"), sender.get("last_name"))))
        key = f"{chat['id']}:{message.get('message_id', '')}"
        group = str(chat["id"]) != str(sender["id"])
        return [
            self.inbound(
                key=key,
                identity=str(sender["id"]),
                sender_name=name or sender.get("username", ""),
                text=text,
                notes=notes,
                external_id=key,
                reply_to=str(chat["id"]) if group else "",
            )  # fmt: skip
        ]

    def send(self, channel, identity: str, text: str) -> str:
        self.require("bot_token", error=SendError)
        url = f"{self.api_base}/bot{self.channel.bot_token}/sendMessage"
        chat_id: int | str = int(identity) if re.fullmatch(r"-?\d+", identity) else identity
        ids = []
        for part in chunks(text, self.MAX_TEXT):
            status, payload = self.call("POST", url, body={"chat_id": chat_id, "text": part})
            if not 200 <= status < 300 or not payload.get("ok"):
                raise SendError(f"Telegram answered HTTP {status}: {describe(payload)}")
            ids.append(str((payload.get("result") or {}).get("message_id", "")))
        return " ".join(filter(None, ids))

"""Feishu / Lark (飞书) event subscription v2 at /channels/feishu/<token>/, replies through the
IM API.

Receiving:
- url_verification: {"type": "url_verification", "challenge", "token"} (inside "encrypt" when
  an Encrypt Key is set); the token must be the Verification Token; we answer {"challenge"}.
- With an Encrypt Key, every event carries X-Lark-Request-Timestamp, X-Lark-Request-Nonce and
  X-Lark-Signature = sha256_hex(timestamp + nonce + encrypt_key + raw body); the timestamp must
  be within five minutes; the body is {"encrypt": base64(IV[16] + AES-256-CBC(key =
  sha256(encrypt_key), PKCS#7))}.
- The v2 event (schema "2.0") has header.token (the Verification Token, always checked when
  set), header.app_id and event_type; we read im.message.receive_v1: the sender's open_id,
  message_id, chat_type/chat_id and the JSON `content` by message_type.
Sending: a tenant_access_token from /open-apis/auth/v3/tenant_access_token/internal, then
POST /open-apis/im/v1/messages?receive_id_type=open_id (or chat_id for a group).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.http import HttpRequest, HttpResponse, JsonResponse

from ..inbound import InboundMessage
from .base import (
    Adapter,
    MissingSignatureError,
    PayloadError,
    SendError,
    SignatureError,
    check_fresh,
    chunks,
    describe,
    json_body,
    not_fetched,
    same,
)

CHAT = "chat_id:"  # reply_to prefix of a group chat
TOKEN_ERRORS = {99991661, 99991663, 99991664, 99991668}


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode()).digest()


def feishu_decrypt(encrypt_key: str, encrypted: str) -> bytes:
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError("The encrypted event is not base64.") from None
    if len(data) < 32 or len(data) % 16:
        raise PayloadError("The encrypted event has a wrong length.")
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(data[:16])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = decryptor.update(data[16:]) + decryptor.finalize()
        return unpadder.update(plain) + unpadder.finalize()
    except ValueError:
        raise SignatureError("The event does not decrypt with the channel's Encrypt Key.") from None


def feishu_encrypt(encrypt_key: str, plain: bytes) -> str:
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    data = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    return base64.b64encode(iv + data).decode()


def feishu_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


class Feishu(Adapter):
    provider = "feishu"
    label = "Feishu"
    TOKEN_ERRORS = frozenset(TOKEN_ERRORS)
    ERROR_CODE_FIELD = "code"
    API_BASE = "https://open.feishu.cn"
    API_HOSTS = ("open.larksuite.com",)
    MAX_TEXT = 4000

    def _event(self, request: HttpRequest) -> dict:
        data = json_body(request)
        if isinstance(data, dict) and "encrypt" in data:
            if not self.channel.encoding_aes_key:
                raise SignatureError("An encrypted event, but the channel has no Encrypt Key.")
            try:
                data = json.loads(feishu_decrypt(self.channel.encoding_aes_key, data["encrypt"]))
            except (ValueError, UnicodeDecodeError):
                raise PayloadError("The decrypted event is not JSON.") from None
        if not isinstance(data, dict):
            raise PayloadError("Expected a Feishu event (a JSON object).")
        return data

    def _check_token(self, given: object) -> None:
        if not self.channel.token and not self.channel.encoding_aes_key:
            raise SignatureError(
                "This Feishu channel has neither Verification Token nor Encrypt Key."
            )
        if self.channel.token and not same(str(given or ""), self.channel.token):
            raise SignatureError("The verification token does not match the channel's.")

    def challenge(self, request: HttpRequest) -> HttpResponse | None:
        if request.method != "POST":
            return None
        data = self._event(request)
        if data.get("type") != "url_verification":
            return None
        self._check_token(data.get("token"))
        return JsonResponse({"challenge": str(data.get("challenge", ""))})

    def verify(self, request: HttpRequest) -> None:
        key = self.channel.encoding_aes_key
        if key:
            headers = request.headers
            timestamp = headers.get("X-Lark-Request-Timestamp", "")
            nonce = headers.get("X-Lark-Request-Nonce", "")
            signature = headers.get("X-Lark-Signature", "")
            if not timestamp or not nonce or not signature:
                raise MissingSignatureError(
                    "Expected X-Lark-Request-Timestamp, X-Lark-Request-Nonce and X-Lark-Signature."
                )
            if not same(signature, feishu_signature(timestamp, nonce, key, request.body)):
                raise SignatureError(
                    "The X-Lark-Signature does not match the channel's Encrypt Key."
                )
            check_fresh(timestamp)
        data = self._event(request)
        if data.get("schema") != "2.0":
            raise PayloadError("Only event subscription v2 (schema 2.0) is read.")
        header = data.get("header") or {}
        self._check_token(header.get("token"))
        app_id = self.channel.app_id
        if app_id and header.get("app_id") and header["app_id"] != app_id:
            raise SignatureError("The event is for another Feishu app.")

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        data = self._event(request)
        if (data.get("header") or {}).get("event_type") != "im.message.receive_v1":
            return []
        event = data.get("event") or {}
        sender, message = event.get("sender") or {}, event.get("message") or {}
        if sender.get("sender_type") != "user":
            return []
        open_id = (sender.get("sender_id") or {}).get("open_id", "")
        message_id = message.get("message_id", "")
        if not open_id or not message_id:
            raise PayloadError("A Feishu message needs sender.sender_id.open_id and message_id.")
        text, notes = self._content(message)
        group = message.get("chat_type") != "p2p" and message.get("chat_id")
        return [
            self.inbound(
                key=message_id,
                identity=open_id,
                text=text,
                notes=notes,
                external_id=message_id,
                reply_to=f"{CHAT}{message['chat_id']}" if group else "",
            )
        ]

    @staticmethod
    def _content(message: dict) -> tuple[str, list[str]]:
        kind = message.get("message_type", "")
        try:
            content = json.loads(message.get("content") or "{}")
        except ValueError:
            content = {}
        if not isinstance(content, dict):
            content = {}
        if kind == "text":
            text = str(content.get("text", ""))
            for mention in message.get("mentions") or []:
                text = text.replace(mention.get("key", "\0"), f"@{mention.get('name', '')}")
            return text.strip(), []
        if kind == "post":
            lines, notes = [content.get("title", "")], []
            for paragraph in content.get("content") or []:
                words = []
                for element in paragraph or []:
                    tag = element.get("tag")
                    if tag in {"text", "a", "md"}:
                        words.append(str(element.get("text", "")))
                    elif tag == "at":
                        words.append(f"@{element.get('user_name', '')}")
                    elif tag in {"img", "media"}:
                        notes.append(not_fetched("an image", element.get("image_key", "")))
                lines.append("".join(words))
            return "\n".join(line for line in lines if line).strip(), notes
        if kind == "image":
            return "", [not_fetched("an image", f"image key {content.get('image_key', '')}")]
        if kind == "file":
            return "", [not_fetched(f"a file {content.get('file_name', '')}".strip())]
        if kind in {"audio", "media"}:
            return "", [not_fetched("a voice message" if kind == "audio" else "a video")]
        if kind == "sticker":
            return "", [not_fetched("a sticker")]
        return "", [f"The customer sent a {kind or 'message'} the help desk cannot show."]

    def acknowledge(self) -> HttpResponse:
        return JsonResponse({"code": 0})

    # --- sending ----------------------------------------------------------------------------

    def _token(self) -> str:
        def fetch() -> tuple[str, int]:
            url = f"{self.api_base}/open-apis/auth/v3/tenant_access_token/internal"
            payload = self._checked(self.call_ok("POST", url, body={
                "app_id": self.channel.app_id, "app_secret": self.channel.app_secret,
            }))  # fmt: skip
            return payload.get("tenant_access_token", ""), payload.get("expire", 7200)

        return self.access_token(fetch)

    def send(self, channel, identity: str, text: str) -> str:
        self.require("app_id", "app_secret", error=SendError)
        kind, receiver = ("chat_id", identity[len(CHAT) :]) if identity.startswith(CHAT) else (
            "open_id", identity)  # fmt: skip
        ids = []
        for part in chunks(text, self.MAX_TEXT):
            url = f"{self.api_base}/open-apis/im/v1/messages?receive_id_type={kind}"
            body = {"receive_id": receiver, "msg_type": "text",
                    "content": json.dumps({"text": part}, ensure_ascii=False)}  # fmt: skip
            headers = {"Authorization": f"Bearer {self._token()}"}
            status, payload = self.call("POST", url, body=body, headers=headers)
            self._checked(payload)
            if not 200 <= status < 300:
                raise SendError(f"Feishu API answered HTTP {status}: {describe(payload)}")
            ids.append(str((payload.get("data") or {}).get("message_id", "")))
        return " ".join(filter(None, ids))

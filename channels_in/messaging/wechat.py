"""WeChat Official Account (微信公众号) callbacks, and replies as customer-service messages.

Receiving (the account's 服务器配置 points at /channels/wechat/<token>/):
- GET  ?signature&timestamp&nonce&echostr: the URL check; signature = sha1 of the sorted
  Token, timestamp and nonce; we answer the echostr.
- POST plaintext mode: the same `signature` in the query, an XML message in the body. Its
  signature does not cover the body, so channels with an EncodingAESKey accept safe mode only.
- POST safe mode (encrypt_type=aes): msg_signature = sha1 of the sorted Token, timestamp, nonce
  and the <Encrypt> value; the value is AES-256-CBC with the key base64(EncodingAESKey + "=")
  (IV = its first 16 bytes, PKCS#7 padded to 32 bytes) over 16 random bytes, a 4-byte
  big-endian length, the message XML and the AppID, which must be ours.
- The timestamp must be within five minutes. We answer "success" (no passive reply).
Sending: POST /cgi-bin/message/custom/send with a stable access token (/cgi-bin/stable_token),
possible within 48 hours of the user's last message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from urllib.parse import quote
from xml.etree import ElementTree

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.http import HttpRequest, HttpResponse

from ..inbound import InboundMessage
from .base import (
    MAX_BODY,
    Adapter,
    MessagingInbound,
    MissingSignatureError,
    PayloadError,
    SendError,
    SignatureError,
    check_fresh,
    chunks,
    not_fetched,
    same,
)

TOKEN_ERRORS = {40001, 40014, 42001}  # invalid or expired access token: fetch a new one


def sha1_signature(*parts: str) -> str:
    """WeChat's and WeCom's callback signature: sha1 over the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - their scheme


class WXCrypt:
    """The documented message encryption of WeChat and WeCom (WXBizMsgCrypt)."""

    BLOCK = 32

    def __init__(self, encoding_aes_key: str, receive_id: str):
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("The channel's EncodingAESKey is not valid.") from None
        if len(key) != 32:
            raise SignatureError("The channel's EncodingAESKey must be 43 characters.")
        self.key, self.iv, self.receive_id = key, key[:16], receive_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.iv))

    def decrypt(self, encrypted: str) -> bytes:
        try:
            data = base64.b64decode(encrypted.replace(" ", "+"), validate=True)
        except (binascii.Error, ValueError):
            raise PayloadError("The encrypted message is not base64.") from None
        if not data or len(data) % 16:
            raise PayloadError("The encrypted message has a wrong length.")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= self.BLOCK or len(plain) < 20 + pad:
            raise PayloadError("The message does not decrypt with this EncodingAESKey.")
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length:
            raise PayloadError("The message does not decrypt with this EncodingAESKey.")
        if self.receive_id and not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise SignatureError("The message was encrypted for another app ID.")
        return message

    def encrypt(self, message: bytes, random16: bytes | None = None) -> str:
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message
        plain += self.receive_id.encode()
        pad = self.BLOCK - len(plain) % self.BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def parse_xml(raw: bytes) -> dict[str, str]:
    """The top-level fields of a WeChat/WeCom XML message. A DTD is refused before parsing, so
    no entity can be declared (no expansion bombs, no external entities)."""
    if len(raw) > MAX_BODY:
        raise PayloadError("The XML message is too large.")
    lowered = raw.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise PayloadError("XML with a DTD is refused.")
    try:
        root = ElementTree.fromstring(raw)  # noqa: S314 - no DTD (refused above)
    except ElementTree.ParseError:
        raise PayloadError("The request body is not XML.") from None
    return {child.tag: (child.text or "").strip() for child in root}


def message_from(adapter: Adapter, fields: dict[str, str]) -> MessagingInbound | None:
    """The InboundMessage of one WeChat/WeCom XML message; None for events (subscribe, menu
    clicks, location reports), which are not messages from a customer."""
    kind, sender = fields.get("MsgType", ""), fields.get("FromUserName", "")
    if kind == "event" or not sender:
        return None
    media = fields.get("MediaId", "")
    text, notes = "", []
    if kind == "text":
        text = fields.get("Content", "")
    elif kind == "image":
        notes.append(not_fetched("an image", f"media id {media}"))
    elif kind == "voice":
        text = fields.get("Recognition", "")
        notes.append(not_fetched("a voice message", f"media id {media}"))
    elif kind in {"video", "shortvideo"}:
        notes.append(not_fetched("a video", f"media id {media}"))
    elif kind == "file":
        notes.append(not_fetched(f"a file {fields.get('Title', '')}".strip(), f"media id {media}"))
    elif kind == "location":
        text = (f"Location: {fields.get('Label', '')} "
                f"({fields.get('Location_X', '')}, {fields.get('Location_Y', '')})")  # fmt: skip
    elif kind == "link":
        text = "\n".join(filter(None, (fields.get(k, "") for k in ("Title", "Description", "Url"))))
    else:
        notes.append(f"The customer sent a {kind or 'message'} the help desk cannot show.")
    msg_id = fields.get("MsgId", "")
    return adapter.inbound(
        key=msg_id or f"{sender}:{fields.get('CreateTime', '')}",
        identity=sender,
        text=text,
        notes=notes,
        external_id=msg_id,
    )


class WeChat(Adapter):
    provider = "wechat"
    label = "WeChat"
    TOKEN_ERRORS = frozenset(TOKEN_ERRORS)
    API_BASE = "https://api.weixin.qq.com"
    MAX_TEXT = 600  # a text is at most 2048 bytes: 600 Chinese characters fit

    def crypt(self) -> WXCrypt:
        return WXCrypt(self.channel.encoding_aes_key, self.channel.app_id)

    def challenge(self, request: HttpRequest) -> HttpResponse | None:
        if request.method != "GET":
            return None
        query = request.GET
        if not all(query.get(k) for k in ("signature", "timestamp", "nonce", "echostr")):
            raise MissingSignatureError(
                "Expected signature, timestamp, nonce and echostr (WeChat's URL check)."
            )
        self.require("token")
        expected = sha1_signature(self.channel.token, query["timestamp"], query["nonce"])
        if not same(query["signature"], expected):
            raise SignatureError("The signature does not match the channel's Token.")
        check_fresh(query["timestamp"])
        return HttpResponse(query["echostr"], content_type="text/plain")

    def verify(self, request: HttpRequest) -> None:
        self.require("token")
        query, token = request.GET, self.channel.token
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if self.channel.encoding_aes_key:
            if query.get("encrypt_type") != "aes" or not query.get("msg_signature"):
                raise MissingSignatureError(
                    "This channel accepts safe mode only: expected encrypt_type=aes and "
                    "msg_signature."
                )
            if not timestamp or not nonce:
                raise MissingSignatureError("Expected timestamp and nonce.")
            encrypt = parse_xml(request.body).get("Encrypt", "")
            if not encrypt:
                raise PayloadError("Safe mode, but the XML has no <Encrypt>.")
            expected = sha1_signature(token, timestamp, nonce, encrypt)
            if not same(query["msg_signature"], expected):
                raise SignatureError("The msg_signature does not match the channel's Token.")
        else:
            if not query.get("signature") or not timestamp or not nonce:
                raise MissingSignatureError("Expected signature, timestamp and nonce.")
            if query.get("encrypt_type") == "aes":
                raise SignatureError("An encrypted message, but the channel has no EncodingAESKey.")
            if not same(query["signature"], sha1_signature(token, timestamp, nonce)):
                raise SignatureError("The signature does not match the channel's Token.")
        check_fresh(timestamp)

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        fields = parse_xml(request.body)
        if self.channel.encoding_aes_key:
            fields = parse_xml(self.crypt().decrypt(fields.get("Encrypt", "")))
        message = message_from(self, fields)
        return [message] if message else []

    def acknowledge(self) -> HttpResponse:
        return HttpResponse("success", content_type="text/plain")

    # --- sending ----------------------------------------------------------------------------

    def _token(self) -> str:
        def fetch() -> tuple[str, int]:
            url = f"{self.api_base}/cgi-bin/stable_token"
            payload = self._checked(self.call_ok("POST", url, body={
                "grant_type": "client_credential", "appid": self.channel.app_id,
                "secret": self.channel.app_secret,
            }))  # fmt: skip
            return payload.get("access_token", ""), payload.get("expires_in", 7200)

        return self.access_token(fetch)

    def send(self, channel, identity: str, text: str) -> str:
        self.require("app_id", "app_secret", error=SendError)
        ids = []
        for part in chunks(text, self.MAX_TEXT):
            url = f"{self.api_base}/cgi-bin/message/custom/send?access_token={quote(self._token())}"
            body = {"touser": identity, "msgtype": "text", "text": {"content": part}}
            payload = self._checked(self.call_ok("POST", url, body=body))
            ids.append(str(payload.get("msgid", "")))  # WeChat gives none for these messages
        return " ".join(filter(None, ids))

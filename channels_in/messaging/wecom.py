"""WeCom (企业微信) self-built app callbacks, and replies as app messages.

Receiving (the app's 接收消息 API points at /channels/wecom/<token>/); always encrypted:
- msg_signature = sha1 of the sorted Token, timestamp, nonce and the encrypted value;
- the value is decrypted like WeChat's (AES-256-CBC, key base64(EncodingAESKey + "=")) and the
  trailing receive id must be our CorpID;
- GET ?msg_signature&timestamp&nonce&echostr: the URL check; we answer the decrypted echostr;
- POST: <xml><ToUserName/><AgentID/><Encrypt/></xml>; the decrypted XML is the message.
The timestamp must be within five minutes. We answer an empty 200 (no passive reply).
Sending: POST /cgi-bin/message/send (touser, agentid) with a token from /cgi-bin/gettoken.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.http import HttpRequest, HttpResponse

from ..inbound import InboundMessage
from .base import (
    Adapter,
    MissingSignatureError,
    SendError,
    SignatureError,
    check_fresh,
    chunks,
    same,
)
from .wechat import WXCrypt, message_from, parse_xml, sha1_signature

TOKEN_ERRORS = {40014, 42001}


class WeCom(Adapter):
    provider = "wecom"
    label = "WeCom"
    TOKEN_ERRORS = frozenset(TOKEN_ERRORS)
    API_BASE = "https://qyapi.weixin.qq.com"
    MAX_TEXT = 600  # a text is at most 2048 bytes

    def crypt(self) -> WXCrypt:
        return WXCrypt(self.channel.encoding_aes_key, self.channel.app_id)

    def _check(self, request: HttpRequest, encrypted: str) -> None:
        self.require("token", "encoding_aes_key", "app_id")
        query = request.GET
        signature, timestamp, nonce = (query.get(k, "") for k in ("msg_signature", "timestamp",
                                                                   "nonce"))  # fmt: skip
        if not signature or not timestamp or not nonce:
            raise MissingSignatureError("Expected msg_signature, timestamp and nonce.")
        expected = sha1_signature(self.channel.token, timestamp, nonce, encrypted)
        if not same(signature, expected):
            raise SignatureError("The msg_signature does not match the channel's Token.")
        check_fresh(timestamp)

    def challenge(self, request: HttpRequest) -> HttpResponse | None:
        if request.method != "GET":
            return None
        echostr = request.GET.get("echostr", "").replace(" ", "+")  # base64 has no spaces
        if not echostr:
            raise MissingSignatureError("Expected msg_signature, timestamp, nonce and echostr.")
        self._check(request, echostr)
        return HttpResponse(self.crypt().decrypt(echostr), content_type="text/plain")

    def verify(self, request: HttpRequest) -> None:
        encrypted = parse_xml(request.body).get("Encrypt", "")
        if not encrypted:
            raise MissingSignatureError("The XML has no <Encrypt>: WeCom callbacks are encrypted.")
        self._check(request, encrypted)

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        fields = parse_xml(self.crypt().decrypt(parse_xml(request.body).get("Encrypt", "")))
        agent = self.channel.account_id
        if agent and fields.get("AgentID") and fields["AgentID"] != agent:
            return []  # another app of the same company shares this URL
        message = message_from(self, fields)
        return [message] if message else []

    # --- sending ----------------------------------------------------------------------------

    def _token(self) -> str:
        def fetch() -> tuple[str, int]:
            query = urlencode(
                {"corpid": self.channel.app_id, "corpsecret": self.channel.app_secret}
            )
            payload = self._checked(
                self.call_ok("GET", f"{self.api_base}/cgi-bin/gettoken?{query}")
            )
            return payload.get("access_token", ""), payload.get("expires_in", 7200)

        return self.access_token(fetch)

    def send(self, channel, identity: str, text: str) -> str:
        self.require("app_id", "app_secret", "account_id", error=SendError)
        try:
            agent = int(self.channel.account_id)
        except ValueError:
            raise SendError("The WeCom AgentID (account ID) must be a number.") from None
        ids = []
        for part in chunks(text, self.MAX_TEXT):
            url = f"{self.api_base}/cgi-bin/message/send?access_token={quote(self._token())}"
            body = {"touser": identity, "msgtype": "text", "agentid": agent,
                    "text": {"content": part}, "safe": 0}  # fmt: skip
            payload = self._checked(self.call_ok("POST", url, body=body))
            if payload.get("invaliduser"):
                raise SendError(f"WeCom: not a member of the app: {payload['invaliduser']}")
            ids.append(str(payload.get("msgid", "")))
        return " ".join(filter(None, ids))

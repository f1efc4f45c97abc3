"""DingTalk (钉钉) robot of an internal app, HTTP mode: messages POSTed to
/channels/dingtalk/<token>/, replies through the robot API.

Receiving: headers `timestamp` (ms) and `sign` = base64(HMAC-SHA256(key=AppSecret,
"{timestamp}\\n{AppSecret}")); the timestamp must be within five minutes. The JSON carries
msgId, senderStaffId / senderId, senderNick, conversationType ("1" one-to-one, "2" group),
conversationId and the content by msgtype (text, richText, picture, audio, video, file).
The `sessionWebhook` in the payload is never called: it expires, and we fetch no URL that a
payload names (DESIGN.md §9).
Sending: an access token from POST /v1.0/oauth2/accessToken (appKey, appSecret), then
/v1.0/robot/oToMessages/batchSend (one-to-one, by staff id) or /v1.0/robot/groupMessages/send
(group, by openConversationId), msgKey "sampleText".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

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

GROUP = "group:"  # reply_to prefix of a group conversation


def dingtalk_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalk(Adapter):
    provider = "dingtalk"
    label = "DingTalk"
    API_BASE = "https://api.dingtalk.com"
    MAX_TEXT = 3000

    def verify(self, request: HttpRequest) -> None:
        self.require("app_secret")
        timestamp, sign = request.headers.get("timestamp", ""), request.headers.get("sign", "")
        if not timestamp or not sign:
            raise MissingSignatureError("Expected the timestamp and sign headers of DingTalk.")
        if not same(sign, dingtalk_sign(timestamp, self.channel.app_secret)):
            raise SignatureError("The sign does not match the channel's AppSecret.")
        check_fresh(timestamp, unit=1000)

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        data = json_body(request)
        if not isinstance(data, dict):
            raise PayloadError("Expected a DingTalk robot message (a JSON object).")
        robot = self.channel.account_id
        if robot and data.get("robotCode") and data["robotCode"] != robot:
            return []
        msg_id = str(data.get("msgId") or "")
        sender = str(data.get("senderStaffId") or data.get("senderId") or "")
        if not msg_id or not sender:
            raise PayloadError("A DingTalk message needs msgId and senderStaffId or senderId.")
        text, notes = self._content(data)
        group = str(data.get("conversationType", "")) == "2" and data.get("conversationId")
        return [
            self.inbound(
                key=msg_id,
                identity=sender,
                sender_name=str(data.get("senderNick") or ""),
                text=text,
                notes=notes,
                external_id=msg_id,
                reply_to=f"{GROUP}{data['conversationId']}" if group else "",
            )
        ]

    @staticmethod
    def _content(data: dict) -> tuple[str, list[str]]:
        kind = data.get("msgtype", "")
        content = data.get("content") if isinstance(data.get("content"), dict) else {}
        if kind == "text":
            return str((data.get("text") or {}).get("content", "")).strip(), []
        if kind == "richText":
            texts, notes = [], []
            for item in content.get("richText") or []:
                if item.get("text"):
                    texts.append(str(item["text"]))
                elif item.get("pictureDownloadCode") or item.get("downloadCode"):
                    notes.append(not_fetched("an image"))
            return "".join(texts).strip(), notes
        if kind == "picture":
            return "", [not_fetched("an image")]
        if kind == "audio":
            return str(content.get("recognition", "")), [not_fetched("a voice message")]
        if kind == "video":
            return "", [not_fetched("a video")]
        if kind == "file":
            return "", [not_fetched(f"a file {content.get('fileName', '')}".strip())]
        return "", [f"The customer sent a {kind or 'message'} the help desk cannot show."]

    def acknowledge(self) -> HttpResponse:
        return JsonResponse({})  # no reply in the response: agents answer from the ticket

    # --- sending ----------------------------------------------------------------------------

    def _token(self) -> str:
        def fetch() -> tuple[str, int]:
            payload = self.call_ok("POST", f"{self.api_base}/v1.0/oauth2/accessToken", body={
                "appKey": self.channel.app_id, "appSecret": self.channel.app_secret,
            })  # fmt: skip
            return payload.get("accessToken", ""), payload.get("expireIn", 7200)

        return self.access_token(fetch)

    def send(self, channel, identity: str, text: str) -> str:
        self.require("app_id", "app_secret", error=SendError)
        robot = self.channel.account_id or self.channel.app_id
        keys = []
        for part in chunks(text, self.MAX_TEXT):
            param = json.dumps({"content": part}, ensure_ascii=False)
            body = {"robotCode": robot, "msgKey": "sampleText", "msgParam": param}
            if identity.startswith(GROUP):
                url = f"{self.api_base}/v1.0/robot/groupMessages/send"
                body["openConversationId"] = identity[len(GROUP) :]
            else:
                url = f"{self.api_base}/v1.0/robot/oToMessages/batchSend"
                body["userIds"] = [identity]
            headers = {"x-acs-dingtalk-access-token": self._token()}
            status, payload = self.call("POST", url, body=body, headers=headers)
            if status in {401, 403}:
                self.forget_token()
            if not 200 <= status < 300:
                raise SendError(f"DingTalk API answered HTTP {status}: {describe(payload)}")
            refused = [*payload.get("invalidStaffIdList", []),
                       *payload.get("flowControlledStaffIdList", [])]  # fmt: skip
            if identity in refused:
                raise SendError(f"DingTalk did not deliver to {identity} (invalid or throttled).")
            keys.append(str(payload.get("processQueryKey", "")))
        return " ".join(filter(None, keys))

"""WeChat Customer Service (微信客服) run through WeCom: callbacks that only say "something new",
a pull that fetches it, and replies as customer-service messages.

Channel fields: app_id = the CorpID, app_secret = the 微信客服 Secret, token + encoding_aes_key =
the callback Token and EncodingAESKey, account_id = one open_kfid (empty: every KF account the
Secret may use). Replies need the KF account to be managed through the API (微信客服 › 通过API
管理微信客服账号).

Receiving (the KF callback URL points at /channels/wechat_kf/<token>/):
- signed and encrypted exactly like a WeCom app's callback (wecom.py: the GET URL check answers
  the decrypted echostr; POST carries <Encrypt>, the receive id must be our CorpID);
- the decrypted POST is only an event: <MsgType>event</MsgType><Event>kf_msg_or_event</Event>
  <Token>…</Token><OpenKfId>wk…</OpenKfId>. WeChat wants an answer within 5 s, so `parse` ingests
  nothing: it enqueues, on commit, `wechat_kf_sync.wechat_kf_sync_task` with the Token (valid for
  10 minutes; a pull without it is strictly rate-limited);
- the pull: POST /cgi-bin/kf/sync_msg {cursor, token, limit, voice_format, open_kfid} answers
  msg_list, next_cursor and has_more. origin 3 = the customer (ingested, keyed by msgid),
  4 = a system event (enter_session, msg_send_fail, …: not a message), 5 = a servicer writing in
  the WeCom client (not the customer). Media are noted, never downloaded.
Sending: POST /cgi-bin/kf/send_msg {touser, open_kfid, msgtype: text}. WeChat takes it only within
48 hours of the customer's last message, at most 5 messages until they write again, and only
while the session is new or with the API (service_state 0 or 1, not taken by a servicer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.http import HttpRequest

from ..inbound import InboundMessage
from .base import MessagingInbound, SendError, chunks, describe, not_fetched
from .wechat import parse_xml
from .wecom import WeCom

if TYPE_CHECKING:
    from .models import MessagingChannel

ORIGIN_CUSTOMER = 3  # sync_msg's origin of a message the WeChat customer sent
REPLY_SEP = "|"  # MessagingThread.reply_to is "<open_kfid>|<external_userid>": a reply needs both
SYNC_LIMIT = 1000  # messages per sync_msg page (the documented default and maximum)
# send_msg refusals worth an explanation (errmsg alone is terse); others are shown as they come.
SEND_REFUSALS = {
    95001: "WeChat allows at most 5 messages to a customer until they write again (and only "
    "within 48 hours of their last message); the reply can go once the customer writes.",
    95018: "WeChat refused the reply because of the conversation's state: the API may only "
    "answer a session that is new or with the API, not one a servicer took over in WeCom or "
    "one that has ended.",
}


def reply_address(open_kfid: str, external_userid: str) -> str:
    """What a thread's reply_to holds: the KF account to send from and the customer."""
    return f"{open_kfid}{REPLY_SEP}{external_userid}"


def kf_message(adapter: WeChatKF, item: dict[str, Any]) -> MessagingInbound | None:
    """The InboundMessage of one sync_msg entry; None for anything that is not a customer's
    message (system events, servicers' messages, another KF account's, malformed entries)."""
    if not isinstance(item, dict) or str(item.get("origin", "")) != str(ORIGIN_CUSTOMER):
        return None
    msgid, sender = str(item.get("msgid") or ""), str(item.get("external_userid") or "")
    open_kfid = str(item.get("open_kfid") or "")
    if not msgid or not sender:
        return None
    account = adapter.channel.account_id
    if account and open_kfid and open_kfid != account:
        return None
    kind = str(item.get("msgtype") or "")
    body = item.get(kind) if isinstance(item.get(kind), dict) else {}
    media = str(body.get("media_id", ""))
    text, notes = "", []
    if kind == "text":
        text = str(body.get("content", ""))
    elif kind == "image":
        notes.append(not_fetched("an image", f"media id {media}"))
    elif kind == "voice":
        notes.append(not_fetched("a voice message", f"media id {media}"))
    elif kind == "video":
        notes.append(not_fetched("a video", f"media id {media}"))
    elif kind == "file":
        notes.append(not_fetched("a file", f"media id {media}"))
    elif kind == "location":
        place = " ".join(filter(None, (str(body.get(k, "")) for k in ("name", "address"))))
        text = f"Location: {place} ({body.get('latitude', '')}, {body.get('longitude', '')})"
    elif kind == "link":
        text = "\n".join(filter(None, (str(body.get(k, "")) for k in ("title", "desc", "url"))))
    elif kind == "business_card":
        text = f"Business card: {body.get('userid', '')}"
    elif kind == "miniprogram":
        where = " ".join(filter(None, (str(body.get(k, "")) for k in ("appid", "pagepath"))))
        text = f"Mini program: {body.get('title', '')} ({where})"
    else:  # msgmenu, channels, channels_shop_product, … and whatever comes next
        notes.append(f"The customer sent a {kind or 'message'} the help desk cannot show.")
    return adapter.inbound(
        key=msgid,
        identity=sender,
        text=text,
        notes=notes,
        external_id=msgid,
        reply_to=reply_address(open_kfid or account, sender),
    )


class WeChatKF(WeCom):
    """WeCom's callback checks and access token (the CorpID with the KF Secret); a pull instead
    of messages in the callback; replies through kf/send_msg."""

    provider = "wechat_kf"
    label = "WeChat Customer Service"
    MAX_TEXT = 600  # a text is at most 2048 bytes: 600 Chinese characters fit

    def parse(self, request: HttpRequest) -> list[InboundMessage]:
        """Nothing to ingest here: a kf_msg_or_event enqueues a pull (on commit, so a refused or
        failed request enqueues nothing) and the webhook answers at once."""
        fields = parse_xml(self.crypt().decrypt(parse_xml(request.body).get("Encrypt", "")))
        if fields.get("MsgType") != "event" or fields.get("Event") != "kf_msg_or_event":
            return []
        account, open_kfid = self.channel.account_id, fields.get("OpenKfId", "")
        if account and open_kfid and open_kfid != account:
            return []  # another KF account of the same company shares this URL
        from helpdesk.tenancy.tasks import enqueue_on_commit

        from . import wechat_kf_sync

        enqueue_on_commit(
            wechat_kf_sync.wechat_kf_sync_task,
            channel_id=self.channel.pk,
            token=fields.get("Token", ""),
        )
        return []

    # --- the API ----------------------------------------------------------------------------

    def api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to a KF API with the access token; an expired or invalid token is fetched anew
        and the call made once more. The answer is returned unchecked (see `_checked`)."""
        self.require("app_id", "app_secret", error=SendError)

        def post() -> dict[str, Any]:
            url = f"{self.api_base}{path}?access_token={quote(self._token())}"
            payload = self.call_ok("POST", url, body=body)
            return payload if isinstance(payload, dict) else {"raw": payload}

        payload = post()
        if payload.get("errcode") in self.TOKEN_ERRORS:
            self.forget_token()
            payload = post()
        return payload

    def sync_page(self, *, cursor: str, token: str) -> dict[str, Any]:
        """One page of kf/sync_msg after `cursor` (the channel's KF account, or all of them)."""
        body: dict[str, Any] = {"cursor": cursor, "limit": SYNC_LIMIT, "voice_format": 0}
        if token:  # a callback's token; without one (the periodic pull) the rate limit is lower
            body["token"] = token
        if self.channel.account_id:
            body["open_kfid"] = self.channel.account_id
        return self._checked(self.api("/cgi-bin/kf/sync_msg", body))

    def nicknames(self, external_userids: set[str]) -> dict[str, str]:
        """The customers' WeChat nicknames (kf/customer/batchget, up to 100 a call); best effort:
        a refusal only leaves the contacts named by their external_userid."""
        names: dict[str, str] = {}
        wanted = sorted(external_userids)
        for start in range(0, len(wanted), 100):
            body = {"external_userid_list": wanted[start : start + 100],
                    "need_enter_session_context": 0}  # fmt: skip
            try:
                payload = self._checked(self.api("/cgi-bin/kf/customer/batchget", body))
            except SendError:
                return names
            for customer in payload.get("customer_list") or []:
                if isinstance(customer, dict) and customer.get("nickname"):
                    names[str(customer.get("external_userid", ""))] = str(customer["nickname"])
        return names

    # --- sending ----------------------------------------------------------------------------

    def send(self, channel: MessagingChannel, identity: str, text: str) -> str:
        """Send `text` to a customer; `identity` is a thread's reply_to ("<open_kfid>|<user>"),
        or a bare external_userid when the channel names its one KF account."""
        open_kfid, _sep, touser = identity.rpartition(REPLY_SEP)
        open_kfid = open_kfid or self.channel.account_id
        if not open_kfid or not touser:
            raise SendError(
                "WeChat Customer Service: no KF account (open_kfid) to send this reply from."
            )
        ids = []
        for part in chunks(text, self.MAX_TEXT):
            body = {"touser": touser, "open_kfid": open_kfid, "msgtype": "text",
                    "text": {"content": part}}  # fmt: skip
            payload = self.api("/cgi-bin/kf/send_msg", body)
            refusal = SEND_REFUSALS.get(payload.get("errcode"))
            if refusal:
                raise SendError(f"{refusal} ({describe(payload)})")
            ids.append(str(self._checked(payload).get("msgid", "")))
        return " ".join(filter(None, ids))

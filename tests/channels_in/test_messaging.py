"""Messaging apps end to end through /channels/<provider>/<token>/, for every provider: the
documented sample payloads (tests/channels_in/payloads/) signed as the provider signs them;
bad, missing and stale signatures; replays; handshakes; tenancy; one contact and one open
ticket per user; and agents' replies sent to a local HTTP server standing in for the
provider's API (the exact request asserted), a 500 from it recorded for retry."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from channels_in.messaging.base import SendError, chunks
from channels_in.messaging.dingtalk import dingtalk_sign
from channels_in.messaging.feishu import feishu_encrypt, feishu_signature
from channels_in.messaging.meta import hub_signature
from channels_in.messaging.models import MessagingChannel, MessagingThread
from channels_in.messaging.wechat import WXCrypt, sha1_signature
from channels_in.models import InboundKey
from helpdesk.tenancy.context import tenant_context
from tests.factories import MembershipFactory, make_ticket
from tests.helpers import host_of
from tickets import services
from tickets.models import ContactIdentity, Message, Ticket
from tickets.tasks import deliver_message

pytestmark = pytest.mark.django_db

PAYLOADS = Path(__file__).parent / "payloads"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # an EncodingAESKey: 43 characters
REPLY = "We are on it: a new printer ships today."


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


# --- A local stand-in for the providers' APIs -----------------------------------------------


class FakeAPI:
    """Records every request; answers from `routes` (path -> (status, JSON))."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.routes: dict[str, tuple[int, dict]] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                api.requests.append({
                    "method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "json": json.loads(body) if body else None,
                })  # fmt: skip
                status, answer = api.routes.get(parts.path, (404, {"error": "no route"}))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def sent(self) -> list[dict]:
        return [r for r in self.requests if "token" not in r["path"].lower()]


@pytest.fixture
def api(settings):
    settings.HELPDESK_MESSAGING_API_HOSTS = ["127.0.0.1"]
    fake = FakeAPI()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# --- How each provider signs and what it expects --------------------------------------------


@dataclass
class Spec:
    provider: str
    file: str
    message_id: str  # the id in the sample, and another one for a second message
    next_id: str
    identity: str
    name: str
    text: str
    fields: dict
    ack: bytes  # the body the provider expects back
    stale_applies: bool
    api_path: str = ""  # appended to the fake server's base (Meta's version prefix)
    routes: dict = field(default_factory=dict)
    send_path: str = ""
    sent_id: str = ""


SPECS = {
    "wechat": Spec(
        "wechat", "wechat_text.xml", "1234567890123456", "1234567890123499",
        "oia2TjuEGTNoeX76QEjQNrcURxG8", "", "我的订单还没到",
        {"app_id": "wx5d94a7bcdbe6b9aa", "app_secret": "wx-app-secret", "token": "wechat-token",
         "encoding_aes_key": AES_KEY},
        b"success", True,
        routes={"/cgi-bin/stable_token": (200, {"access_token": "WX-TOKEN", "expires_in": 7200}),
                "/cgi-bin/message/custom/send": (200, {"errcode": 0, "errmsg": "ok"})},
        send_path="/cgi-bin/message/custom/send", sent_id="",
    ),
    "wecom": Spec(
        "wecom", "wecom_text.xml", "1234567890123456", "1234567890123499", "zhangsan", "",
        "this is a test",
        {"app_id": "ww1234567890abcdef", "app_secret": "wecom-secret", "token": "wecom-token",
         "encoding_aes_key": AES_KEY, "account_id": "1000002"},
        b"", True,
        routes={"/cgi-bin/gettoken": (200, {"errcode": 0, "errmsg": "ok",
                                            "access_token": "WC-TOKEN", "expires_in": 7200}),
                "/cgi-bin/message/send": (200, {"errcode": 0, "errmsg": "ok", "invaliduser": "",
                                                "msgid": "wecom-msg-1"})},
        send_path="/cgi-bin/message/send", sent_id="wecom-msg-1",
    ),
    "dingtalk": Spec(
        "dingtalk", "dingtalk_text.json", "msg0xxxxxxxxxxx==", "msg0yyyyyyyyyyy==", "user123",
        "杨xx", "打印机坏了",
        {"app_id": "dingappkey", "app_secret": "dingtalk-app-secret",
         "account_id": "dingxxxxxxxxxx"},
        b"{}", True,
        routes={"/v1.0/oauth2/accessToken": (200, {"accessToken": "DT-TOKEN", "expireIn": 7200}),
                "/v1.0/robot/oToMessages/batchSend": (200, {"processQueryKey": "dt-key-1",
                                                            "invalidStaffIdList": [],
                                                            "flowControlledStaffIdList": []})},
        send_path="/v1.0/robot/oToMessages/batchSend", sent_id="dt-key-1",
    ),
    "feishu": Spec(
        "feishu", "feishu_message_receive.json", "om_5ce6d572455d361153b7cb51da133945",
        "om_5ce6d572455d361153b7cb51da1339ff", "ou_84aad35d084aa403a838cf73ee18467", "",
        "@Tom hello",
        {"app_id": "cli_9f5343c580712544", "app_secret": "feishu-app-secret",
         "token": "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV", "encoding_aes_key": "feishu-encrypt-key"},
        b'{"code": 0}', True,
        routes={"/open-apis/auth/v3/tenant_access_token/internal": (
                    200, {"code": 0, "msg": "ok", "tenant_access_token": "t-FS", "expire": 7200}),
                "/open-apis/im/v1/messages": (200, {"code": 0, "msg": "success",
                                                    "data": {"message_id": "om_reply_1"}})},
        send_path="/open-apis/im/v1/messages", sent_id="om_reply_1",
    ),
    "whatsapp": Spec(
        "whatsapp", "whatsapp_text.json",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgB=", "16505551234",
        "Sheena Nelson", "Does it come in another color?",
        {"app_secret": "meta-app-secret", "access_token": "WA-ACCESS-TOKEN",
         "verify_token": "wa-verify", "account_id": "106540352242922"},
        b"EVENT_RECEIVED", False, api_path="/v21.0",
        routes={"/v21.0/106540352242922/messages": (200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": "wamid.reply1"}]})},
        send_path="/v21.0/106540352242922/messages", sent_id="wamid.reply1",
    ),
    "telegram": Spec(
        "telegram", "telegram_message.json", '"message_id": 1365', '"message_id": 1366',
        "1111111", "Test Firstname Test Lastname", "/start",
        {"token": "tg-hook-secret", "bot_token": "123456:ABC-DEF"},
        b"", False,
        routes={"/bot123456:ABC-DEF/sendMessage": (200, {"ok": True, "result": {
            "message_id": 1367, "chat": {"id": 1111111, "type": "private"}, "date": 1441645600,
            "text": REPLY}})},
        send_path="/bot123456:ABC-DEF/sendMessage", sent_id="1367",
    ),
    "messenger": Spec(
        "messenger", "messenger_text.json", "mid.1457764197618:41d102a3e1ae206a38",
        "mid.1457764197618:41d102a3e1ae206a40", "7654321098765432", "", "hello, world!",
        {"app_secret": "meta-app-secret", "access_token": "PAGE-ACCESS-TOKEN",
         "verify_token": "fb-verify", "account_id": "1234567890"},
        b"EVENT_RECEIVED", False, api_path="/v21.0",
        routes={"/v21.0/1234567890/messages": (200, {"recipient_id": "7654321098765432",
                                                     "message_id": "m_reply_1"})},
        send_path="/v21.0/1234567890/messages", sent_id="m_reply_1",
    ),
}  # fmt: skip
PROVIDERS = list(SPECS)
STALE = [p for p in PROVIDERS if SPECS[p].stale_applies]


def make_channel(tenant, provider: str, api: FakeAPI | None = None, **extra) -> MessagingChannel:
    spec = SPECS[provider]
    base = f"{api.base}{spec.api_path}" if api else ""
    with tenant_context(tenant):
        return MessagingChannel.objects.create(
            provider=provider, name=f"{provider} desk", api_base=base, **{**spec.fields, **extra}
        )


def signed(channel: MessagingChannel, body: bytes, *, at: float | None = None,
           wrong: bool = False) -> tuple[str, bytes, dict]:  # fmt: skip
    """(query string, body, headers) as the provider sends them."""
    at = time.time() if at is None else at
    secret = "not-the-secret"
    provider = channel.provider
    if provider in {"wechat", "wecom"}:
        token = secret if wrong else channel.token
        timestamp, nonce = str(int(at)), "1320562132"
        encrypt = WXCrypt(channel.encoding_aes_key, channel.app_id).encrypt(body)
        extra = "<AgentID><![CDATA[1000002]]></AgentID>" if provider == "wecom" else ""
        outer = (f"<xml><ToUserName><![CDATA[{channel.app_id}]]></ToUserName>{extra}"
                 f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()  # fmt: skip
        query = {"timestamp": timestamp, "nonce": nonce,
                 "msg_signature": sha1_signature(token, timestamp, nonce, encrypt)}  # fmt: skip
        if provider == "wechat":
            query |= {"signature": sha1_signature(token, timestamp, nonce),
                      "openid": "oia2TjuEGTNoeX76QEjQNrcURxG8", "encrypt_type": "aes"}  # fmt: skip
        return urlencode(query), outer, {"Content-Type": "text/xml"}
    if provider == "dingtalk":
        timestamp = str(int(at * 1000))
        sign = dingtalk_sign(timestamp, secret if wrong else channel.app_secret)
        return "", body, {"timestamp": timestamp, "sign": sign}
    if provider == "feishu":
        outer = json.dumps({"encrypt": feishu_encrypt(channel.encoding_aes_key, body)}).encode()
        timestamp, nonce = str(int(at)), "13a4bc1d"
        key = secret if wrong else channel.encoding_aes_key
        return "", outer, {
            "X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": feishu_signature(timestamp, nonce, key, outer),
        }  # fmt: skip
    if provider in {"whatsapp", "messenger"}:
        signature = hub_signature(secret if wrong else channel.app_secret, body)
        return "", body, {"X-Hub-Signature-256": signature}
    return "", body, {"X-Telegram-Bot-Api-Secret-Token": secret if wrong else channel.token}


def post(client, tenant, channel, body: bytes, **sign):
    query, data, headers = signed(channel, body, **sign)
    content_type = headers.pop("Content-Type", "application/json")
    url = f"/channels/{channel.provider}/{channel.webhook_token}/" + (f"?{query}" if query else "")
    return client.post(url, data, content_type=content_type, headers=headers,
                       HTTP_HOST=host_of(tenant))  # fmt: skip


def sample(provider: str, second: bool = False) -> bytes:
    spec = SPECS[provider]
    body = payload(spec.file)
    return body.replace(spec.message_id.encode(), spec.next_id.encode()) if second else body


def counts(tenant) -> tuple[int, int, int]:
    with tenant_context(tenant):
        return Ticket.objects.count(), Message.objects.count(), InboundKey.objects.count()


# --- Inbound --------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_signed_message_becomes_a_ticket_of_that_channel(client, tenant_a, provider):
    spec = SPECS[provider]
    channel = make_channel(tenant_a, provider)
    response = post(client, tenant_a, channel, sample(provider))
    assert response.status_code == 200, response.content
    assert response.content == spec.ack
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get()
        message = ticket.messages.get()
        identity = ContactIdentity.objects.get()
        thread = MessagingThread.objects.get()
        requester_name = ticket.requester.name
    assert ticket.channel == provider and message.channel == provider
    assert message.direction == "in" and spec.text in message.body_text
    assert (identity.kind, identity.value) == (provider, spec.identity)
    assert identity.contact_id == ticket.requester_id
    assert requester_name == (spec.name or spec.identity)
    assert (thread.channel_id, thread.ticket_id, thread.identity) == (
        channel.pk, ticket.pk, spec.identity)  # fmt: skip


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_bad_signature_is_403_and_stores_nothing(client, tenant_a, provider):
    channel = make_channel(tenant_a, provider)
    response = post(client, tenant_a, channel, sample(provider), wrong=True)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json" and response.json()["error"]
    assert counts(tenant_a) == (0, 0, 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_signature_at_all_is_refused(client, tenant_a, provider):
    channel = make_channel(tenant_a, provider)
    body = sample(provider)
    response = client.post(
        f"/channels/{provider}/{channel.webhook_token}/",
        body,
        content_type="application/json",
        HTTP_HOST=host_of(tenant_a),
    )
    assert response.status_code in {400, 403} and response.json()["error"]
    assert counts(tenant_a) == (0, 0, 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_replayed_message_is_one_message(client, tenant_a, provider):
    channel = make_channel(tenant_a, provider)
    first = post(client, tenant_a, channel, sample(provider))
    again = post(client, tenant_a, channel, sample(provider))  # a redelivery, freshly signed
    assert first.status_code == again.status_code == 200
    assert counts(tenant_a) == (1, 1, 1)


@pytest.mark.parametrize("provider", STALE)
def test_a_stale_timestamp_is_refused_as_a_replay(client, tenant_a, provider):
    channel = make_channel(tenant_a, provider)
    response = post(client, tenant_a, channel, sample(provider), at=time.time() - 301)
    assert response.status_code == 403 and "replay" in response.json()["error"]
    future = post(client, tenant_a, channel, sample(provider), at=time.time() + 301)
    assert future.status_code == 403
    assert counts(tenant_a) == (0, 0, 0)
    assert (
        post(client, tenant_a, channel, sample(provider), at=time.time() - 200).status_code == 200
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_another_tenants_channel_token_is_404(client, tenant_a, tenant_b, provider):
    channel = make_channel(tenant_a, provider)
    response = post(client, tenant_b, channel, sample(provider))
    assert response.status_code == 404 and response.json()["error"]
    assert counts(tenant_a) == counts(tenant_b) == (0, 0, 0)
    wrong_provider = "telegram" if provider != "telegram" else "wechat"
    url = f"/channels/{wrong_provider}/{channel.webhook_token}/"
    assert client.post(url, b"{}", content_type="application/json",
                       HTTP_HOST=host_of(tenant_a)).status_code == 404  # fmt: skip


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_paused_channel_takes_nothing(client, tenant_a, provider):
    channel = make_channel(tenant_a, provider, is_active=False)
    assert post(client, tenant_a, channel, sample(provider)).status_code == 404
    assert counts(tenant_a) == (0, 0, 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_same_user_is_one_contact_on_one_open_ticket(client, tenant_a, provider):
    channel = make_channel(tenant_a, provider)
    assert post(client, tenant_a, channel, sample(provider)).status_code == 200
    assert post(client, tenant_a, channel, sample(provider, second=True)).status_code == 200
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get()
        assert ticket.messages.count() == 2
        assert ContactIdentity.objects.count() == 1
        assert {m.author_contact_id for m in ticket.messages.all()} == {ticket.requester_id}
        ticket.status = Ticket.Status.SOLVED
        ticket.save(update_fields=["status"])
    third = sample(provider).replace(SPECS[provider].message_id.encode(), b"3" + b"1" * 7)
    if provider == "telegram":
        third = sample(provider).replace(b'"message_id": 1365', b'"message_id": 1400')
    assert post(client, tenant_a, channel, third).status_code == 200
    with tenant_context(tenant_a):
        newest = Ticket.objects.order_by("-number").first()
        assert Ticket.objects.count() == 2 and newest.pk != ticket.pk  # solved: a new ticket
        assert newest.requester_id == ticket.requester_id
        assert MessagingThread.objects.get(ticket=newest).identity == SPECS[provider].identity


# --- Handshakes -----------------------------------------------------------------------------


def handshake(client, tenant, channel, *, wrong: bool = False):
    """The provider's URL check; (response, the answer it expects)."""
    url = f"/channels/{channel.provider}/{channel.webhook_token}/"
    host = host_of(tenant)
    token = "not-the-token" if wrong else None
    now = str(int(time.time()))
    if channel.provider == "wechat":
        signature = sha1_signature(token or channel.token, now, "4711")
        query = {"signature": signature, "timestamp": now, "nonce": "4711",
                 "echostr": "8412036720581727"}  # fmt: skip
        return client.get(url, query, HTTP_HOST=host), b"8412036720581727"
    if channel.provider == "wecom":
        echostr = WXCrypt(channel.encoding_aes_key, channel.app_id).encrypt(b"1616140317555161061")
        query = {"msg_signature": sha1_signature(token or channel.token, now, "4711", echostr),
                 "timestamp": now, "nonce": "4711", "echostr": echostr}  # fmt: skip
        return client.get(url, query, HTTP_HOST=host), b"1616140317555161061"
    if channel.provider == "feishu":
        body = json.loads(payload("feishu_url_verification.json"))
        body["token"] = token or body["token"]
        encrypted = {"encrypt": feishu_encrypt(channel.encoding_aes_key, json.dumps(body).encode())}
        response = client.post(url, encrypted, content_type="application/json", HTTP_HOST=host)
        return response, b'{"challenge": "ajls384kdjx98XX"}'
    if channel.provider in {"whatsapp", "messenger"}:
        query = {"hub.mode": "subscribe", "hub.verify_token": token or channel.verify_token,
                 "hub.challenge": "1158201444"}  # fmt: skip
        return client.get(url, query, HTTP_HOST=host), b"1158201444"
    return client.get(url, HTTP_HOST=host), None  # DingTalk and Telegram have none


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_handshake_answers_the_challenge(client, tenant_a, provider):
    channel = make_channel(tenant_a, provider)
    response, expected = handshake(client, tenant_a, channel)
    if expected is None:
        assert response.status_code == 405 and response.json()["error"]
        return
    assert response.status_code == 200 and response.content == expected
    refused, _expected = handshake(client, tenant_a, channel, wrong=True)
    assert refused.status_code == 403 and expected not in refused.content
    assert counts(tenant_a) == (0, 0, 0)


# --- Outbound -------------------------------------------------------------------------------


def expected_send(provider: str) -> tuple[str, dict, dict, dict]:
    """The send request: (path, query, headers that must be there, JSON body)."""
    spec = SPECS[provider]
    text = {"content": REPLY}
    return {
        "wechat": (spec.send_path, {"access_token": ["WX-TOKEN"]}, {},
                   {"touser": spec.identity, "msgtype": "text", "text": text}),
        "wecom": (spec.send_path, {"access_token": ["WC-TOKEN"]}, {},
                  {"touser": "zhangsan", "msgtype": "text", "agentid": 1000002, "text": text,
                   "safe": 0}),
        "dingtalk": (spec.send_path, {}, {"x-acs-dingtalk-access-token": "DT-TOKEN"},
                     {"robotCode": "dingxxxxxxxxxx", "msgKey": "sampleText",
                      "msgParam": json.dumps(text, ensure_ascii=False), "userIds": ["user123"]}),
        "feishu": (spec.send_path, {"receive_id_type": ["open_id"]},
                   {"authorization": "Bearer t-FS"},
                   {"receive_id": spec.identity, "msg_type": "text",
                    "content": json.dumps({"text": REPLY}, ensure_ascii=False)}),
        "whatsapp": (spec.send_path, {}, {"authorization": "Bearer WA-ACCESS-TOKEN"},
                     {"messaging_product": "whatsapp", "recipient_type": "individual",
                      "to": "16505551234", "type": "text",
                      "text": {"preview_url": False, "body": REPLY}}),
        "telegram": (spec.send_path, {}, {}, {"chat_id": 1111111, "text": REPLY}),
        "messenger": (spec.send_path, {}, {"authorization": "Bearer PAGE-ACCESS-TOKEN"},
                      {"recipient": {"id": "7654321098765432"}, "messaging_type": "RESPONSE",
                       "message": {"text": REPLY}}),
    }[provider]  # fmt: skip


@pytest.fixture
def replied(client, tenant_a, api):
    """A provider's ticket (through the webhook) with an agent's reply waiting to be sent."""

    def make(provider: str) -> tuple[MessagingChannel, Message]:
        api.routes.update(SPECS[provider].routes)
        channel = make_channel(tenant_a, provider, api)
        assert post(client, tenant_a, channel, sample(provider)).status_code == 200
        agent = MembershipFactory(tenant=tenant_a).user
        with tenant_context(tenant_a):
            ticket = Ticket.objects.get()
            reply = services.ticket_reply(ticket=ticket, author=agent, body_text=REPLY)
        assert reply.delivery_status == Message.Delivery.PENDING
        return channel, reply

    return make


def reply_state(tenant, reply: Message) -> Message:
    with tenant_context(tenant):
        return Message.objects.get(pk=reply.pk)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_agents_reply_is_sent_to_the_provider(tenant_a, api, replied, provider):
    _channel, reply = replied(provider)
    assert deliver_message.run(tenant_a.pk, message_id=reply.pk) == "sent"
    path, query, headers, body = expected_send(provider)
    [request] = api.sent()
    assert (request["method"], request["path"], request["query"]) == ("POST", path, query)
    for name, value in headers.items():
        assert request["headers"][name] == value
    assert request["headers"]["content-type"].startswith("application/json")
    assert request["json"] == body
    sent = reply_state(tenant_a, reply)
    assert sent.delivery_status == Message.Delivery.SENT and sent.sent_at is not None
    assert sent.external_id == SPECS[provider].sent_id
    assert deliver_message.run(tenant_a.pk, message_id=reply.pk) == "skipped"  # never twice
    assert len(api.sent()) == 1


def test_app_tokens_are_fetched_as_documented_and_cached(tenant_a, api, replied):
    _channel, reply = replied("wechat")
    deliver_message.run(tenant_a.pk, message_id=reply.pk)
    token = [r for r in api.requests if r["path"] == "/cgi-bin/stable_token"]
    assert token[0]["json"] == {"grant_type": "client_credential", "appid": "wx5d94a7bcdbe6b9aa",
                                "secret": "wx-app-secret"}  # fmt: skip
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        second = services.ticket_reply(ticket=Ticket.objects.get(), author=agent, body_text="2")
    deliver_message.run(tenant_a.pk, message_id=second.pk)
    assert len([r for r in api.requests if r["path"] == "/cgi-bin/stable_token"]) == 1
    assert len(api.sent()) == 2


@pytest.mark.parametrize("provider", ["wecom", "dingtalk", "feishu"])
def test_other_app_tokens_are_fetched_as_documented(tenant_a, api, replied, provider):
    _channel, reply = replied(provider)
    deliver_message.run(tenant_a.pk, message_id=reply.pk)
    [token] = [r for r in api.requests if "token" in r["path"].lower()]
    expected = {
        "wecom": ("GET", "/cgi-bin/gettoken",
                  {"corpid": ["ww1234567890abcdef"], "corpsecret": ["wecom-secret"]}, None),
        "dingtalk": ("POST", "/v1.0/oauth2/accessToken", {},
                     {"appKey": "dingappkey", "appSecret": "dingtalk-app-secret"}),
        "feishu": ("POST", "/open-apis/auth/v3/tenant_access_token/internal", {},
                   {"app_id": "cli_9f5343c580712544", "app_secret": "feishu-app-secret"}),
    }[provider]  # fmt: skip
    assert (token["method"], token["path"], token["query"], token["json"]) == expected


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_500_from_the_provider_marks_the_reply_failed_for_retry(tenant_a, api, replied, provider):
    _channel, reply = replied(provider)
    api.routes[SPECS[provider].send_path] = (500, {"error": {"code": 2, "message": "down"}})
    with pytest.raises(SendError, match="HTTP 500"):
        deliver_message.run(tenant_a.pk, message_id=reply.pk)  # a worker would retry later
    failed = reply_state(tenant_a, reply)
    assert failed.delivery_status == Message.Delivery.FAILED
    assert "500" in failed.delivery_error and failed.delivery_attempts == 1
    api.routes.update(SPECS[provider].routes)  # the provider is back: the retry sends it
    assert deliver_message.run(tenant_a.pk, message_id=reply.pk) == "sent"
    assert reply_state(tenant_a, reply).delivery_status == Message.Delivery.SENT


def test_a_provider_refusal_in_the_body_is_a_failure(tenant_a, api, replied):
    _channel, reply = replied("wechat")
    api.routes["/cgi-bin/message/custom/send"] = (
        200, {"errcode": 45015, "errmsg": "response out of time limit"})  # fmt: skip
    with pytest.raises(SendError, match="45015"):
        deliver_message.run(tenant_a.pk, message_id=reply.pk)
    assert "out of time limit" in reply_state(tenant_a, reply).delivery_error


def test_replies_go_only_to_allowed_api_hosts(tenant_a, api, replied, settings):
    _channel, reply = replied("telegram")
    settings.HELPDESK_MESSAGING_API_HOSTS = []  # 127.0.0.1 is not Telegram's API
    with pytest.raises(SendError, match="HELPDESK_MESSAGING_API_HOSTS"):
        deliver_message.run(tenant_a.pk, message_id=reply.pk)
    assert api.requests == []
    assert reply_state(tenant_a, reply).delivery_status == Message.Delivery.FAILED


def test_a_messaging_ticket_without_a_conversation_fails_clearly(tenant_a, agent):
    ticket = make_ticket(tenant_a, channel=Ticket.Channel.WECHAT)  # e.g. typed in by an agent
    with tenant_context(tenant_a):
        reply = services.ticket_reply(ticket=ticket, author=agent, body_text="Hello")
    with pytest.raises(SendError, match="no conversation"):
        deliver_message.run(tenant_a.pk, message_id=reply.pk)
    assert reply_state(tenant_a, reply).delivery_status == Message.Delivery.FAILED


def test_the_real_api_is_the_default(tenant_a):
    channel = make_channel(tenant_a, "feishu")
    assert channel.api_base == "https://open.feishu.cn"
    assert make_channel(tenant_a, "whatsapp").api_base == "https://graph.facebook.com/v21.0"


# --- Provider details -----------------------------------------------------------------------


def test_wechat_plaintext_mode_is_signed_over_token_timestamp_and_nonce(client, tenant_a):
    channel = make_channel(tenant_a, "wechat", encoding_aes_key="")
    now, nonce = str(int(time.time())), "99"
    query = urlencode({"signature": sha1_signature(channel.token, now, nonce), "timestamp": now,
                       "nonce": nonce, "openid": "oia2TjuEGTNoeX76QEjQNrcURxG8"})  # fmt: skip
    url = f"/channels/wechat/{channel.webhook_token}/?{query}"
    response = client.post(url, payload("wechat_text.xml"), content_type="text/xml",
                           HTTP_HOST=host_of(tenant_a))  # fmt: skip
    assert response.status_code == 200 and response.content == b"success"
    assert counts(tenant_a) == (1, 1, 1)


def test_wechat_safe_mode_channel_refuses_plaintext(client, tenant_a):
    channel = make_channel(tenant_a, "wechat")  # has an EncodingAESKey
    now = str(int(time.time()))
    query = urlencode({"signature": sha1_signature(channel.token, now, "1"), "timestamp": now,
                       "nonce": "1"})  # fmt: skip
    response = client.post(f"/channels/wechat/{channel.webhook_token}/?{query}",
                           payload("wechat_text.xml"), content_type="text/xml",
                           HTTP_HOST=host_of(tenant_a))  # fmt: skip
    assert response.status_code == 400 and "safe mode" in response.json()["error"]
    assert counts(tenant_a) == (0, 0, 0)


def test_wechat_media_is_noted_and_events_are_not_tickets(client, tenant_a):
    channel = make_channel(tenant_a, "wechat")
    event = post(client, tenant_a, channel, payload("wechat_subscribe.xml"))
    assert event.status_code == 200 and event.content == b"success"
    assert counts(tenant_a) == (0, 0, 0)
    assert post(client, tenant_a, channel, payload("wechat_image.xml")).status_code == 200
    with tenant_context(tenant_a):
        body = Message.objects.get().body_text
    assert "image" in body and "media_id_image_1" in body and "not downloaded" in body


def test_wechat_message_encrypted_for_another_app_is_refused(client, tenant_a):
    channel = make_channel(tenant_a, "wechat")
    other = MessagingChannel(
        provider="wechat",
        token=channel.token,
        app_id="wxOTHERAPP",
        encoding_aes_key=AES_KEY,
        webhook_token=channel.webhook_token,
    )
    query, body, _headers = signed(other, payload("wechat_text.xml"))
    response = client.post(f"/channels/wechat/{channel.webhook_token}/?{query}", body,
                           content_type="text/xml", HTTP_HOST=host_of(tenant_a))  # fmt: skip
    assert response.status_code == 403 and "another app" in response.json()["error"]


def test_xml_with_a_dtd_is_refused(client, tenant_a):
    channel = make_channel(tenant_a, "wechat", encoding_aes_key="")
    now = str(int(time.time()))
    query = urlencode({"signature": sha1_signature(channel.token, now, "1"), "timestamp": now,
                       "nonce": "1"})  # fmt: skip
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>'
    )
    response = client.post(f"/channels/wechat/{channel.webhook_token}/?{query}", bomb,
                           content_type="text/xml", HTTP_HOST=host_of(tenant_a))  # fmt: skip
    assert response.status_code == 400 and "DTD" in response.json()["error"]


def test_wecom_messages_for_another_agent_are_skipped(client, tenant_a):
    channel = make_channel(tenant_a, "wecom", account_id="1000099")
    assert post(client, tenant_a, channel, payload("wecom_text.xml")).status_code == 200
    assert counts(tenant_a) == (0, 0, 0)


def test_feishu_without_encrypt_key_checks_the_verification_token(client, tenant_a):
    channel = make_channel(tenant_a, "feishu", encoding_aes_key="")
    url = f"/channels/feishu/{channel.webhook_token}/"
    good = client.post(url, payload("feishu_message_receive.json"),
                       content_type="application/json", HTTP_HOST=host_of(tenant_a))  # fmt: skip
    assert good.status_code == 200
    forged = json.loads(payload("feishu_message_receive.json"))
    forged["header"]["token"] = "guessed"
    forged["event"]["message"]["message_id"] = "om_forged"
    bad = client.post(url, forged, content_type="application/json", HTTP_HOST=host_of(tenant_a))
    assert bad.status_code == 403
    assert counts(tenant_a) == (1, 1, 1)
    challenge = client.post(
        url,
        payload("feishu_url_verification.json"),
        content_type="application/json",
        HTTP_HOST=host_of(tenant_a),
    )
    assert challenge.json() == {"challenge": "ajls384kdjx98XX"}


def test_feishu_group_replies_go_to_the_chat(client, tenant_a, api):
    api.routes.update(SPECS["feishu"].routes)
    channel = make_channel(tenant_a, "feishu", api)
    event = json.loads(payload("feishu_message_receive.json"))
    event["event"]["message"]["chat_type"] = "group"
    assert post(client, tenant_a, channel, json.dumps(event).encode()).status_code == 200
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        reply = services.ticket_reply(ticket=Ticket.objects.get(), author=agent, body_text="Hi")
    assert deliver_message.run(tenant_a.pk, message_id=reply.pk) == "sent"
    [request] = api.sent()
    assert request["query"] == {"receive_id_type": ["chat_id"]}
    assert request["json"]["receive_id"] == "oc_5ce6d572455d361153b7xx51da133945"


def test_whatsapp_status_updates_and_messenger_echoes_are_not_messages(client, tenant_a):
    whatsapp = make_channel(tenant_a, "whatsapp")
    assert post(client, tenant_a, whatsapp, payload("whatsapp_status.json")).status_code == 200
    messenger = make_channel(tenant_a, "messenger")
    assert post(client, tenant_a, messenger, payload("messenger_echo.json")).status_code == 200
    assert counts(tenant_a) == (0, 0, 0)


def test_whatsapp_messages_for_another_number_are_skipped(client, tenant_a):
    channel = make_channel(tenant_a, "whatsapp", account_id="999")
    assert post(client, tenant_a, channel, payload("whatsapp_text.json")).status_code == 200
    assert counts(tenant_a) == (0, 0, 0)


def test_telegram_group_messages_are_answered_in_the_group(client, tenant_a, api):
    api.routes.update(SPECS["telegram"].routes)
    channel = make_channel(tenant_a, "telegram", api)
    update = json.loads(payload("telegram_message.json"))
    update["message"]["chat"] = {"id": -1001234567890, "type": "supergroup", "title": "Shop"}
    update["message"]["photo"] = [
        {"file_id": "small", "width": 90, "height": 90},
        {"file_id": "AgACAgQAAxk", "width": 800, "height": 800},
    ]
    assert post(client, tenant_a, channel, json.dumps(update).encode()).status_code == 200
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        message = Message.objects.get()
        assert "AgACAgQAAxk" in message.body_text and "not downloaded" in message.body_text
        assert ContactIdentity.objects.get().value == "1111111"  # the user, not the group
        reply = services.ticket_reply(ticket=message.ticket, author=agent, body_text="Hi")
    deliver_message.run(tenant_a.pk, message_id=reply.pk)
    assert api.sent()[0]["json"] == {"chat_id": -1001234567890, "text": "Hi"}


def test_dingtalk_group_conversation_replies_to_the_group(client, tenant_a, api):
    api.routes.update(SPECS["dingtalk"].routes)
    api.routes["/v1.0/robot/groupMessages/send"] = (200, {"processQueryKey": "dt-group-1"})
    channel = make_channel(tenant_a, "dingtalk", api)
    message = json.loads(payload("dingtalk_text.json"))
    message["conversationType"] = "2"
    assert post(client, tenant_a, channel, json.dumps(message).encode()).status_code == 200
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        reply = services.ticket_reply(ticket=Ticket.objects.get(), author=agent, body_text="Hi")
    deliver_message.run(tenant_a.pk, message_id=reply.pk)
    [request] = api.sent()
    assert request["path"] == "/v1.0/robot/groupMessages/send"
    assert request["json"]["openConversationId"] == "cidqO7Ne7e+myoRu67AguW7ig=="
    assert "sessionWebhook" not in json.dumps(api.requests)  # never called


def test_long_replies_are_split_for_the_provider():
    parts = chunks("line one\n" + "x" * 25 + "\nlast", 10)
    assert all(len(part) <= 10 for part in parts)
    assert "".join(parts).replace("\n", "") == ("line one" + "x" * 25 + "last")

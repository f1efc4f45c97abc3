"""WeChat Customer Service (微信客服) end to end: the callback URL check and the encrypted, signed
callback (good, bad, missing, stale); the callback enqueues a pull on commit and nothing else;
the pull, against the local stand-in for the provider's API (tests/channels_in/test_messaging.py's
`api`), ingests only customers' messages, follows has_more, saves the cursor page by page, takes
turns per channel and is harmless twice; agents' replies go to kf/send_msg; and one callback
pulled by a real Celery worker."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from celery.exceptions import Retry
from django.db import connections

from channels_in.messaging import wechat_kf_sync
from channels_in.messaging.base import SendError
from channels_in.messaging.models import MessagingChannel, MessagingThread
from channels_in.messaging.wechat import WXCrypt, sha1_signature
from channels_in.messaging.wechat_kf_sync import lock_key, wechat_kf_sync_task
from channels_in.models import InboundKey
from helpdesk.tenancy.context import tenant_context
from tests.channels_in.test_messaging import api  # noqa: F401 - the fake provider API fixture
from tests.factories import MembershipFactory
from tests.helpers import host_of, task_callbacks
from tests.worker import celery_worker, smtp_sink
from tickets import services
from tickets.models import ContactIdentity, Message, Ticket
from tickets.tasks import deliver_message

pytestmark = pytest.mark.django_db

PAYLOADS = Path(__file__).parent / "payloads"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_ID = "ww1234567890abcdef"
KF = "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"  # the open_kfid in the samples
ALICE = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"  # two customers' external_userid
BOB = "wmAJ2GCAAAqvXjB3uFA7CCyW6sNWrOHA"
TOKEN = "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"  # the callback's Token
CURSOR_1, CURSOR_2 = "4gw7MepFLfgF2VC5npN", "5hx8NfqGMgG3WD6oqO"
SYNC, SEND, TOKEN_PATH = "/cgi-bin/kf/sync_msg", "/cgi-bin/kf/send_msg", "/cgi-bin/gettoken"
REPLY = "We are on it: a new printer ships today."
FIELDS = {"app_id": CORP_ID, "app_secret": "kf-secret", "token": "kf-callback-token",
          "encoding_aes_key": AES_KEY, "account_id": KF}  # fmt: skip


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def page(name: str) -> tuple[int, dict]:
    return 200, json.loads(payload(name))


LAST_PAGE = (200, {"errcode": 0, "errmsg": "ok", "next_cursor": CURSOR_2, "has_more": 0,
                   "msg_list": []})  # fmt: skip
ROUTES = {
    TOKEN_PATH: (200, {"errcode": 0, "errmsg": "ok", "access_token": "KF-TOKEN",
                       "expires_in": 7200}),
    "/cgi-bin/kf/customer/batchget": (200, {
        "errcode": 0, "errmsg": "ok", "invalid_external_userid": [BOB],
        "customer_list": [{"external_userid": ALICE, "nickname": "张三", "gender": 1,
                           "avatar": "http://wx.qlogo.cn/x", "unionid": "oxasdaosaosdasd"}]}),
    SEND: (200, {"errcode": 0, "errmsg": "ok", "msgid": "kf-reply-1"}),
}  # fmt: skip


class KFRoutes(dict):
    """The fake API's routes, with kf/sync_msg answered by the request's cursor (FakeAPI records
    a request before it looks up the answer) and `queued` answers used up first, in order."""

    def __init__(self, fake) -> None:
        super().__init__(ROUTES)
        self.fake = fake
        self.pages = {"": page("wechat_kf_sync_page1.json"),
                      CURSOR_1: page("wechat_kf_sync_page2.json"), CURSOR_2: LAST_PAGE}  # fmt: skip
        self.queued: dict[str, list[tuple[int, dict]]] = {}

    def get(self, path, default=None):
        if self.queued.get(path):
            return self.queued[path].pop(0)
        if path == SYNC:
            cursor = (self.fake.requests[-1]["json"] or {}).get("cursor", "")
            return self.pages.get(cursor, (400, {"errcode": 40001, "errmsg": "bad cursor"}))
        return super().get(path, default)


@pytest.fixture
def kf(api):  # noqa: F811 - the imported fixture
    api.routes = KFRoutes(api)
    return api


@pytest.fixture
def enqueued(monkeypatch) -> list:
    """The pulls enqueued (task.delay calls), instead of sending them to Redis."""
    calls: list = []
    recorder = SimpleNamespace(delay=lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.setattr(wechat_kf_sync, "wechat_kf_sync_task", recorder)
    return calls


def make_channel(tenant, fake=None, **extra) -> MessagingChannel:
    with tenant_context(tenant):
        return MessagingChannel.objects.create(
            provider="wechat_kf", name="KF desk", api_base=fake.base if fake else "",
            **{**FIELDS, **extra},
        )  # fmt: skip


def signed(channel: MessagingChannel, body: bytes, *, at: float | None = None,
           wrong: bool = False) -> tuple[dict, bytes]:  # fmt: skip
    """(query, body) as WeCom sends a KF callback: encrypted, msg_signature over the sorted
    Token, timestamp, nonce and <Encrypt>."""
    timestamp, nonce = str(int(time.time() if at is None else at)), "1320562132"
    encrypt = WXCrypt(channel.encoding_aes_key, channel.app_id).encrypt(body)
    outer = (f"<xml><ToUserName><![CDATA[{channel.app_id}]]></ToUserName>"
             f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
             "<AgentID><![CDATA[]]></AgentID></xml>")  # fmt: skip
    token = "not-the-token" if wrong else channel.token
    query = {"msg_signature": sha1_signature(token, timestamp, nonce, encrypt),
             "timestamp": timestamp, "nonce": nonce}  # fmt: skip
    return query, outer.encode()


def post(client, tenant, channel, body: bytes | None = None, *, query: dict | None = None,
         **sign):  # fmt: skip
    signed_query, data = signed(channel, body or payload("wechat_kf_event.xml"), **sign)
    query = signed_query if query is None else query
    url = f"/channels/wechat_kf/{channel.webhook_token}/?{urlencode(query)}"
    return client.post(url, data, content_type="text/xml", HTTP_HOST=host_of(tenant))


def pull(tenant, channel, token: str = TOKEN) -> str:
    return wechat_kf_sync_task.run(tenant.pk, channel_id=channel.pk, token=token)


def counts(tenant) -> tuple[int, int, int]:
    with tenant_context(tenant):
        return (Ticket.objects.count(), Message.objects.filter(direction="in").count(),
                InboundKey.objects.count())  # fmt: skip


def saved_cursor(tenant, channel) -> str:
    with tenant_context(tenant):
        return MessagingChannel.objects.get(pk=channel.pk).sync_cursor


def ticket_of(external_userid: str) -> Ticket:
    contact_id = ContactIdentity.objects.get(kind="wechat_kf", value=external_userid).contact_id
    return Ticket.objects.select_related("requester").get(requester_id=contact_id)


def requests_to(fake, path: str) -> list[dict]:
    return [r for r in fake.requests if r["path"] == path]


# --- Callbacks ------------------------------------------------------------------------------


def test_the_url_check_answers_the_decrypted_echostr(client, tenant_a):
    channel = make_channel(tenant_a)
    now, url = str(int(time.time())), f"/channels/wechat_kf/{channel.webhook_token}/"
    echostr = WXCrypt(AES_KEY, CORP_ID).encrypt(b"1616140317555161061")
    query = {"msg_signature": sha1_signature(channel.token, now, "4711", echostr),
             "timestamp": now, "nonce": "4711", "echostr": echostr}  # fmt: skip
    response = client.get(url, query, HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 200 and response.content == b"1616140317555161061"
    query["msg_signature"] = sha1_signature("not-the-token", now, "4711", echostr)
    refused = client.get(url, query, HTTP_HOST=host_of(tenant_a))
    assert refused.status_code == 403 and b"1616140317555161061" not in refused.content


def test_a_callback_enqueues_one_pull_on_commit_and_ingests_nothing(
    client, tenant_a, enqueued, django_capture_on_commit_callbacks
):
    channel = make_channel(tenant_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, tenant_a, channel)
    assert response.status_code == 200 and response.content == b""
    assert len(task_callbacks(callbacks)) == 1
    assert enqueued == [((tenant_a.pk,), {"channel_id": channel.pk, "token": TOKEN})]
    assert counts(tenant_a) == (0, 0, 0)


@pytest.mark.parametrize(
    ("sign", "status", "error"),
    [({"wrong": True}, 403, "msg_signature"), ({"age": 310}, 403, "replay"),
     ({"age": -310}, 403, "replay"), (None, 400, "Expected msg_signature")],
    ids=["bad", "stale", "future", "missing"],
)  # fmt: skip
def test_an_unsigned_or_badly_signed_callback_is_refused(
    client, tenant_a, enqueued, django_capture_on_commit_callbacks, sign, status, error
):
    channel = make_channel(tenant_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        if sign is None:
            response = post(client, tenant_a, channel, query={})
        elif "age" in sign:  # signed that many seconds ago (or ahead)
            response = post(client, tenant_a, channel, at=time.time() - sign["age"])
        else:
            response = post(client, tenant_a, channel, **sign)
    assert response.status_code == status and error in response.json()["error"]
    assert task_callbacks(callbacks) == [] and enqueued == []


def test_a_callback_body_that_is_not_encrypted_is_refused(client, tenant_a, enqueued):
    channel = make_channel(tenant_a)
    query, _body = signed(channel, payload("wechat_kf_event.xml"))
    url = f"/channels/wechat_kf/{channel.webhook_token}/?{urlencode(query)}"
    response = client.post(url, payload("wechat_kf_event.xml"), content_type="text/xml",
                           HTTP_HOST=host_of(tenant_a))  # fmt: skip
    assert response.status_code == 400 and enqueued == []


def test_a_callback_for_another_kf_account_pulls_nothing(client, tenant_a, enqueued):
    channel = make_channel(tenant_a, account_id="wkOTHERACCOUNT")
    assert post(client, tenant_a, channel).status_code == 200
    other_event = payload("wechat_kf_event.xml").replace(b"kf_msg_or_event", b"other_event")
    assert post(client, tenant_a, make_channel(tenant_a), other_event).status_code == 200
    assert enqueued == []


def test_another_tenants_channel_token_is_404(client, tenant_a, tenant_b, enqueued):
    channel = make_channel(tenant_a)
    response = post(client, tenant_b, channel)
    assert response.status_code == 404 and response.json()["error"]
    paused = make_channel(tenant_a, is_active=False)
    assert post(client, tenant_a, paused).status_code == 404
    assert enqueued == []


# --- The pull -------------------------------------------------------------------------------


def test_the_pull_ingests_customers_messages_over_two_pages(tenant_a, kf):
    channel = make_channel(tenant_a, kf)
    assert pull(tenant_a, channel) == "ingested 4 from 2 page(s)"
    syncs = requests_to(kf, SYNC)
    body = {"token": TOKEN, "limit": 1000, "voice_format": 0, "open_kfid": KF}
    assert [r["json"] for r in syncs] == [{"cursor": "", **body}, {"cursor": CURSOR_1, **body}]
    assert {r["method"] for r in syncs} == {"POST"}
    assert all(r["query"] == {"access_token": ["KF-TOKEN"]} for r in syncs)
    [token] = requests_to(kf, TOKEN_PATH)
    assert token["query"] == {"corpid": [CORP_ID], "corpsecret": ["kf-secret"]}
    lookups = requests_to(kf, "/cgi-bin/kf/customer/batchget")
    assert [r["json"] for r in lookups] == [
        {"external_userid_list": ids, "need_enter_session_context": 0}
        for ids in ([ALICE], [ALICE, BOB])
    ]
    assert saved_cursor(tenant_a, channel) == CURSOR_2
    with tenant_context(tenant_a):
        alice, bob = ticket_of(ALICE), ticket_of(BOB)
        bodies = list(alice.messages.order_by("id").values_list("body_text", flat=True))
        [bob_body] = bob.messages.values_list("body_text", flat=True)
        thread = MessagingThread.objects.get(ticket=alice)
        assert Ticket.objects.count() == 2 and InboundKey.objects.count() == 4
        assert {m.external_id for m in Message.objects.all()} == {
            f"from_msgid_462241664216945248{n}" for n in (3, 6, 7, 8)}  # fmt: skip
    assert alice.channel == "wechat_kf" and alice.requester.name == "张三"
    assert bob.requester.name == BOB  # batchget did not know this one
    assert bodies[0] == "我的订单还没到" and bodies[2] == "订单号 20240501"
    assert "an image" in bodies[1] and "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw" in bodies[1]
    assert "not downloaded" in bodies[1]
    assert "Location: 广州国际媒体港(广州市海珠区) 广东省广州市海珠区滨江东路" in bob_body
    assert "23.10647" in bob_body
    assert not any("这里是客服" in text for text in [*bodies, bob_body])  # origin 5: a servicer
    assert (thread.channel_id, thread.identity, thread.reply_to) == (
        channel.pk, ALICE, f"{KF}|{ALICE}")  # fmt: skip


def test_pulling_the_same_pages_again_adds_nothing(tenant_a, kf):
    channel = make_channel(tenant_a, kf)
    pull(tenant_a, channel)
    assert counts(tenant_a) == (2, 4, 4)
    assert pull(tenant_a, channel) == "ingested 0 from 1 page(s)"  # from the saved cursor
    assert requests_to(kf, SYNC)[-1]["json"]["cursor"] == CURSOR_2
    with tenant_context(tenant_a):  # as if the cursor had never been saved
        MessagingChannel.objects.filter(pk=channel.pk).update(sync_cursor="")
    assert pull(tenant_a, channel) == "ingested 0 from 2 page(s)"
    assert counts(tenant_a) == (2, 4, 4)


def test_a_failed_page_keeps_the_pages_before_it(tenant_a, kf):
    kf.routes.pages[CURSOR_1] = (500, {"errcode": -1, "errmsg": "system busy"})
    channel = make_channel(tenant_a, kf)
    with pytest.raises(SendError, match="HTTP 500"):
        pull(tenant_a, channel)  # a worker retries it later
    assert saved_cursor(tenant_a, channel) == CURSOR_1
    assert counts(tenant_a) == (1, 2, 2)  # page 1: the text and the image
    kf.routes.pages[CURSOR_1] = page("wechat_kf_sync_page2.json")
    assert pull(tenant_a, channel) == "ingested 2 from 1 page(s)"
    assert requests_to(kf, SYNC)[-1]["json"]["cursor"] == CURSOR_1
    assert counts(tenant_a) == (2, 4, 4)


def test_a_long_backlog_continues_in_a_new_task(tenant_a, kf, enqueued, monkeypatch):
    monkeypatch.setattr(wechat_kf_sync, "MAX_PAGES", 1)
    channel = make_channel(tenant_a, kf)
    assert pull(tenant_a, channel) == "ingested 2 from 1 page(s) (more waiting)"
    assert enqueued == [((tenant_a.pk,), {"channel_id": channel.pk, "token": TOKEN})]
    assert saved_cursor(tenant_a, channel) == CURSOR_1


def test_an_expired_access_token_is_fetched_again_once(tenant_a, kf):
    kf.routes.queued[SYNC] = [(200, {"errcode": 42001, "errmsg": "access_token expired"})]
    channel = make_channel(tenant_a, kf)
    assert pull(tenant_a, channel) == "ingested 4 from 2 page(s)"
    assert len(requests_to(kf, TOKEN_PATH)) == 2 and len(requests_to(kf, SYNC)) == 3


def test_a_channel_for_all_kf_accounts_pulls_them_all_with_one_cursor(tenant_a, kf):
    channel = make_channel(tenant_a, kf, account_id="")
    assert pull(tenant_a, channel) == "ingested 4 from 2 page(s)"
    assert all("open_kfid" not in r["json"] for r in requests_to(kf, SYNC))
    with tenant_context(tenant_a):
        assert MessagingThread.objects.filter(reply_to=f"{KF}|{ALICE}").count() == 1


def test_a_channel_for_one_kf_account_skips_the_others(tenant_a, kf):
    channel = make_channel(tenant_a, kf, account_id="wkOTHERACCOUNT")
    assert pull(tenant_a, channel) == "ingested 0 from 2 page(s)"
    assert requests_to(kf, SYNC)[0]["json"]["open_kfid"] == "wkOTHERACCOUNT"
    assert counts(tenant_a) == (0, 0, 0)


@pytest.mark.django_db(databases=["default", "owner"])
def test_a_pull_while_another_runs_is_retried_after_it(tenant_a, kf):
    channel = make_channel(tenant_a, kf)
    with connections["owner"].cursor() as other:  # another session is pulling this channel
        other.execute("SELECT pg_advisory_lock(%s, %s)", lock_key(channel.pk))
        try:
            with pytest.raises(Retry):
                pull(tenant_a, channel)
        finally:
            other.execute("SELECT pg_advisory_unlock(%s, %s)", lock_key(channel.pk))
    assert requests_to(kf, SYNC) == []
    assert pull(tenant_a, channel) == "ingested 4 from 2 page(s)"  # the lock was let go


def test_a_paused_or_deleted_channel_is_not_pulled(tenant_a, kf):
    channel = make_channel(tenant_a, kf, is_active=False)
    assert pull(tenant_a, channel) == "skipped"
    assert wechat_kf_sync_task.run(tenant_a.pk, channel_id=999999, token=TOKEN) == "skipped"
    assert kf.requests == []


# --- Replies --------------------------------------------------------------------------------


@pytest.fixture
def replied(tenant_a, kf):
    """Alice's ticket (pulled) with an agent's reply waiting to be sent."""

    def make(text: str = REPLY, **extra) -> tuple[MessagingChannel, Message]:
        channel = make_channel(tenant_a, kf, **extra)
        pull(tenant_a, channel)
        agent = MembershipFactory(tenant=tenant_a).user
        with tenant_context(tenant_a):
            reply = services.ticket_reply(ticket=ticket_of(ALICE), author=agent, body_text=text)
        return channel, reply

    return make


def reply_state(tenant, reply: Message) -> Message:
    with tenant_context(tenant):
        return Message.objects.get(pk=reply.pk)


def test_an_agents_reply_goes_to_kf_send_msg(tenant_a, kf, replied):
    _channel, reply = replied()
    assert deliver_message.run(tenant_a.pk, message_id=reply.pk) == "sent"
    [request] = requests_to(kf, SEND)
    assert (request["method"], request["query"]) == ("POST", {"access_token": ["KF-TOKEN"]})
    assert request["json"] == {"touser": ALICE, "open_kfid": KF, "msgtype": "text",
                               "text": {"content": REPLY}}  # fmt: skip
    sent = reply_state(tenant_a, reply)
    assert sent.delivery_status == Message.Delivery.SENT and sent.external_id == "kf-reply-1"
    assert deliver_message.run(tenant_a.pk, message_id=reply.pk) == "skipped"  # never twice


def test_a_long_reply_is_sent_in_parts(tenant_a, kf, replied):
    _channel, reply = replied("第一行\n" + "长" * 700)
    assert deliver_message.run(tenant_a.pk, message_id=reply.pk) == "sent"
    parts = [r["json"]["text"]["content"] for r in requests_to(kf, SEND)]
    assert len(parts) > 1 and all(len(part) <= 600 for part in parts)  # each counts to the 5
    assert "".join(parts).replace("\n", "") == "第一行" + "长" * 700


@pytest.mark.parametrize(
    ("answer", "error"),
    [((500, {"errcode": -1, "errmsg": "system busy"}), "HTTP 500"),
     ((200, {"errcode": 95001, "errmsg": "send msg count limit"}), "at most 5 messages"),
     ((200, {"errcode": 95018, "errmsg": "send msg session status invalid"}), "state"),
     ((200, {"errcode": 95000, "errmsg": "invalid open_kfid"}), "95000 invalid open_kfid")],
    ids=["http-500", "five-messages", "session-state", "other-refusal"],
)  # fmt: skip
def test_a_provider_refusal_is_a_failed_delivery(tenant_a, kf, replied, answer, error):
    _channel, reply = replied()
    kf.routes[SEND] = answer
    with pytest.raises(SendError, match=error):
        deliver_message.run(tenant_a.pk, message_id=reply.pk)  # a worker would retry later
    failed = reply_state(tenant_a, reply)
    assert failed.delivery_status == Message.Delivery.FAILED and failed.delivery_attempts == 1
    assert error in failed.delivery_error
    if answer[0] == 200:
        assert str(answer[1]["errcode"]) in failed.delivery_error


def test_the_real_api_is_the_default(tenant_a):
    assert make_channel(tenant_a).api_base == "https://qyapi.weixin.qq.com"


# --- Through a real worker ------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_a_callback_is_pulled_by_a_real_worker(client, tenant_a, kf, tmp_path, monkeypatch):
    # The worker is another process: it may call the fake API only with its host allowed.
    (tmp_path / "kf_worker_settings.py").write_text(
        "from helpdesk.settings import *  # noqa: F403\n"
        "HELPDESK_MESSAGING_API_HOSTS = ['127.0.0.1']\n"
    )
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "kf_worker_settings")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    )
    channel = make_channel(tenant_a, kf)
    with smtp_sink() as (_sink, port), celery_worker(port):
        assert post(client, tenant_a, channel).status_code == 200
        deadline = time.monotonic() + 60
        while counts(tenant_a)[2] < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # a stray second pull would have ingested by now
    assert counts(tenant_a) == (2, 4, 4)
    assert saved_cursor(tenant_a, channel) == CURSOR_2
    assert [r["json"]["token"] for r in requests_to(kf, SYNC)] == [TOKEN, TOKEN]


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_the_periodic_pull_covers_every_active_channel_of_every_tenant(tenant_a, tenant_b):
    """The beat task sends one pull per active channel, in the channel's tenant: read back from
    the real Redis queue (no worker here, so the messages wait there)."""
    import base64
    import json

    from django.conf import settings

    from channels_in.messaging.models import MessagingChannel
    from channels_in.messaging.wechat_kf_sync import sync_all_wechat_kf
    from helpdesk.celery import app
    from helpdesk.tenancy.context import tenant_context

    made = []
    for tenant, active in ((tenant_a, True), (tenant_b, True), (tenant_b, False)):
        with tenant_context(tenant):
            made.append(MessagingChannel.objects.create(
                provider="wechat_kf", name="KF", app_id="ww1", app_secret="s", token="t",
                encoding_aes_key="a" * 43, is_active=active,
                api_base="http://127.0.0.1:9"))  # fmt: skip
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)
        assert sync_all_wechat_kf() == 2
        client = connection.default_channel.client
        sent = []
        while (raw := client.rpop(queue)) is not None:
            message = json.loads(raw)
            args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            sent.append((message["headers"]["task"], args[0], kwargs))
    task = "channels_in.messaging.wechat_kf_sync.wechat_kf_sync_task"
    assert sorted(sent) == sorted([(task, tenant_a.pk, {"channel_id": made[0].pk}),
                                   (task, tenant_b.pk, {"channel_id": made[1].pk})])  # fmt: skip

"""Live chat endpoints: config and hours, CORS, a conversation onto one chat ticket, agents'
replies seen by polling (notes never), transcripts, the offline form, tenancy."""

from __future__ import annotations

import json
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from channels_in import chat
from channels_in.models import ChatSession, ChatSettings
from helpdesk.tenancy.context import tenant_context
from tests.helpers import host_of, task_callbacks
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
SITE = "https://shop.example"
ALWAYS = {"days": "0,1,2,3,4,5,6", "opens_at": time(0, 0), "closes_at": time(23, 59, 59)}


@pytest.fixture
def open_chat(tenant_a):
    with tenant_context(tenant_a):
        return ChatSettings.objects.create(allowed_origins=f"{SITE}\n", **ALWAYS)


def call(client, tenant, path, body=None, origin=SITE, ip="192.0.2.1"):
    headers = {"HTTP_HOST": host_of(tenant), "HTTP_ORIGIN": origin, "REMOTE_ADDR": ip}
    url = f"/channels/chat/{path}"
    if body is None:
        return client.get(url, **headers)
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_hours_follow_the_tenant_time_zone(tenant_a):
    with tenant_context(tenant_a):
        settings = ChatSettings(days="0,1,2,3,4", opens_at=time(9), closes_at=time(18))
        zone = ZoneInfo(tenant_a.timezone)
        assert chat.is_open(settings, datetime(2026, 12, 2, 10, 0, tzinfo=zone))  # Wednesday
        assert not chat.is_open(settings, datetime(2026, 12, 2, 18, 0, tzinfo=zone))
        assert not chat.is_open(settings, datetime(2026, 12, 5, 10, 0, tzinfo=zone))  # Saturday
        settings.enabled = False
        assert not chat.is_open(settings, datetime(2026, 12, 2, 10, 0, tzinfo=zone))


def test_config_answers_allowed_sites_with_cors_and_refuses_others(client, tenant_a, open_chat):
    ok = call(client, tenant_a, "config/")
    assert ok.status_code == 200 and ok.json()["online"] is True
    assert ok["Access-Control-Allow-Origin"] == SITE
    preflight = client.options("/channels/chat/start/", HTTP_HOST=host_of(tenant_a),
                               HTTP_ORIGIN=SITE)  # fmt: skip
    assert preflight.status_code == 204 and "POST" in preflight["Access-Control-Allow-Methods"]
    refused = call(client, tenant_a, "config/", origin="https://evil.example")
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused


def test_a_conversation_is_one_chat_ticket_and_sees_replies_but_never_notes(
    client, tenant_a, open_chat, agent
):
    started = call(client, tenant_a, "start/", {"text": "Where is my order?", "name": "Wei",
                                                "client_id": "c1"})  # fmt: skip
    assert started.status_code == 201
    token, number = started.json()["session"], started.json()["ticket"]
    assert started.json()["messages"][0]["from"] == "visitor"
    posted = call(client, tenant_a, f"{token}/messages/", {"text": "Order 8841", "client_id": "c2"})
    retried = call(
        client, tenant_a, f"{token}/messages/", {"text": "Order 8841", "client_id": "c2"}
    )
    assert posted.status_code == 201 and retried.json()["duplicate"] is True
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get(number=number)
        assert ticket.channel == Ticket.Channel.CHAT and ticket.messages.count() == 2
        services.ticket_add_note(ticket=ticket, author=agent, body_text="secret internal note")
        services.ticket_reply(ticket=ticket, author=agent, body_text="It ships today.")
    after = started.json()["messages"][0]["id"]
    polled = call(client, tenant_a, f"{token}/messages/?after={after}").json()["messages"]
    assert [(m["from"], m["text"]) for m in polled] == [("visitor", "Order 8841"),
                                                         ("agent", "It ships today.")]  # fmt: skip
    assert "secret" not in json.dumps(polled)


def test_empty_and_overlong_messages_are_refused_clearly(client, tenant_a, open_chat):
    assert call(client, tenant_a, "start/", {"text": "  "}).json()["error"]
    long = call(client, tenant_a, "start/", {"text": "x" * 5001})
    assert long.status_code == 400 and "5000" in long.json()["error"]


def test_offline_hours_turn_the_widget_into_a_message_form(client, tenant_a):
    with tenant_context(tenant_a):
        ChatSettings.objects.create(allowed_origins=SITE, days="", opens_at=time(9),
                                    closes_at=time(10))  # fmt: skip
    assert call(client, tenant_a, "config/").json()["online"] is False
    no_email = call(client, tenant_a, "offline/", {"text": "Call me back"})
    assert no_email.status_code == 400
    left = call(client, tenant_a, "offline/", {"text": "Call me back", "email": "li@example.cn"})
    assert left.status_code == 201
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get(number=left.json()["ticket"])
        assert ticket.requester.email == "li@example.cn"


def test_transcript_is_emailed_on_request(client, tenant_a, open_chat, agent,
                                          django_capture_on_commit_callbacks):  # fmt: skip
    token = call(client, tenant_a, "start/", {"text": "Hello", "email": "wei@example.cn"}).json()[
        "session"
    ]
    with tenant_context(tenant_a):
        session = ChatSession.objects.get(token=token)
        services.ticket_reply(ticket=session.ticket, author=agent, body_text="Hi Wei!")
    with django_capture_on_commit_callbacks() as callbacks:
        response = call(client, tenant_a, f"{token}/transcript/", {})
    assert response.status_code == 202 and response.json()["sent_to"] == "wei@example.cn"
    assert len(task_callbacks(callbacks)) == 1  # queued for a worker, on commit
    task_kwargs = {"session_id": session.pk, "email": "wei@example.cn"}
    chat.send_transcript.apply(args=[tenant_a.pk], kwargs=task_kwargs)
    sent = [m for m in mail.outbox if m.to == ["wei@example.cn"]]
    assert len(sent) == 1 and "Hi Wei!" in sent[0].body and "Hello" in sent[0].body


def test_a_session_token_is_useless_on_another_tenant(client, tenant_a, tenant_b, open_chat):
    token = call(client, tenant_a, "start/", {"text": "Hello"}).json()["session"]
    with tenant_context(tenant_b):
        ChatSettings.objects.create(allowed_origins=SITE, **ALWAYS)
    assert call(client, tenant_b, f"{token}/messages/").status_code == 404
    assert call(client, tenant_b, f"{token}/messages/", {"text": "x"}).status_code == 404


def test_chat_switched_off_answers_nothing(client, tenant_a):
    with tenant_context(tenant_a):
        ChatSettings.objects.create(enabled=False, allowed_origins=SITE)
    assert call(client, tenant_a, "config/").status_code == 404

"""Outbound replies end to end: a reply posted on the ticket page is emailed by a REAL Celery
worker to a real SMTP sink with the threading headers mail clients need; a failing SMTP server
marks it failed with the error on the page, and "Retry now" delivers it once the server is back."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from tests.factories import ContactFactory, MembershipFactory, make_ticket
from tests.helpers import sign_in
from tests.worker import celery_worker, free_port, smtp_sink
from tickets.models import Message, Ticket, TicketEvent

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]
CUSTOMER_ID = "<abc@customer.test>"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def email_ticket(tenant_a):
    requester = ContactFactory(
        tenant=tenant_a, name="Carla Customer", email="carla@customer.test", user=None
    )
    return make_ticket(
        tenant_a, requester=requester, subject="Printer on fire", channel=Ticket.Channel.EMAIL,
        external_id=CUSTOMER_ID,
    )  # fmt: skip


def wait_for_status(tenant, message_id: int, status: str, timeout: float = 30.0) -> Message:
    deadline = time.monotonic() + timeout
    while True:
        with tenant_context(tenant):
            message = Message.objects.get(pk=message_id)
        if message.delivery_status == status or time.monotonic() > deadline:
            return message
        time.sleep(0.2)


def test_reply_is_delivered_with_threading_headers(client, tenant_a, email_ticket):
    agent = MembershipFactory(tenant=tenant_a, user__full_name="Alex Agent").user
    sign_in(client, agent, tenant_a)
    with smtp_sink() as (sink, port), celery_worker(port):
        response = client.post(
            reverse("tickets:reply", kwargs={"number": email_ticket.number}),
            {"kind": "reply", "body": "We sent a technician.", "set_status": "pending"},
        )
        assert response.status_code == 302
        [mail] = sink.wait_for(1)
    with tenant_context(tenant_a):
        reply = Message.objects.get(ticket=email_ticket, direction="out")
    assert reply.delivery_status == Message.Delivery.SENT and reply.sent_at is not None
    assert mail["Message-ID"] == reply.external_id
    assert f".t{email_ticket.number}.m{reply.pk}@alpha." in reply.external_id
    assert mail["In-Reply-To"] == CUSTOMER_ID
    assert CUSTOMER_ID in mail["References"]
    assert f"[#{email_ticket.number}]" in mail["Subject"]
    assert mail["Subject"].startswith("Re: Printer on fire")
    assert "carla@customer.test" in mail["To"]
    assert mail["Auto-Submitted"] == "no"
    text = (mail.get_payload()[0] if mail.is_multipart() else mail).get_payload(decode=True)
    assert b"We sent a technician." in text
    page = client.get(reverse("tickets:detail", kwargs={"number": email_ticket.number}))
    assert "Emailed to carla@customer.test" in page.content.decode()


def test_failed_delivery_is_shown_and_retry_delivers_it_once(client, tenant_a, email_ticket):
    agent = MembershipFactory(tenant=tenant_a).user
    sign_in(client, agent, tenant_a)
    detail = reverse("tickets:detail", kwargs={"number": email_ticket.number})
    closed_port = free_port()  # nothing listens there: the SMTP connection is refused
    with celery_worker(closed_port):
        client.post(
            reverse("tickets:reply", kwargs={"number": email_ticket.number}),
            {"kind": "reply", "body": "Second try will work."},
        )
        with tenant_context(tenant_a):
            reply = Message.objects.get(ticket=email_ticket, direction="out")
        failed = wait_for_status(tenant_a, reply.pk, Message.Delivery.FAILED)
    assert failed.delivery_status == Message.Delivery.FAILED
    assert failed.delivery_error  # e.g. "ConnectionRefusedError: [Errno 111] Connection refused"
    page = client.get(detail).content.decode()
    assert "Not delivered." in page and failed.delivery_error.split(":")[0] in page
    retry = reverse(
        "tickets:retry_delivery", kwargs={"number": email_ticket.number, "message_id": reply.pk}
    )
    assert retry in page
    with smtp_sink() as (sink, port), celery_worker(port):
        response = client.post(retry, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        messages = sink.wait_for(1)
        sent = wait_for_status(tenant_a, reply.pk, Message.Delivery.SENT)
        time.sleep(1.0)  # a duplicate would arrive by now
        assert len(messages) == 1
    assert sent.delivery_status == Message.Delivery.SENT and sent.delivery_error == ""
    assert "Second try will work." in messages[0].as_string()
    with tenant_context(tenant_a):
        assert TicketEvent.objects.filter(ticket=email_ticket, kind="delivery_retried").exists()
    page = client.get(detail).content.decode()
    assert "Not delivered." not in page

"""Classification in the pipeline, through a REAL Celery worker: a mail received by
channels_in.email.receive_email is classified before routing (a routing rule on the inquiry
type sees it), and the "classified" event is on the timeline."""

from __future__ import annotations

import time
from email.header import Header

import pytest

from channels_in.email import receive_email
from helpdesk.tenancy.context import tenant_context
from tests.worker import celery_worker, smtp_sink
from tickets.automation.models import AutomationJob, RoutingRule
from tickets.models import Ticket, TicketEvent
from tickets.views.ticket import event_text

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]

SUBJECT = Header("投诉：快递员态度太差", "utf-8").encode()
RAW = (
    f"From: 李娜 <li.na@example.cn>\r\nTo: support@alpha.localhost\r\nSubject: {SUBJECT}\r\n"
    "Message-ID: <classify-1@example.cn>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "包裹被扔在门口，外箱都压扁了。这已经是第二次了！\r\n"
).encode()


def test_a_new_mail_is_classified_by_the_worker_before_routing(tenant_a):
    with tenant_context(tenant_a):
        RoutingRule.objects.create(
            name="Complaints first",
            conditions=[{"field": "category", "op": "in", "value": ["complaint"]}],
            actions=[{"action": "set_priority", "value": "high"}],
        )
    with smtp_sink() as (_sink, port), celery_worker(port):
        with tenant_context(tenant_a):
            inbound = receive_email(RAW, via="smtp")
        assert inbound.status == "processed", inbound.error
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with tenant_context(tenant_a):
                if not AutomationJob.objects.filter(done_at__isnull=True).exists():
                    break
            time.sleep(0.2)
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get()
        assert AutomationJob.objects.filter(done_at__isnull=True).count() == 0
        assert (ticket.category, ticket.topic) == ("complaint", "shipping")
        assert ticket.priority == "high"  # the routing rule saw the category set just before
        found = ticket.classification
        assert found["type"]["source"] == "rules" and "投诉" in found["type"]["words"]
        assert found["topic"]["label"] == "shipping"
        event = TicketEvent.objects.get(ticket=ticket, kind="classified")
        assert event.reason == "keyword rules" and event.actor is None
        routed = TicketEvent.objects.get(ticket=ticket, kind="routed")
        assert event.pk < routed.pk
        text = event_text(event, {}, {})
    assert text.startswith("Automation classified the ticket: Inquiry type set to Complaint")
    assert "Topic set to Shipping and returns" in text

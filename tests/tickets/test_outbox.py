"""Nothing is lost: a reply whose delivery task never reached Redis, or whose worker died while
sending, is found by the beat sweep and delivered by a real worker, exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from tests.factories import ContactFactory, make_ticket
from tests.worker import celery_worker, smtp_sink
from tickets.models import Message, Ticket
from tickets.services import ticket_reply
from tickets.tasks import sweep_outbox

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]


def test_lost_and_stuck_replies_are_delivered_once(tenant_a, agent):
    requester = ContactFactory(tenant=tenant_a, email="cust@example.test", user=None)
    ticket = make_ticket(tenant_a, requester=requester, channel=Ticket.Channel.EMAIL)
    with tenant_context(tenant_a):
        # Commit the replies without their tasks (as if Redis were down at commit time).
        lost = Message.objects.create(
            ticket=ticket, direction="out", channel="email", body_text="lost one",
            author_user=agent, delivery_status="pending",
        )  # fmt: skip
        stuck = Message.objects.create(
            ticket=ticket, direction="out", channel="email", body_text="stuck one",
            author_user=agent, delivery_status="sending",
        )  # fmt: skip
        long_ago = timezone.now() - timedelta(hours=1)
        Message.objects.filter(pk__in=[lost.pk, stuck.pk]).update(delivery_changed_at=long_ago)
    with smtp_sink() as (sink, port), celery_worker(port):
        assert sweep_outbox() == 2
        messages = sink.wait_for(2)
        assert sweep_outbox() == 0
        bodies = sorted(
            (m.get_payload()[0] if m.is_multipart() else m).get_payload().strip() for m in messages
        )
        assert bodies == ["lost one", "stuck one"]
    with tenant_context(tenant_a):
        states = dict(
            Message.objects.filter(pk__in=[lost.pk, stuck.pk]).values_list("pk", "delivery_status")
        )
    assert states == {lost.pk: "sent", stuck.pk: "sent"}


def test_fresh_pending_reply_is_left_to_its_own_task(tenant_a, agent):
    ticket = make_ticket(tenant_a, channel=Ticket.Channel.EMAIL)
    with tenant_context(tenant_a):
        ticket_reply(ticket=ticket, author=agent, body_text="just queued")
    assert sweep_outbox() == 0

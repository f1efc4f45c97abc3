"""Mail stored but never processed (the process died between storing and processing) is
finished by the beat sweep and a real worker, once; fresh mail is left to its own run."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_in.email import _store
from channels_in.models import InboundEmail
from channels_in.tasks import sweep_inbound
from helpdesk.tenancy.context import tenant_context
from tests.worker import celery_worker, smtp_sink
from tickets.models import Ticket

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]

RAW = (
    b"From: Li Na <li.na@example.cn>\r\nTo: support@alpha.localhost\r\nSubject: Stranded\r\n"
    b"Message-ID: <stranded-1@example.cn>\r\n\r\nStored, then the worker died.\r\n"
)


def test_stranded_mail_is_processed_once_by_the_sweep(tenant_a):
    with tenant_context(tenant_a):
        stranded = _store(RAW, via="smtp", mailbox=None)  # stored; processing never ran
        fresh = _store(RAW.replace(b"stranded-1", b"fresh-1"), via="smtp", mailbox=None)
        InboundEmail.objects.filter(pk=stranded.pk).update(
            received_at=timezone.now() - timedelta(minutes=10)
        )
    with smtp_sink() as (_sink, port), celery_worker(port):
        assert sweep_inbound() == 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with tenant_context(tenant_a):
                if InboundEmail.objects.get(pk=stranded.pk).status != "received":
                    break
            time.sleep(0.2)
        assert sweep_inbound() == 0
    with tenant_context(tenant_a):
        assert InboundEmail.objects.get(pk=stranded.pk).status == "processed"
        assert InboundEmail.objects.get(pk=fresh.pk).status == "received"  # not stale yet
        assert Ticket.objects.filter(subject="Stranded").count() == 1

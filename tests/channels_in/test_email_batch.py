"""`receive_emails`: a mailbox's batch in two transactions, with the same outcome per message
as `receive_email` one at a time — broken mail flagged, duplicates caught (also inside one
batch), and a failure half-way through writing costing the other messages nothing."""

from __future__ import annotations

import pytest

from channels_in import email as email_channel
from channels_in.email import receive_email, receive_emails
from channels_in.models import InboundEmail, InboundKey
from helpdesk.tenancy.context import tenant_context
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def mail(n: int, subject: str | None = None, *, reply_to: int | None = None) -> bytes:
    thread = f"In-Reply-To: <batch-{reply_to}@example.cn>\r\n" if reply_to is not None else ""
    return (
        f"From: Customer {n} <c{n}@example.cn>\r\nTo: support@alpha.localhost\r\n"
        f"Subject: {subject or f'Batch {n}'}\r\nMessage-ID: <batch-{n}@example.cn>\r\n{thread}"
        f"\r\nBody of message {n}.\r\n"
    ).encode()


BROKEN = b"\xff\xfe this is not an email at all"


def statuses(rows: list[InboundEmail]) -> list[str]:
    return [row.status for row in rows]


def test_a_batch_ends_as_one_at_a_time_would(tenant_a):
    first = mail(1)
    batch = [first, mail(2), BROKEN, first, mail(3, "Re: Batch 1", reply_to=1)]
    with tenant_context(tenant_a):
        rows = receive_emails(batch, via=InboundEmail.Via.IMAP)
        assert statuses(rows) == ["processed", "processed", "failed", "duplicate", "processed"]
        assert [InboundEmail.objects.get(pk=row.pk).status for row in rows] == statuses(rows)
        assert "no headers" in rows[2].error
        # The copy inside the batch is recognised by its idempotency key: one message only.
        assert Message.objects.filter(external_id="<batch-1@example.cn>").count() == 1
        assert rows[3].message_id == rows[0].message_id
        # The reply threads onto the ticket that the same batch opened.
        assert rows[4].ticket_id == rows[0].ticket_id
        assert rows[4].thread_reason.startswith("replied to message")
        assert Ticket.objects.count() == 2
        # Delivered again, batch by batch: nothing new.
        again = receive_emails([mail(2), first], via=InboundEmail.Via.IMAP)
        assert statuses(again) == ["duplicate", "duplicate"]
        assert Message.objects.count() == 3


def test_a_failure_while_writing_redoes_the_batch_one_by_one(tenant_a, monkeypatch):
    real_ingest = email_channel.ingest

    def ingest_failing_on_poison(inbound, **kwargs):
        result = real_ingest(inbound, **kwargs)  # writes first, then fails: a real rollback
        if inbound.subject == "Poison":
            raise RuntimeError("constraint violated half-way")
        return result

    monkeypatch.setattr(email_channel, "ingest", ingest_failing_on_poison)
    with tenant_context(tenant_a):
        rows = receive_emails([mail(1), mail(2, "Poison"), mail(3)], via=InboundEmail.Via.IMAP)
        assert statuses(rows) == ["processed", "failed", "processed"]
        assert "constraint violated half-way" in rows[1].error
        assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Batch 1", "Batch 3"]
        # The poisoned message's writes are gone with its rollback; its key is free again.
        assert not InboundKey.objects.filter(key__startswith="<batch-2@").exists()
        monkeypatch.setattr(email_channel, "ingest", real_ingest)
        retried = email_channel.process(InboundEmail.objects.get(pk=rows[1].pk))
        assert retried.status == "retried" and retried.ticket.subject == "Poison"


def test_single_and_batch_paths_agree(tenant_a, tenant_b):
    raws = [mail(n) for n in range(6)] + [BROKEN, mail(7, "Re", reply_to=3)]
    with tenant_context(tenant_a):
        one_by_one = [receive_email(raw, via="imap") for raw in raws]
        seen_a = sorted(Ticket.objects.values_list("subject", "status"))
    with tenant_context(tenant_b):
        batched = receive_emails(raws, via="imap")
        seen_b = sorted(Ticket.objects.values_list("subject", "status"))
    assert statuses(one_by_one) == statuses(batched)
    assert [r.thread_reason for r in one_by_one] == [r.thread_reason for r in batched]
    assert seen_a == seen_b

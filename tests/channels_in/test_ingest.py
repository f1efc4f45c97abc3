"""channels_in.ingest: idempotency, contacts by channel identity, threading rules, closed
tickets, refused attachments. Through the real services and database, as the channels call it."""

from __future__ import annotations

import pytest

from channels_in.inbound import InboundAttachment, InboundMessage
from channels_in.ingest import ingest
from channels_in.models import ChannelSettings, InboundKey
from helpdesk.tenancy.context import tenant_context
from tests.factories import ContactFactory, TenantFactory, make_ticket
from tickets import services
from tickets.models import Contact, ContactIdentity, Message, Ticket, TicketLink
from tickets.outbound import reply_address, ticket_number_from_address

pytestmark = pytest.mark.django_db


def email(key: str, *, sender: str = "wang@example.cn", **kw) -> InboundMessage:
    kw.setdefault("subject", "Help")
    kw.setdefault("text", "Hi")
    return InboundMessage(
        channel=Ticket.Channel.EMAIL, key=key, identity_kind="email", identity=sender,
        email=sender, **kw,
    )  # fmt: skip


def test_new_conversation_opens_a_ticket_for_a_new_contact(tenant_a):
    with tenant_context(tenant_a):
        result = ingest(email("<1@x>|d1", sender="New.Person@Example.CN", sender_name="Li Na"))
        assert result.created and not result.duplicate
        assert result.ticket.requester.email == "new.person@example.cn"
        assert result.ticket.requester.name == "Li Na"
        assert result.message.direction == Message.Direction.IN
        assert result.reason == "new conversation"
        assert result.ticket.events.filter(kind="created", data__channel="email").exists()


def test_same_key_twice_writes_nothing_the_second_time(tenant_a):
    with tenant_context(tenant_a):
        first = ingest(email("<dup@x>|same"))
        again = ingest(email("<dup@x>|same", text="a retry of the same delivery"))
        assert again.duplicate and again.message.pk == first.message.pk
        assert Message.objects.count() == 1 and InboundKey.objects.count() == 1


def test_keys_are_per_tenant(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        ingest(email("<shared@x>|d"))
    with tenant_context(tenant_b):
        result = ingest(email("<shared@x>|d"))
        assert result.created and Ticket.objects.count() == 1


def test_reply_to_our_message_id_threads(tenant_a):
    ticket = make_ticket(tenant_a, subject="Order 1")
    with tenant_context(tenant_a):
        ours = ticket.messages.get()
        Message.objects.filter(pk=ours.pk).update(external_id="<t1.m1@alpha.localhost>")
        result = ingest(email("<r@x>|d", sender="someone@else.cn",
                              references=["<unknown@x>", "<t1.m1@alpha.localhost>"]))  # fmt: skip
        assert not result.created and result.ticket.pk == ticket.pk
        assert "replied to message" in result.reason


def test_signed_reply_address_threads_and_a_forged_one_does_not(tenant_a):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        address = reply_address(ticket)
        assert ticket_number_from_address(address) == ticket.number
        forged = address.replace(address.split(".")[1][:10], "aaaaaaaaaa")
        assert ticket_number_from_address(forged) is None
        result = ingest(email("<a@x>|d", ticket_number=ticket_number_from_address(address)))
        assert result.ticket.pk == ticket.pk and result.reason == "reply address of the ticket"
    with tenant_context(TenantFactory(slug="other")):
        assert ticket_number_from_address(address) is None  # signed per tenant


def test_subject_number_threads_only_for_participants(tenant_a):
    requester = ContactFactory(tenant=tenant_a, email="owner@example.cn", user=None)
    ticket = make_ticket(tenant_a, requester=requester)
    with tenant_context(tenant_a):
        theirs = ingest(email("<q1@x>|d", sender="owner@example.cn",
                              subject_number=ticket.number))  # fmt: skip
        assert theirs.ticket.pk == ticket.pk and "participant" in theirs.reason
        stranger = ingest(email("<q2@x>|d", sender="stranger@evil.cn",
                                subject_number=ticket.number))  # fmt: skip
        assert stranger.created and stranger.ticket.pk != ticket.pk
        assert Message.objects.filter(ticket=ticket).count() == 2  # the first and the owner's


def test_a_merged_ticket_stands_for_the_one_it_was_merged_into(tenant_a, agent):
    source, target = make_ticket(tenant_a), make_ticket(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_merge(source=source, target=target, actor=agent)
        result = ingest(email("<m@x>|d", ticket_number=source.number))
        assert result.ticket.pk == target.pk


def _closed(tenant, agent) -> Ticket:
    ticket = make_ticket(tenant)
    with tenant_context(tenant):
        services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.SOLVED)
        services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.CLOSED)
    return ticket


def test_reply_to_a_closed_ticket_opens_a_linked_follow_up_by_default(tenant_a, agent):
    closed = _closed(tenant_a, agent)
    with tenant_context(tenant_a):
        result = ingest(email("<c@x>|d", ticket_number=closed.number))
        assert result.created and result.ticket.pk != closed.pk
        assert TicketLink.objects.filter(ticket=result.ticket, other=closed).exists()
        assert Ticket.objects.get(pk=closed.pk).status == Ticket.Status.CLOSED


def test_reply_to_a_closed_ticket_reopens_it_when_the_tenant_says_so(tenant_a, agent):
    closed = _closed(tenant_a, agent)
    with tenant_context(tenant_a):
        ChannelSettings.objects.create(closed_reply=ChannelSettings.ClosedReply.REOPEN)
        result = ingest(email("<c@x>|d", ticket_number=closed.number))
        assert result.ticket.pk == closed.pk
        assert Ticket.objects.get(pk=closed.pk).status == Ticket.Status.OPEN


def test_refused_attachments_become_a_note_and_the_message_is_kept(tenant_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    files = [
        InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.4 ok"),
        InboundAttachment("setup.exe", "application/octet-stream", b"MZ..."),
        InboundAttachment("huge.zip", "application/zip", b"0" * (2 * 1024 * 1024)),
    ]
    with tenant_context(tenant_a):
        ChannelSettings.objects.create(max_attachment_mb=1)
        result = ingest(email("<att@x>|d", text="See attached", attachments=files))
        message = result.message
        assert [a.filename for a in message.attachments.all()] == ["invoice.pdf"]
        assert "See attached" in message.body_text
        assert "setup.exe" in message.body_text and "huge.zip" in message.body_text


def test_chat_identity_makes_one_contact_and_reuses_it(tenant_a):
    def chat(key: str) -> InboundMessage:
        return InboundMessage(
            channel=Ticket.Channel.CHAT, key=key, identity_kind="chat", identity="visitor-42",
            sender_name="Visitor", text="hello",
        )  # fmt: skip

    with tenant_context(tenant_a):
        first, second = ingest(chat("m1")), ingest(chat("m2"))
        assert first.ticket.requester_id == second.ticket.requester_id
        assert ContactIdentity.objects.filter(kind="chat", value="visitor-42").count() == 1
        assert Contact.objects.count() == 1

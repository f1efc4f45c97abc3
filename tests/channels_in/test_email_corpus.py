"""The inbound email pipeline against a corpus of real-world-shaped raw messages.

Each file in corpus/ has a dict in corpus/expected.py. Two tests per file:
- test_parse: channels_in.email_parse.parse_email on the bytes (placeholders filled with fixed
  fake values; no database);
- test_receive: channels_in.email.receive_email(raw, via="command") inside tenant_context, after
  creating whatever the case needs (a ticket with our outbound reply, a closed ticket, channel
  settings, an earlier delivery), then what was stored: the InboundEmail row, tickets, messages,
  attachments, links, delivery status and bounced addresses.

A case carrying xfail_parse / xfail_receive documents a known pipeline bug (strict xfail).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from channels_in.email import receive_email, to_inbound
from channels_in.email_parse import EmailParseError, parse_email
from channels_in.models import BouncedAddress, ChannelSettings, InboundEmail
from helpdesk.tenancy.context import tenant_context
from tests.channels_in.corpus.expected import CASES, REQUESTER
from tests.factories import ContactFactory, make_ticket
from tickets.models import Attachment, Message, Ticket, TicketLink
from tickets.outbound import message_id_for, reply_address, support_address

CORPUS = Path(__file__).parent / "corpus"
MB = 1024 * 1024
OUTCOMES = {"new", "threaded", "followup", "reopened", "duplicate", "bounce", "kept", "failed"}
NEW_TICKET = {"new", "followup"}
REPLY_MESSAGE = {"new", "threaded", "followup", "reopened"}


def _domain() -> str:
    return f"alpha.{django_settings.HELPDESK_BASE_DOMAIN}"


def fake_values() -> dict[str, str]:
    """Placeholder values for parse-only checks (no tenant, no ticket)."""
    return {
        "{{TICKET}}": "42",
        "{{OUR_MESSAGE_ID}}": f"<t42.m7.fake@{_domain()}>",
        "{{REPLY_ADDRESS}}": f"support+t42.abcdefghij@{_domain()}",
        "{{SUPPORT}}": f"support@{_domain()}",
    }


def fill(value, values: dict[str, str]):
    """`value` (a str, bytes, list or dict from expected.py) with the placeholders filled in."""
    if isinstance(value, bytes):
        for key, replacement in values.items():
            value = value.replace(key.encode(), replacement.encode())
        return value
    if isinstance(value, str):
        for key, replacement in values.items():
            value = value.replace(key, replacement)
        return value
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    return value


def load(name: str, values: dict[str, str]) -> bytes:
    raw = fill((CORPUS / name).read_bytes(), values)
    assert b"{{" not in raw, f"{name}: a placeholder was not filled in"
    return raw


def lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def params(kind: str) -> list:
    result = []
    for case in CASES:
        reason = case.get(f"xfail_{kind}")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        result.append(pytest.param(case, id=case["file"].removesuffix(".eml"), marks=marks))
    return result


# --- The corpus itself ---------------------------------------------------------------------


def test_every_file_has_exactly_one_expectation():
    files = sorted(path.name for path in CORPUS.glob("*.eml"))
    described = [case["file"] for case in CASES]
    assert len(described) == len(set(described)), "a file is described twice"
    assert sorted(described) == files
    assert len(files) >= 45


def test_expectations_are_well_formed():
    for case in CASES:
        assert case["outcome"] in OUTCOMES or case["outcome"] is None, case["file"]
        assert ("parse_error" in case) == (case["outcome"] == "failed"), case["file"]
        if "parse_error" not in case:
            assert case["sender"], case["file"]
        if case.get("deliver_first"):
            assert any(c["file"] == case["deliver_first"] for c in CASES), case["file"]


# --- parse_email ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", params("parse"))
def test_parse(case):
    values = fake_values()
    raw = load(case["file"], values)
    case = fill(case, values)
    limit = case.get("max_attachment_mb", 20) * MB

    if "parse_error" in case:
        with pytest.raises(EmailParseError, match=case["parse_error"]):
            parse_email(raw, max_attachment_bytes=limit)
        return

    parsed = parse_email(raw, max_attachment_bytes=limit)

    assert parsed.sender == case["sender"]
    for key in ("sender_name", "subject", "message_id", "in_reply_to", "references"):
        if key in case:
            assert getattr(parsed, key) == case[key], key

    text = lf(parsed.text)
    if "text" in case:
        assert text == lf(case["text"])
    for fragment in case.get("text_contains", []):
        assert lf(fragment) in text
    for fragment in case.get("text_excludes", []):
        assert fragment not in text
    for fragment in case.get("text_once", []):
        assert text.count(fragment) == 1, fragment

    if "html" in case:
        assert parsed.html == case["html"]
    for fragment in case.get("html_contains", []):
        assert fragment in parsed.html
    for fragment in case.get("html_excludes", []):
        assert fragment not in parsed.html

    expected_attachments = case.get("attachments", [])
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        (a["filename"], a["content_type"]) for a in expected_attachments
    ]
    for got, want in zip(parsed.attachments, expected_attachments, strict=True):
        if "inline" in want:
            assert got.inline is want["inline"], got.filename
        if "content_id" in want:
            assert got.content_id == want["content_id"], got.filename
        if "size" in want:
            assert len(got.content) == want["size"], got.filename

    if case.get("notes", 0) is not None:
        assert len(parsed.notes) == case.get("notes", 0), parsed.notes
    for fragment in case.get("notes_contain", []):
        assert any(fragment in note for note in parsed.notes), fragment

    assert bool(parsed.auto_reason) is case.get("auto", False), parsed.auto_reason
    if "auto_reason_contains" in case:
        assert case["auto_reason_contains"] in parsed.auto_reason
    if case.get("bounce", False) is not None:
        assert parsed.is_bounce is case.get("bounce", False)
    for key in ("bounced_message_ids", "bounced_recipients"):
        if key in case:
            assert getattr(parsed, key) == case[key], key


# --- receive_email -------------------------------------------------------------------------


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _set_up(case, tenant) -> dict:
    """The ticket, outbound reply and settings a case needs; returns placeholder values."""
    with tenant_context(tenant):
        values = {"{{SUPPORT}}": support_address()}
        if "closed_reply" in case or "max_attachment_mb" in case:
            ChannelSettings.objects.create(
                closed_reply=case.get("closed_reply", ChannelSettings.ClosedReply.FOLLOW_UP),
                max_attachment_mb=case.get("max_attachment_mb", 20),
            )
    if not case.get("setup"):
        return values
    requester = ContactFactory(
        tenant=tenant, email=case.get("requester", REQUESTER), name="Li Lei", user=None
    )
    ticket = make_ticket(
        tenant,
        requester=requester,
        subject="Order 1001 not delivered",
        body="My order 1001 has not arrived.",
        channel=Ticket.Channel.EMAIL,
    )
    with tenant_context(tenant):
        ours = Message.objects.create(
            ticket=ticket,
            kind=Message.Kind.REPLY,
            direction=Message.Direction.OUT,
            channel=Ticket.Channel.EMAIL,
            body_text="We are looking into it.",
            delivery_status=Message.Delivery.SENT,
        )
        ours.external_id = message_id_for(ours)
        ours.save(update_fields=["external_id"])
        if case["setup"] == "closed_ticket":
            Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
        values.update(
            {
                "{{TICKET}}": str(ticket.number),
                "{{OUR_MESSAGE_ID}}": ours.external_id,
                "{{REPLY_ADDRESS}}": reply_address(ticket),
                "ticket": ticket,
                "ours": ours,
            }
        )
    return values


@pytest.mark.usefixtures("_media")
@pytest.mark.parametrize("case", params("receive"))
def test_receive(case, tenant_a):
    setup = _set_up(case, tenant_a)
    ticket = setup.pop("ticket", None)
    ours = setup.pop("ours", None)
    values = setup
    case = fill(case, values)
    first = None
    with tenant_context(tenant_a):
        if case.get("deliver_first"):
            first = receive_email(load(case["deliver_first"], values), via="command")
            assert first.status == InboundEmail.Status.PROCESSED, first.error
            assert first.message is not None
        raw = load(case["file"], values)
        tickets_before = Ticket.objects.count()
        messages_before = Message.objects.count()
        rows_before = InboundEmail.objects.count()

        stored = receive_email(raw, via="command")
        stored.refresh_from_db()

        assert InboundEmail.objects.count() == rows_before + 1
        assert bytes(stored.raw) == raw
        assert stored.size == len(raw)
        assert stored.via == InboundEmail.Via.COMMAND
        created = case.get("tickets_created", 1 if case["outcome"] in NEW_TICKET else 0)
        assert Ticket.objects.count() == tickets_before + created

        _check_outcome(case, stored, ticket=ticket, first=first, messages_before=messages_before)
        if case["outcome"] != "failed":
            _check_row(case, stored, raw)
        if case["outcome"] in REPLY_MESSAGE:
            _check_message(case, stored)
        assert sorted(BouncedAddress.objects.values_list("address", flat=True)) == sorted(
            case.get("bounced_addresses", [])
        )
        if ours is not None:
            ours.refresh_from_db()
            assert ours.delivery_status == case.get("outbound_status", "sent")
            if case.get("outbound_status") == "failed":
                assert ours.delivery_error.startswith("Bounced: ")
        if case.get("redeliver"):
            again = receive_email(raw, via="command")
            assert again.status == InboundEmail.Status.DUPLICATE
            assert again.ticket_id == stored.ticket_id
            assert again.message_id == stored.message_id
            assert again.thread_reason == "same bytes delivered again"
            assert Ticket.objects.count() == tickets_before + created


def _check_outcome(case, stored, *, ticket, first, messages_before) -> None:
    outcome = case["outcome"]
    if outcome == "failed":
        assert stored.status == InboundEmail.Status.FAILED
        assert case["error_contains"] in stored.error
        assert stored.ticket_id is None and stored.message_id is None
        assert Message.objects.count() == messages_before
        return
    if outcome is None:
        assert stored.status == InboundEmail.Status.PROCESSED, stored.error
        return
    if outcome == "duplicate":
        assert stored.status == InboundEmail.Status.DUPLICATE, stored.error
        assert stored.ticket_id == first.ticket_id
        assert stored.message_id == first.message_id
        assert Message.objects.count() == messages_before
    else:
        assert stored.status == InboundEmail.Status.PROCESSED, stored.error
    if "thread_reason_contains" in case:
        assert case["thread_reason_contains"] in stored.thread_reason
    if outcome == "kept":
        assert stored.ticket_id is None and stored.message_id is None
        assert Message.objects.count() == messages_before
        return
    assert stored.ticket_id is not None and stored.message_id is not None
    assert stored.message.ticket_id == stored.ticket_id
    if outcome == "duplicate":
        return
    assert Message.objects.count() == messages_before + 1
    if outcome == "bounce":
        assert stored.ticket_id == ticket.pk
        assert stored.message.kind == Message.Kind.NOTE
        assert stored.message.external_id == stored.header_message_id
        for fragment in case.get("body_contains", []):
            assert fragment in stored.message.body_text, fragment
        return
    assert stored.message.kind == Message.Kind.REPLY
    assert stored.message.direction == Message.Direction.IN
    if outcome == "new":
        assert ticket is None or stored.ticket_id != ticket.pk
        assert stored.ticket.messages.count() == 1
        if case.get("distinct_from_first"):
            assert stored.ticket_id != first.ticket_id
            assert stored.message_id != first.message_id
    elif outcome == "threaded":
        assert stored.ticket_id == ticket.pk
    elif outcome == "followup":
        assert stored.ticket_id != ticket.pk
        assert TicketLink.objects.filter(ticket=stored.ticket, other=ticket).exists()
        assert TicketLink.objects.filter(ticket=ticket, other=stored.ticket).exists()
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
    elif outcome == "reopened":
        assert stored.ticket_id == ticket.pk
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN


def _check_row(case, stored, raw) -> None:
    """The InboundEmail row describes the message, and the inbound shape flags automatic mail."""
    parsed = parse_email(raw, max_attachment_bytes=case.get("max_attachment_mb", 20) * MB)
    assert stored.sender == case["sender"]
    assert stored.header_message_id == parsed.message_id
    if "subject" in case:
        assert stored.subject == case["subject"]
    assert stored.is_auto is case.get("auto", False)
    assert to_inbound(parsed).is_automatic is case.get("auto", False)
    assert stored.error == ""
    if case.get("notes", 0):
        assert len([line for line in stored.notes.splitlines() if line]) == case["notes"]


def _check_message(case, stored) -> None:
    message = stored.message
    assert message.author_contact is not None
    assert message.author_contact.email.lower() == case.get("author", case["sender"])
    body = lf(message.body_text)
    if "body_text" in case:
        assert body == lf(case["body_text"])
    for fragment in case.get("body_contains", []):
        assert lf(fragment) in body, fragment
    for fragment in case.get("body_excludes", []):
        assert fragment not in body, fragment
    for fragment in case.get("body_html_contains", []):
        assert fragment in message.body_html, fragment
    for fragment in case.get("body_html_excludes", []):
        assert fragment not in message.body_html, fragment
    expected = case.get("stored_attachments", [a["filename"] for a in case.get("attachments", [])])
    stored_names = list(
        Attachment.objects.filter(message=message).order_by("id").values_list("filename", flat=True)
    )
    assert stored_names == expected
    if "ticket_subject" in case:
        assert stored.ticket.subject == case["ticket_subject"]
    if case["outcome"] in NEW_TICKET:
        assert stored.ticket.requester_id == message.author_contact_id
        assert stored.ticket.channel == Ticket.Channel.EMAIL

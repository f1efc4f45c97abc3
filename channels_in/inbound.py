"""What every channel adapter hands to `channels_in.ingest.ingest`: one shape for email, web
forms, chat and messaging apps."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool = False
    content_id: str = ""  # an inline image's Content-ID, referenced as cid:… in the HTML


@dataclass
class InboundMessage:
    channel: str  # a tickets.Ticket.Channel value
    key: str  # idempotency key, unique within the channel for the tenant
    identity_kind: str  # a tickets.ContactIdentity.Kind value: how we know the sender
    identity: str  # the sender's address or id in that channel
    sender_name: str = ""
    subject: str = ""
    text: str = ""
    reply_text: str = ""  # `text` without quoted history, used when it continues a ticket
    html: str = ""  # already sanitised
    attachments: list[InboundAttachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # dropped parts etc., shown as a note
    external_id: str = ""  # Message-ID / provider id, stored on the Message
    # Threading hints, strongest first (see channels_in.ingest.find_ticket):
    references: list[str] = field(default_factory=list)  # Message-IDs this replies to
    ticket_number: int | None = None  # proven by the channel (signed reply address, chat)
    subject_number: int | None = None  # [#123] in a subject: only for the ticket's people
    participants: list[str] = field(default_factory=list)  # To/Cc: who else is on the thread
    email: str = ""  # the sender's email when the channel knows it (web form, chat)
    language: str = ""
    is_automatic: bool = False  # auto-replies, bulk mail: never answered automatically
    mailbox_id: int | None = None  # the tenant mailbox it arrived in (routing conditions)

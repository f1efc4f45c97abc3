"""Live chat: the widget's conversations, through the ingest pipeline like every channel.

A visitor starts a chat (a `ChatSession` with a random token, and a chat ticket); each message
they send is ingested onto that ticket (the session proves the ticket); agents answer from the
ticket page with ordinary public replies, which the widget polls for. Outside chat hours the
widget becomes a message form: the message opens a ticket answered by email.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.resolve import tenant_base_url
from helpdesk.tenancy.tasks import enqueue_on_commit, tenant_task
from tickets.models import ContactIdentity, Message, Ticket
from tickets.outbound import support_address

from .inbound import InboundMessage
from .ingest import IngestResult, ingest
from .models import ChatSession, ChatSettings

MAX_TEXT = 5000
POLL_LIMIT = 100


class ChatError(ValueError):
    pass


def chat_settings() -> ChatSettings:
    found = ChatSettings.objects.first()
    return found if found is not None else ChatSettings()


def is_open(chat: ChatSettings, now: datetime | None = None) -> bool:
    """Whether agents answer live now (the tenant's time zone, the configured days and hours)."""
    local = timezone.localtime(now or timezone.now(), ZoneInfo(require_current_tenant().timezone))
    days = {int(d) for d in chat.days.split(",") if d.strip().isdigit()}
    opens, closes = _time(chat.opens_at), _time(chat.closes_at)
    return chat.enabled and local.weekday() in days and opens <= local.time() < closes


def _time(value: time | str) -> time:
    """Model defaults are strings until the row has been saved and read back."""
    return time.fromisoformat(value) if isinstance(value, str) else value


def origin_allowed(origin: str, chat: ChatSettings) -> bool:
    """The tenant's own site, and the origins its admins listed, may embed the widget."""
    origin = origin.strip().rstrip("/").lower()
    if not origin:
        return False
    own = tenant_base_url(require_current_tenant()).rstrip("/").lower()
    return origin == own or origin in chat.origins()


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ChatError(_("Write a message first."))
    if len(text) > MAX_TEXT:
        raise ChatError(_("Messages are limited to %(n)d characters.") % {"n": MAX_TEXT})
    return text


def chat_start(*, text: str, name: str = "", email: str = "", origin: str = "",
               client_id: str = "") -> ChatSession:  # fmt: skip
    """A new conversation: a contact (by email when given, else a chat identity) and a chat
    ticket with the first message."""
    text = _clean(text)
    token = secrets.token_urlsafe(24)
    visitor = f"visitor-{token[:16]}"
    result = ingest(_inbound(text=text, key=f"chat:{token}:{client_id or 'start'}", name=name,
                             email=email, visitor=visitor, subject=text))  # fmt: skip
    return ChatSession.objects.create(
        token=token, contact=result.ticket.requester, ticket=result.ticket,
        visitor_email=email.strip().lower(), origin=origin[:200],
    )  # fmt: skip


def chat_post(*, session: ChatSession, text: str, client_id: str = "") -> IngestResult:
    """The visitor's next message: onto the session's ticket (retries with the same
    `client_id` are one message)."""
    text = _clean(text)
    key = f"chat:{session.token}:{client_id or secrets.token_hex(8)}"
    identity = session.visitor_email or _visitor_identity(session)
    result = ingest(_inbound(text=text, key=key, name=session.contact.name,
                             email=session.visitor_email, visitor=identity,
                             ticket_number=session.ticket.number))  # fmt: skip
    if result.ticket.pk != session.ticket_id:  # a closed ticket gave way to a follow-up
        ChatSession.objects.filter(pk=session.pk).update(ticket=result.ticket)
        session.ticket = result.ticket
    return result


def _visitor_identity(session: ChatSession) -> str:
    identity = (
        ContactIdentity.objects.filter(contact=session.contact, kind=ContactIdentity.Kind.CHAT)
        .values_list("value", flat=True)
        .first()
    )
    return identity or f"visitor-{session.token[:16]}"


def _inbound(*, text: str, key: str, name: str, email: str, visitor: str,
             subject: str = "", ticket_number: int | None = None) -> InboundMessage:  # fmt: skip
    email = email.strip().lower()
    return InboundMessage(
        channel=Ticket.Channel.CHAT,
        key=key,
        identity_kind=ContactIdentity.Kind.EMAIL if email else ContactIdentity.Kind.CHAT,
        identity=email or visitor,
        sender_name=name.strip()[:150] or _("Chat visitor"),
        subject=" ".join(subject.split())[:80],
        text=text,
        email=email,
        ticket_number=ticket_number,
    )


def chat_messages(*, session: ChatSession, after: int = 0) -> list[dict]:
    """The conversation's public messages after id `after`, oldest first (internal notes
    never leave the help desk)."""
    rows = (
        Message.objects.filter(ticket_id=session.ticket_id, kind=Message.Kind.REPLY, id__gt=after)
        .select_related("author_user")
        .order_by("id")[:POLL_LIMIT]
    )
    return [
        {
            "id": m.pk,
            "from": "visitor" if m.direction == Message.Direction.IN else "agent",
            "name": m.author_user.get_full_name().split(" ")[0] if m.author_user else "",
            "text": m.body_text,
            "at": m.created_at.isoformat(),
        }
        for m in rows
    ]


def chat_offline_message(*, text: str, email: str, name: str = "") -> IngestResult:
    """Outside chat hours: the widget's message form opens a ticket answered by email."""
    if not email.strip():
        raise ChatError(_("Leave your email address so we can answer."))
    text = _clean(text)
    return ingest(_inbound(text=text, key=f"chat-offline:{secrets.token_hex(12)}", name=name,
                           email=email, visitor="", subject=text))  # fmt: skip


def chat_transcript_request(*, session: ChatSession, email: str = "") -> str:
    """Queue the transcript by email (to the address given, else the visitor's)."""
    address = (email or session.visitor_email).strip().lower()
    if not address or "@" not in address:
        raise ChatError(_("Which email address should the transcript go to?"))
    enqueue_on_commit(send_transcript, session_id=session.pk, email=address)
    return address


@tenant_task()
def send_transcript(*, session_id: int, email: str) -> int:
    session = ChatSession.objects.select_related("ticket").filter(pk=session_id).first()
    if session is None:
        return 0
    tenant = require_current_tenant()
    lines = []
    for row in chat_messages(session=session):
        who = _("You") if row["from"] == "visitor" else (row["name"] or tenant.name)
        lines.append(f"{who}: {row['text']}")
    body = _("Your chat with %(name)s (request #%(n)s):") % {
        "name": tenant.name, "n": session.ticket.number,
    } + "\n\n" + "\n\n".join(lines) + f"\n\n{tenant_base_url(tenant)}/"  # fmt: skip
    EmailMessage(
        subject=_("Transcript of your chat [#%(n)s]") % {"n": session.ticket.number},
        body=body,
        from_email=support_address(),
        to=[email],
        headers={"Auto-Submitted": "auto-generated"},
    ).send()
    return len(lines)


def widget_config(chat: ChatSettings) -> dict:
    tenant = require_current_tenant()
    return {
        "enabled": chat.enabled,
        "online": is_open(chat),
        "title": chat.title or tenant.name,
        "greeting": chat.greeting or _("Hi! How can we help?"),
        "language": tenant.default_language,
        "poll_ms": getattr(settings, "HELPDESK_CHAT_POLL_MS", 1500),
    }

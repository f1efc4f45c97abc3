"""The acknowledgement a customer gets when their ticket is opened (DESIGN.md §5, loop-safe).

    acknowledge(job, ticket, facts) -> Message | None     (in the pipeline, for "created")

What it says comes from the tenant's AutoReply templates (Settings › Auto-replies), the most
specific active one for the ticket's channel and language. Besides the placeholders of
triggers ({{ ticket.number }}, {{ requester.name }} …) a template may hold:
- {{ sla.first_response }}: when to expect the first answer, from the SLA policy that applies
  and its business calendar: "We aim to answer within 2 business hours, by Mon 3 Dec 11:00."
  or, out of hours, "We are closed until Monday 09:00; …";
- {{ kb.articles }}: up to three knowledge-base articles matching the request (deflection),
  from whichever suggester is registered in ARTICLE_SUGGESTERS (the knowledge app registers
  its search there); without one the line is left out;
- {{ request_url }}: the customer's follow link (tickets.portal.follow_url): opens this one
  request in the portal, to read and reply, without an account; valid 30 days.

Never sent when: the message came from a machine (Auto-Submitted, Precedence bulk/list/junk,
mailer-daemon, our own addresses: `facts.automatic`); the requester's address bounces; the
requester already got an auto-reply in the last MIN_INTERVAL (a loop with an autoresponder
that does not mark itself); the channel cannot carry it (chat has its own greeting). Each
decision, sent or not, is on the timeline. The message goes out as "Auto-Submitted:
auto-replied" (tickets.outbound), so well-behaved systems do not answer it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.tasks import enqueue_on_commit
from tickets.models import Message, Ticket

from .models import AutomationJob, AutoReply
from .rules import Facts

logger = logging.getLogger(__name__)
MIN_INTERVAL = timedelta(minutes=10)  # per requester: at most one auto-reply in this window
EXTRA_PLACEHOLDERS = ("sla.first_response", "kb.articles", "request_url")
_EXTRA = re.compile(r"\{\{\s*(sla\.first_response|kb\.articles|request_url)\s*\}\}")
NO_AUTO_REPLY_CHANNELS = {Ticket.Channel.CHAT, Ticket.Channel.PHONE, Ticket.Channel.API}


@dataclass(frozen=True)
class Suggestion:
    title: str
    url: str


# Callables (text, language, limit) -> list[Suggestion]; the knowledge app appends its search.
ARTICLE_SUGGESTERS: list[Callable[[str, str, int], list[Suggestion]]] = []


def template_for(channel: str, language: str) -> AutoReply | None:
    """The most specific active template: channel and language, channel, language, any."""
    exact_language = Q(language=language) if language else Q(pk__in=[])
    return (
        AutoReply.objects.filter(is_active=True)
        .filter(Q(channel=channel) | Q(channel=""))
        .filter(exact_language | Q(language=""))
        .annotate(
            rank=Case(
                When(~Q(channel=""), then=Value(2)), default=Value(0), output_field=IntegerField()
            )
            + Case(
                When(~Q(language=""), then=Value(1)), default=Value(0), output_field=IntegerField()
            )
        )  # fmt: skip
        .order_by("-rank", "id")
        .first()
    )


def acknowledge(job: AutomationJob, ticket: Ticket, facts: Facts) -> Message | None:
    """Send the acknowledgement for a new ticket, or record why not. Inside the job."""
    if job.event != AutomationJob.Event.CREATED:
        return None
    channel = ticket.channel
    if channel in NO_AUTO_REPLY_CHANNELS:
        return None
    from .jobs import per_batch

    template = per_batch(("auto-reply", channel, ticket.language),
                         lambda: template_for(channel, ticket.language))  # fmt: skip
    if template is None:
        return None  # the tenant sends no acknowledgements on this channel
    why_not = _why_not(ticket, facts)
    if why_not:
        _record(ticket, "auto_reply_skipped", why_not, template)
        return None
    language = ticket.language or require_current_tenant().default_language
    with translation.override(language):
        subject, body = render(template, ticket)
    message = _send(ticket, subject, body)
    _record(ticket, "auto_replied", "", template, message_id=message.pk)
    return message


def _why_not(ticket: Ticket, facts: Facts) -> str:
    from channels_in.models import BouncedAddress
    from tickets.services import EMAIL_CHANNELS

    requester = ticket.requester
    if facts.automatic:
        return "automatic"  # never answer a machine: that is how mail loops start
    if ticket.channel in EMAIL_CHANNELS:
        if not requester.email:
            return "no_address"
        if BouncedAddress.objects.filter(address=requester.email.lower()).exists():
            return "bounces"
    since = timezone.now() - MIN_INTERVAL
    recent = Message.objects.filter(
        ticket__requester=requester, direction=Message.Direction.OUT, author_user__isnull=True,
        kind=Message.Kind.REPLY, created_at__gte=since,
    )  # fmt: skip
    if recent.exists():
        return "recently"
    return ""


def render(template: AutoReply, ticket: Ticket) -> tuple[str, str]:
    """Subject and body of the template for this ticket, in the active language."""
    from tickets.portal import follow_url

    from .triggers import render_text

    extras = {"sla.first_response": first_response_text(ticket), "kb.articles": "",
              "request_url": ""}  # fmt: skip
    if "request_url" in f"{template.subject}{template.body}":
        extras["request_url"] = follow_url(ticket, absolute=True)
    if template.suggest_articles and "kb.articles" in template.body:
        extras["kb.articles"] = articles_text(ticket)

    def fill(text: str) -> str:
        return _EXTRA.sub(lambda m: extras[m.group(1)], text)

    subject = render_text(fill(template.subject), ticket=ticket, customer=True)
    body = render_text(fill(template.body), ticket=ticket, customer=True)
    body = re.sub(r"\n{3,}", "\n\n", body).strip()  # an empty block leaves no hole
    return " ".join(subject.split())[:250], body


def first_response_text(ticket: Ticket, now: datetime | None = None) -> str:
    """When to expect the first answer, in words; "" when no SLA promises anything."""
    from sla.policies import first_response_promise

    now = now or timezone.now()
    promise = first_response_promise(ticket, now=now)
    zone = _zone()
    parts = []
    if not promise.open_now and promise.opens_at is not None:
        parts.append(_("We are closed until %(when)s.")
                     % {"when": _when(promise.opens_at, zone, now)})  # fmt: skip
    if promise.due is not None and promise.minutes is not None:
        within = _duration(promise.minutes, business=promise.business_hours)
        parts.append(_("We aim to answer within %(within)s, by %(when)s.")
                     % {"within": within, "when": _when(promise.due, zone, now)})  # fmt: skip
    return " ".join(parts)


def _zone() -> ZoneInfo:
    from sla.policies import default_calendar

    calendar = default_calendar()
    name = calendar.timezone if calendar is not None else require_current_tenant().timezone
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _when(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    local = moment.astimezone(zone)
    today = now.astimezone(zone).date()
    if local.date() == today:
        return _("today %(time)s") % {"time": local.strftime("%H:%M")}
    if local.date() == today + timedelta(days=1):
        return _("tomorrow %(time)s") % {"time": local.strftime("%H:%M")}
    day = formats.date_format(local, "l")
    if (local.date() - today).days < 7:
        return f"{day} {local.strftime('%H:%M')}"
    return f"{formats.date_format(local, 'SHORT_DATE_FORMAT')} {local.strftime('%H:%M')}"


def _duration(minutes: int, *, business: bool) -> str:
    if minutes % 60 == 0 and minutes < 48 * 60:
        hours = minutes // 60
        if business:
            return translation.ngettext("%(n)d business hour", "%(n)d business hours",
                                        hours) % {"n": hours}  # fmt: skip
        return translation.ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    if minutes < 60:
        return translation.ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    days = round(minutes / (8 * 60 if business else 24 * 60))
    if business:
        return translation.ngettext("%(n)d business day", "%(n)d business days",
                                    days) % {"n": days}  # fmt: skip
    return translation.ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def articles_text(ticket: Ticket) -> str:
    """Up to three matching articles as lines "title: url", under a heading; "" for none."""
    text = f"{ticket.subject}\n{ticket.snippet}"
    found: list[Suggestion] = []
    for suggest in ARTICLE_SUGGESTERS:
        try:
            found += suggest(text, ticket.language, 3 - len(found))
        except Exception:  # noqa: BLE001 - a suggestion is a nicety; the reply still goes out
            logger.warning("article suggestions failed", exc_info=True)
        if len(found) >= 3:
            break
    if not found:
        return ""
    lines = "\n".join(f"- {s.title}: {s.url}" for s in found[:3])
    return _("These articles may already answer your question:") + "\n" + lines


def _send(ticket: Ticket, subject: str, body: str) -> Message:
    """The help desk's own public reply. Unlike an agent's it changes neither the status nor
    the inbox snippet, and is no first response."""
    from tickets.services import EMAIL_CHANNELS, MESSAGING_CHANNELS, _bodies
    from tickets.tasks import deliver_message

    text, markup = _bodies(f"{body}", "")
    deliver = ticket.channel in EMAIL_CHANNELS | MESSAGING_CHANNELS
    message = Message.objects.create(
        ticket=ticket, kind=Message.Kind.REPLY, direction=Message.Direction.OUT,
        channel=ticket.channel, body_text=text, body_html=markup,
        delivery_status=Message.Delivery.PENDING if deliver else Message.Delivery.NONE,
        delivery_changed_at=timezone.now() if deliver else None,
    )  # fmt: skip
    if deliver:
        enqueue_on_commit(deliver_message, message_id=message.pk)
    return message


WHY_NOT = {
    "automatic": lambda: _("the message came from an automatic sender"),
    "no_address": lambda: _("the requester has no email address"),
    "bounces": lambda: _("mail to the requester bounces"),
    "recently": lambda: _("the requester got an auto-reply a few minutes ago"),
}


def _record(ticket: Ticket, kind: str, why: str, template: AutoReply, **data) -> None:
    from tickets.services import event

    event(ticket=ticket, kind=kind, actor=None, reason=f"auto-reply {template.name}"[:300],
          template=template.pk, name=template.name, why=why, **data)  # fmt: skip


def auto_reply_text(kind: str, data: dict) -> str:
    """The timeline line of an auto-reply decision, in the reader's language."""
    name = data.get("name", "")
    if kind == "auto_replied":
        return _("Automation sent the acknowledgement “%(name)s”") % {"name": name}
    why = WHY_NOT.get(data.get("why", ""), lambda: data.get("why", ""))()
    return _("No acknowledgement (“%(name)s”): %(why)s") % {"name": name, "why": why}

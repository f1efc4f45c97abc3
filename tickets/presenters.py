"""Display values for ticket lists, computed once per request in Python.

The inbox shows 50 rows on every load; in Django templates each `{% url %}`, `{% include %}`,
`{% blocktranslate %}`, `get_FOO_display` and date filter per row adds up (about 30 ms a page
measured by bench/inbox.py). Here the labels are translated once per request and each row
becomes a plain dict of already-formatted strings (dict lookups are the template engine's
fastest path). Escaping still happens in the template.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from .models import Team, Ticket

# The icon (in static/img/icons.svg) that stands for each channel; "message" for the rest.
CHANNEL_ICONS = {
    "email": "mail",
    "web": "globe",
    "portal": "lifebuoy",
    "phone": "bell",
    "api": "zap",
    "telegram": "send",
}


def channel_icon(channel: str) -> str:
    return CHANNEL_ICONS.get(channel, "message")


class _Labels:
    """Translated choice labels, in the request's language, built once."""

    def __init__(self) -> None:
        self.status = {k: str(v) for k, v in Ticket.Status.choices}
        self.priority = {k: str(v) for k, v in Ticket.Priority.choices}
        self.channel = {k: str(v) for k, v in Ticket.Channel.choices}
        self.tier = {k: str(v) for k, v in Team.Tier.choices}
        self.select = _("Select ticket #%(n)s")


def inbox_rows(tickets: list[Ticket], *, tz: tzinfo, now: datetime | None = None) -> list[dict]:
    """One dict per ticket for the inbox table (see templates/tickets/inbox.html)."""
    labels = _Labels()
    detail = reverse("tickets:detail", kwargs={"number": 0}).removesuffix("0/")
    today = timezone.localtime(now or timezone.now(), tz).date()
    long_format = get_format("DATETIME_FORMAT")
    rows = []
    for t in tickets:
        activity = timezone.localtime(t.last_activity_at, tz)
        requester = t.requester
        assignee = t.assignee
        rows.append(
            {
                "pk": t.pk,
                "number": t.number,
                "url": f"{detail}{t.number}/",
                "subject": t.subject,
                "snippet": t.snippet,
                "tags": getattr(t, "tag_names", ()),
                "unread": not getattr(t, "is_read", True),
                "select_label": labels.select % {"n": t.number},
                "channel": t.channel,
                "channel_icon": channel_icon(t.channel),
                "channel_label": labels.channel.get(t.channel, t.channel),
                "requester": requester.name or requester.email,
                "requester_email": requester.email,
                "status": t.status,
                "status_label": labels.status.get(t.status, t.status),
                "priority": t.priority,
                "priority_label": labels.priority.get(t.priority, t.priority),
                "assignee": assignee.get_full_name() if assignee else "",
                "team": t.team.name if t.team_id else "",
                "tier_label": labels.tier.get(t.tier, ""),
                "ticket": t,  # for slots other issues fill (the SLA chip)
                "activity_iso": t.last_activity_at.astimezone(UTC).isoformat(),
                "activity_title": dateformat.format(activity, long_format),
                "activity_label": dateformat.format(
                    activity, "H:i" if activity.date() == today else "M j"
                ),
            }
        )
    return rows

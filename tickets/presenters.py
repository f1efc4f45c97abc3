"""The inbox's ticket rows, built once per request in Python.

The inbox shows 50 rows on every load. Rendered by the template engine, the row loop alone was
about a third of a page's time (bench/inbox.py: ~27 variable nodes a row, each resolved,
localised and escaped; earlier, per-row `{% url %}`, `{% include %}` and `{% blocktranslate %}`
cost more still). So labels are translated once per request, each row becomes a dict of
ready values (`inbox_rows`, also what tests read), and `row_html` writes the row's markup with
`format_html`, which escapes every value. ROW_HTML below is the only copy of that markup;
templates/tickets/inbox.html places the rows in its table.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, tzinfo

from django.templatetags.static import static
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sla.display import ClockView, chip_html

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
        self.unread = _("Unread")
        self.unread_label = _("Unread:")
        self.unassigned = _("Unassigned")


def inbox_rows(
    tickets: list[Ticket],
    *,
    tz: tzinfo,
    agents: dict[int, str] | None = None,
    teams: dict[int, str] | None = None,
    now: datetime | None = None,
    labels: _Labels | None = None,
    clocks: dict[int, ClockView] | None = None,
) -> list[dict]:
    """One dict per ticket for the inbox table: the values `row_html` writes. Assignee and
    team names come from `agents` / `teams` (id -> name) when given, else from the joined
    rows; SLA chips from `clocks` (ticket id -> its most urgent open clock, one query for the
    page: sla.display.clocks_for_tickets)."""
    clocks = clocks or {}
    labels = labels or _Labels()
    detail = reverse("tickets:detail", kwargs={"number": 0}).removesuffix("0/")
    today = timezone.localtime(now or timezone.now(), tz).date()
    long_format = get_format("DATETIME_FORMAT")
    days: dict = {}  # date -> its short label ("Dec 3"): many rows share a day
    rows = []
    for t in tickets:
        activity = timezone.localtime(t.last_activity_at, tz)
        requester = t.requester
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
                "assignee": (
                    ""
                    if not t.assignee_id
                    else agents.get(t.assignee_id, "")
                    if agents is not None
                    else t.assignee.get_full_name()
                ),
                "team": (
                    ""
                    if not t.team_id
                    else teams.get(t.team_id, "")
                    if teams is not None
                    else t.team.name
                ),
                "tier_label": labels.tier.get(t.tier, ""),
                "ticket": t,  # for slots other issues fill
                "sla": clocks.get(t.pk),  # the SLA countdown chip's clock, or None
                "activity_iso": t.last_activity_at.astimezone(UTC).isoformat(),
                "activity_title": dateformat.format(activity, long_format),
                "activity_label": (
                    f"{activity:%H:%M}"
                    if activity.date() == today
                    else days.get(activity.date())
                    or days.setdefault(activity.date(), dateformat.format(activity, "M j"))
                ),
            }
        )
    return rows


# One <tr> of templates/tickets/inbox.html's table; `rows_html` escapes every {} (html.escape
# on plain values; SafeString values such as the tag chips go in as they are).
ROW_HTML = (
    "<tr{unread_class} data-shortcut-row>"
    '<td class="col-check"><input type="checkbox" name="ticket" value="{pk}" form="bulk-form"'
    ' data-shortcut-toggle aria-label="{select_label}"></td>'
    '<td class="col-channel"><span class="channel-icon channel-{channel}" title="{channel_label}">'
    '<svg class="icon" aria-hidden="true"><use href="{icons}#{channel_icon}"></use></svg>'
    '<span class="sr-only">{channel_label}</span></span></td>'
    '<td class="cell-subject"><a href="{url}" data-shortcut-open>{unread_mark}'
    '<span class="ticket-number">#{number}</span> {subject}</a>'
    '<span class="cell-sub">{tags}{snippet}</span></td>'
    '<td class="col-sla">{sla}</td>'
    '<td class="cell-requester" title="{requester_email}">{requester}</td>'
    '<td><span class="chip chip-status-{status}">{status_label}</span></td>'
    '<td><span class="chip chip-priority-{priority}">{priority_label}</span></td>'
    '<td class="cell-assignee">{assignee}<span class="cell-sub">{team}{tier_label}</span></td>'
    '<td class="num"><time datetime="{activity_iso}" title="{activity_title}">{activity_label}'
    "</time></td></tr>"
)


def rows_html(rows: list[dict], *, labels: _Labels | None = None) -> SafeString:
    """The table body for `inbox_rows(...)`, as one safe string."""
    labels = labels or _Labels()
    icons = static("img/icons.svg")
    unread_mark = format_html(
        '<span class="unread-dot" title="{}"></span><span class="sr-only">{} </span>',
        labels.unread,
        labels.unread_label,
    )
    unassigned = format_html('<span class="muted">{}</span>', labels.unassigned)
    out = []
    for row in rows:
        fields = {k: v for k, v in row.items() if k in _ROW_FIELDS}
        fields.update(
            icons=icons,
            unread_class=_UNREAD_CLASS if row["unread"] else "",
            unread_mark=unread_mark if row["unread"] else "",
            tags=format_html_join(
                "", '<span class="chip chip-tag">{}</span> ', ((t,) for t in row["tags"])
            ),
            assignee=row["assignee"] or unassigned,
            team=f"{row['team']} · " if row["team"] else "",
            sla=chip_html(row["sla"]) if row["sla"] else "",
        )
        out.append(ROW_HTML.format_map({k: _escaped(v) for k, v in fields.items()}))
    return mark_safe("".join(out))  # noqa: S308 - every value was escaped by _escaped


def _escaped(value: object) -> str:
    """format_html's escaping without its per-call overhead (50 rows x 25 values a page)."""
    if isinstance(value, SafeString):
        return value
    return html.escape(str(value))


_UNREAD_CLASS = mark_safe(' class="is-unread"')  # noqa: S308 - a constant
_ROW_FIELDS = {
    *("pk", "select_label", "channel", "channel_label", "channel_icon", "url", "number"),
    *("subject", "snippet", "requester_email", "requester", "status", "status_label"),
    *("priority", "priority_label", "tier_label", "activity_iso", "activity_title"),
    "activity_label",
}

"""What agents see of SLA clocks: reads and words for the UI.

    clocks_for_tickets(ids, now=)      {ticket id: ClockView}: each ticket's most urgent open clock,
                                       ONE query for a whole inbox page
    ticket_annotations()               expressions that bring a ticket's clocks and their sla_*
                                       events along with the ticket page's one ticket query
    ticket_clocks(ticket, now=)        every clock of a ticket, met ones too, with its audit trail
    at_risk_timers(now=)               running clocks past their warning (amber or red), one per
                                       ticket: the inbox's "At risk" view, in due order
    chip_html(clock)                   the countdown chip (the only copy of its markup)
    timeline_text(event)               the timeline sentence of an sla_* TicketEvent

"Now" is helpdesk.lib.clock.now() throughout, so tests can travel in time; times are shown in the
current (the viewer's) time zone. A clock's state for display:

    ok        running, less than 75 % of its target used          green
    warning   running, past its warning time (warn_at)             amber
    breached  running, past its due time, or marked breached       red
    paused    pending / on hold: not counting                      grey
    met       answered or solved (late if it breached first)
    stopped   the ticket was solved before the clock was met, or its policy dropped the target

The state comes from the stored times against now, not from the sweep's marks, so a countdown
turns amber and red on time even if the beat runs late.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import JSONObject
from django.utils import dateformat, timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from helpdesk.lib import clock as wallclock

from . import calendar as calmath
from . import clocks as clockmath
from .models import BusinessCalendar, SLATimer

Kind, State = SLATimer.Kind, SLATimer.State
OPEN_STATES = (State.RUNNING, State.PAUSED)
TRAIL_LIMIT = 200  # sla_* events read with the ticket page

# How a clock is named on its own ("First response") and inside a sentence ("first response").
KIND_LABELS = {
    Kind.FIRST_RESPONSE: gettext_lazy("First response"),
    Kind.NEXT_RESPONSE: gettext_lazy("Next response"),
    Kind.RESOLUTION: gettext_lazy("Resolution"),
}
KIND_IN_SENTENCE = {
    Kind.FIRST_RESPONSE: pgettext_lazy("SLA clock, inside a sentence", "first response"),
    Kind.NEXT_RESPONSE: pgettext_lazy("SLA clock, inside a sentence", "next response"),
    Kind.RESOLUTION: pgettext_lazy("SLA clock, inside a sentence", "resolution"),
}


# --- Words for times ------------------------------------------------------------------------


def countdown_text(seconds: float) -> str:
    """Compact time left, as the chip shows it and static/js/sla-countdown.js ticks it:
    "3d 4h", "2h 14m", "45m", "<1m"; overdue with a minus sign: "−5m". Kept in step with the
    script, which gets these same translated formats (templates/sla/partials/countdown_script.html).
    """
    overdue = seconds < 0
    whole = abs(seconds) / 60
    minutes = int(-(-whole // 1)) if overdue else int(whole)  # overdue rounds up: never "−0m"
    if not overdue and minutes < 1:
        return _("<1m")
    if minutes >= 1440:
        text = _("%(d)sd %(h)sh") % {"d": minutes // 1440, "h": minutes % 1440 // 60}
    elif minutes >= 60:
        text = _("%(h)sh %(m)sm") % {"h": minutes // 60, "m": minutes % 60}
    else:
        text = _("%(m)sm") % {"m": minutes}
    return f"\u2212{text}" if overdue else text


def countdown_formats() -> dict[str, str]:
    """The translated pieces of countdown_text, for the script."""
    return {
        "days": _("%(d)sd %(h)sh"),
        "hours": _("%(h)sh %(m)sm"),
        "minutes": _("%(m)sm"),
        "soon": _("<1m"),
    }


def duration_text(minutes: float) -> str:
    """A target or a length in words: "45 min", "1 h", "1 h 5 min", "3 d"."""
    total = max(0, round(minutes))
    if total >= 1440 and total % 1440 == 0:
        return _("%(n)s d") % {"n": total // 1440}
    hours, rest = divmod(total, 60)
    if hours and rest:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": rest}
    if hours:
        return _("%(n)s h") % {"n": hours}
    return _("%(n)s min") % {"n": rest}


def time_text(moment: datetime | None, *, today: datetime | None = None) -> str:
    """A moment in the viewer's zone: "14:30" on the day of `today`, else "March 3 14:30"."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    reference = timezone.localtime(today or wallclock.now())
    clock_time = f"{local:%H:%M}"
    if local.date() == reference.date():
        return clock_time
    return f"{dateformat.format(local, get_format('MONTH_DAY_FORMAT'))} {clock_time}"


def _parse(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if isinstance(value, str) and value else None


# --- The view of one clock ------------------------------------------------------------------


@dataclass(frozen=True)
class TrailItem:
    at: datetime
    text: str
    when: str  # the time, in words ("14:30", "March 3 14:30")


@dataclass(frozen=True)
class ClockView:
    """One SLA clock as the UI shows it (see the module docstring for `state`)."""

    timer_id: int
    ticket_id: int
    kind: str
    cycle: int
    state: str
    policy: str
    target_minutes: int
    business_hours: bool
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    achieved_at: datetime | None
    breached_at: datetime | None
    now: datetime
    counted_minutes: float | None = None  # business minutes used: met and paused clocks
    trail: tuple[TrailItem, ...] = field(default=())

    @property
    def label(self) -> str:
        base = str(KIND_LABELS.get(self.kind, self.kind))
        if self.kind == Kind.NEXT_RESPONSE and self.cycle > 1:
            return _("%(clock)s #%(n)s") % {"clock": base, "n": self.cycle}
        return base

    @property
    def is_open(self) -> bool:
        return self.state in ("ok", "warning", "breached", "paused")

    @property
    def late(self) -> bool:
        return self.state == "met" and self.breached_at is not None

    @property
    def seconds_left(self) -> float | None:
        return None if self.due_at is None else (self.due_at - self.now).total_seconds()

    @property
    def countdown(self) -> str:
        left = self.seconds_left
        return "" if left is None else countdown_text(left)

    @property
    def due_text(self) -> str:
        return time_text(self.due_at, today=self.now)

    @property
    def achieved_text(self) -> str:
        return time_text(self.achieved_at, today=self.now)

    @property
    def started_text(self) -> str:
        return time_text(self.started_at, today=self.now)

    @property
    def target_text(self) -> str:
        target = duration_text(self.target_minutes)
        if self.business_hours:
            return _("%(target)s, business hours") % {"target": target}
        return target

    @property
    def outcome_text(self) -> str:
        """The panel's line for a clock that is not ticking: "Met in 42 min", "Breached by
        1 h 5 min", "Paused, 35 min left", "Stopped"."""
        counted = self.counted_minutes
        if self.state == "met":
            if self.late:
                over = counted - self.target_minutes if counted is not None else None
                if over is None or over <= 0:  # counted unknown: the wall clock says how late
                    over = (
                        (self.achieved_at or self.now) - (self.due_at or self.now)
                    ).total_seconds() / 60
                return _("Breached by %(late)s") % {"late": duration_text(max(over, 1))}
            if counted is None:
                return _("Met")
            return _("Met in %(time)s") % {"time": duration_text(counted)}
        if self.state == "paused":
            if counted is None:
                return _("Paused")
            left = self.target_minutes - counted
            if left <= 0:
                return _("Paused, overdue by %(time)s") % {"time": duration_text(-left)}
            return _("Paused, %(time)s left") % {"time": duration_text(left)}
        if self.state == "stopped":
            return _("Stopped")
        return ""


def _display_state(timer: SLATimer, now: datetime) -> str:
    if timer.state == State.MET:
        return "met"
    if timer.state == State.STOPPED:
        return "stopped"
    if timer.state == State.PAUSED:
        return "paused"
    if timer.breached_at is not None or (timer.due_at is not None and timer.due_at <= now):
        return "breached"
    if timer.warn_at is not None and timer.warn_at <= now:
        return "warning"
    return "ok"


def _view(timer: SLATimer, now: datetime, **extra) -> ClockView:
    return ClockView(
        timer_id=timer.pk,
        ticket_id=timer.ticket_id,
        kind=timer.kind,
        cycle=timer.cycle,
        state=_display_state(timer, now),
        policy=timer.policy_name,
        target_minutes=timer.target_minutes,
        business_hours=timer.business_hours,
        started_at=timer.started_at,
        due_at=timer.due_at,
        warn_at=timer.warn_at,
        achieved_at=timer.achieved_at,
        breached_at=timer.breached_at,
        now=now,
        **extra,
    )


# --- The inbox: the most urgent open clock of each ticket, in one query ---------------------


def _urgency(now: datetime) -> Case:
    """Breached first, then at risk, then running, then paused (see clocks_for_tickets)."""
    return Case(
        When(state=State.PAUSED, then=Value(3)),
        When(Q(breached_at__isnull=False) | Q(due_at__lte=now), then=Value(0)),
        When(warn_at__lte=now, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def clocks_for_tickets(
    ticket_ids: Iterable[int], *, now: datetime | None = None
) -> dict[int, ClockView]:
    """Each ticket's most urgent open clock, for chips: the worst state first (breached, at
    risk, running, paused), then the soonest due. One query (DISTINCT ON the ticket) whatever
    the number of tickets; tickets without an open clock are left out."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    now = now or wallclock.now()
    rows = (
        SLATimer.objects.filter(ticket_id__in=ids, state__in=OPEN_STATES)
        .annotate(urgency=_urgency(now))
        .order_by("ticket_id", "urgency", F("due_at").asc(nulls_last=True), "id")
        .distinct("ticket_id")
        .only(*_TIMER_FIELDS)
    )
    return {timer.ticket_id: _view(timer, now) for timer in rows}


_TIMER_FIELDS = (
    "id", "ticket_id", "kind", "cycle", "state", "policy_id", "policy_name", "target_minutes",
    "business_hours", "started_at", "pauses", "paused_at", "due_at", "warn_at", "warned_at",
    "breached_at", "achieved_at",
)  # fmt: skip


# --- The "At risk" view ---------------------------------------------------------------------


def at_risk_timers(*, now: datetime | None = None) -> QuerySet[SLATimer]:
    """Running clocks past their warning time (amber or red), the earliest due of each ticket
    only, so a ticket is listed once. Ordered by due time with the partial index
    slatimer_running_due (tenant, due_at) WHERE state = 'running'; the caller adds the ticket
    conditions (open, not merged, the inbox's filters) and the keyset."""
    now = now or wallclock.now()
    running = SLATimer.objects.filter(state=State.RUNNING, warn_at__lte=now, due_at__isnull=False)
    earlier = running.filter(ticket_id=OuterRef("ticket_id")).filter(
        Q(due_at__lt=OuterRef("due_at")) | Q(due_at=OuterRef("due_at"), pk__lt=OuterRef("pk"))
    )
    return running.filter(~Exists(earlier)).order_by("due_at", "id")


def at_risk_ticket_ids(*, now: datetime | None = None) -> QuerySet[SLATimer]:
    """The tickets with a clock at risk, as a subquery (`Ticket.objects.filter(pk__in=...)`)."""
    now = now or wallclock.now()
    return SLATimer.objects.filter(
        state=State.RUNNING, warn_at__lte=now, due_at__isnull=False
    ).values("ticket_id")


# --- The ticket page: every clock with its trail --------------------------------------------

SLA_EVENT_KINDS = (
    "sla_started", "sla_met", "sla_paused", "sla_resumed", "sla_stopped", "sla_recomputed",
    "sla_warning", "sla_breached",
)  # fmt: skip


def ticket_annotations() -> dict[str, ArraySubquery]:
    """`sla_timer_rows` and `sla_event_rows` as JSON arrays, for the ticket page's one ticket
    query: the SLA panel and the header's chip then cost no query of their own."""
    from tickets.models import TicketEvent

    timers = SLATimer.objects.filter(ticket=OuterRef("pk")).order_by("started_at", "id")
    events = TicketEvent.objects.filter(ticket=OuterRef("pk"), kind__in=SLA_EVENT_KINDS)
    return {
        "sla_timer_rows": ArraySubquery(
            timers.values(
                json=JSONObject(
                    **{name: name for name in _TIMER_FIELDS},
                    policy_calendar_id="policy__calendar_id",
                )
            )
        ),
        "sla_event_rows": ArraySubquery(
            events.order_by("created_at", "id").values(
                json=JSONObject(
                    id="id", kind="kind", data="data", reason="reason", created_at="created_at"
                )
            )[:TRAIL_LIMIT]
        ),
    }


@dataclass
class _Event:
    kind: str
    data: dict
    reason: str
    created_at: datetime


def _ticket_timers(ticket) -> tuple[list[tuple[SLATimer, int | None]], list[_Event]]:
    """The ticket's timers (each with its policy's calendar id) and sla_* events: from the
    annotations when the ticket came with them, else two queries."""
    from tickets.models import TicketEvent

    if hasattr(ticket, "sla_timer_rows"):
        timers = []
        for row in ticket.sla_timer_rows:
            row = dict(row)
            calendar_id = row.pop("policy_calendar_id", None)
            for name in ("started_at", "paused_at", "due_at", "warn_at", "warned_at",
                         "breached_at", "achieved_at"):  # fmt: skip
                row[name] = _parse(row.get(name))
            timers.append((SLATimer(**row), calendar_id))
        events = [
            _Event(e["kind"], e.get("data") or {}, e.get("reason") or "", _parse(e["created_at"]))
            for e in getattr(ticket, "sla_event_rows", None) or ()
        ]
        return timers, events
    rows = (
        SLATimer.objects.filter(ticket=ticket).select_related("policy").order_by("started_at", "id")
    )
    timers = [(t, t.policy.calendar_id if t.policy else None) for t in rows]
    found = TicketEvent.objects.filter(ticket=ticket, kind__in=SLA_EVENT_KINDS)
    events = [
        _Event(e.kind, e.data or {}, e.reason, e.created_at)
        for e in found.order_by("created_at", "id")[:TRAIL_LIMIT]
    ]
    return timers, events


class _Calendars:
    """The calendars that met and paused business-hours clocks are counted on, each loaded
    once per page (a clock on calendar time needs none)."""

    def __init__(self) -> None:
        self._by_id: dict[int | None, calmath.Calendar] = {}

    def get(self, timer: SLATimer, calendar_id: int | None) -> calmath.Calendar:
        from .policies import default_calendar
        from .selectors import calendar_for

        if not timer.business_hours:
            return calmath.ALWAYS_OPEN
        if calendar_id not in self._by_id:
            model = (
                BusinessCalendar.objects.filter(pk=calendar_id).first()
                if calendar_id
                else default_calendar()
            )
            self._by_id[calendar_id] = calendar_for(model) if model else calmath.ALWAYS_OPEN
        return self._by_id[calendar_id]


def _counted(timer: SLATimer, cal: calmath.Calendar) -> float | None:
    """Business minutes the clock used: up to its answer (met) or its pause (paused)."""
    from .timers import clock_of

    until = timer.achieved_at if timer.state == State.MET else timer.paused_at
    if until is None:
        return None
    return clockmath.elapsed(cal, clock_of(timer), until)


def _concerns(event: _Event, timer: SLATimer) -> bool:
    data = event.data
    if event.kind in ("sla_started", "sla_recomputed"):
        return any(
            t.get("timer") == timer.kind and t.get("cycle", 1) == timer.cycle
            for t in data.get("timers") or ()
        )
    return data.get("timer") == timer.kind and data.get("cycle", 1) == timer.cycle


def ticket_clocks(ticket, *, now: datetime | None = None) -> list[ClockView]:
    """Every clock of the ticket in the order they started, met and stopped ones included,
    each with its trail (the sla_* events about it, oldest first). Reads the page's
    annotations (ticket_annotations) when present; memoised on the ticket, so the header chip
    and the panel share one read."""
    memo = getattr(ticket, "_sla_clocks", None)
    if memo is not None:
        return memo
    now = now or wallclock.now()
    timers, events = _ticket_timers(ticket)
    calendars = _Calendars()
    views = []
    for timer, calendar_id in timers:
        counted = None
        if timer.state in (State.MET, State.PAUSED):
            counted = _counted(timer, calendars.get(timer, calendar_id))
        trail = tuple(
            TrailItem(
                e.created_at,
                trail_text(e.kind, e.data, timer, reason=e.reason),
                time_text(e.created_at, today=now),
            )
            for e in events
            if _concerns(e, timer)
        )
        views.append(_view(timer, now, counted_minutes=counted, trail=trail))
    ticket._sla_clocks = views
    return views


def panel_order(clocks: Iterable[ClockView]) -> list[ClockView]:
    """Open clocks first, the most urgent on top; then the finished ones, newest first."""
    rank = {"breached": 0, "warning": 1, "ok": 2, "paused": 3}
    never = datetime.max.replace(tzinfo=UTC)
    clocks = list(clocks)
    open_clocks = sorted(
        (c for c in clocks if c.is_open), key=lambda c: (rank[c.state], c.due_at or never)
    )
    done = sorted((c for c in clocks if not c.is_open), key=lambda c: c.started_at, reverse=True)
    return [*open_clocks, *done]


def most_urgent(clocks: Iterable[ClockView]) -> ClockView | None:
    """The clock a ticket's chip shows (the same choice as clocks_for_tickets)."""
    rank = {"breached": 0, "warning": 1, "ok": 2, "paused": 3}
    open_clocks = [c for c in clocks if c.state in rank]
    if not open_clocks:
        return None
    never = datetime.max.replace(tzinfo=UTC)
    return min(open_clocks, key=lambda c: (rank[c.state], c.due_at or never, c.timer_id))


# --- The chip -------------------------------------------------------------------------------

CHIP_HTML = (
    '<span class="chip chip-sla-{state}" data-sla-chip data-now="{now}" data-due="{due}"'
    ' data-warn="{warn}"{announce} title="{title}"><span class="sr-only">{label}: </span>'
    '<time datetime="{due}">{text}</time><span class="sr-only" data-sla-suffix> {suffix}</span>'
    "</span>"
)
PAUSED_CHIP_HTML = (
    '<span class="chip chip-sla-paused" data-sla-chip title="{title}">'
    '<span class="sr-only">{label}: </span>{text}</span>'
)


def chip_suffixes() -> dict[str, str]:
    """What a screen reader hears after the countdown, per state (also given to the script)."""
    return {
        "ok": _("until the SLA is due"),
        "warning": _("until the SLA is due, at risk"),
        "breached": _("past the SLA deadline"),
    }


def announcements() -> dict[str, str]:
    """What the ticket page's live region says when its chip changes colour (the script)."""
    return {
        "say_warning": _("%(clock)s is at risk: %(left)s left."),
        "say_breached": _("%(clock)s is past its SLA deadline."),
    }


def chip_html(clock: ClockView, *, announce: bool = False) -> SafeString:
    """The countdown chip of an open clock: green / amber / red by the time left, grey while
    paused. The text is the information (the time left, "−" when overdue, "Paused"); the
    colour and the icon repeat it. static/js/sla-countdown.js ticks it every 30 s."""
    title = _("%(clock)s due %(time)s · policy “%(policy)s”") % {
        "clock": clock.label,
        "time": time_text(clock.due_at, today=clock.now),
        "policy": clock.policy,
    }
    if clock.state == "paused" or clock.due_at is None:
        paused_title = _("%(clock)s clock paused · policy “%(policy)s”") % {
            "clock": clock.label,
            "policy": clock.policy,
        }
        text = _("Paused") if clock.state == "paused" else _("No deadline")
        return format_html(PAUSED_CHIP_HTML, title=paused_title, label=clock.label, text=text)
    state = clock.state if clock.state in ("ok", "warning", "breached") else "ok"
    return format_html(
        CHIP_HTML,
        state=state,
        now=_iso(clock.now),
        due=_iso(clock.due_at),
        warn=_iso(clock.warn_at) if clock.warn_at else "",
        announce=format_html(' data-sla-announce data-label="{}"', clock.label) if announce else "",
        title=title,
        label=clock.label,
        text=clock.countdown,
        suffix=chip_suffixes()[state],
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# --- Words: the timeline and the panel's trail ----------------------------------------------


def _kind_in_sentence(kind: str, cycle: int = 1) -> str:
    text = str(KIND_IN_SENTENCE.get(kind, kind.replace("_", " ")))
    if kind == Kind.NEXT_RESPONSE and cycle > 1:
        return _("%(clock)s #%(n)s") % {"clock": text, "n": cycle}
    return text


def _kind_label(kind: str, cycle: int = 1) -> str:
    text = str(KIND_LABELS.get(kind, kind.replace("_", " ").capitalize()))
    if kind == Kind.NEXT_RESPONSE and cycle > 1:
        return _("%(clock)s #%(n)s") % {"clock": text, "n": cycle}
    return text


def _target(data: dict) -> str:
    minutes = data.get("minutes")
    if minutes is None:
        return ""
    text = duration_text(minutes)
    return (
        _("%(target)s, business hours") % {"target": text} if data.get("business_hours") else text
    )


def _due_part(item: dict, day: datetime) -> str:
    """ "first response due 10:00 (1 h)" / "resolution paused (4 h)" """
    values = {
        "clock": _kind_in_sentence(item.get("timer", ""), item.get("cycle", 1)),
        "time": time_text(_parse(item.get("due")), today=day),
        "target": _target(item),
    }
    if not item.get("due"):
        return _("%(clock)s paused (%(target)s)") % values
    return _("%(clock)s due %(time)s (%(target)s)") % values


def _status_label(status: str) -> str:
    from tickets.models import Ticket

    return str(dict(Ticket.Status.choices).get(status, status))


def timeline_text(event) -> str:
    """The timeline line of an sla_* event, in the reader's language and time zone; the
    event's `reason` is the policy's name."""
    return sla_sentence(event.kind, event.data or {}, reason=event.reason, at=event.created_at)


def sla_sentence(kind: str, data: dict, *, reason: str, at: datetime | None) -> str:
    day = at or wallclock.now()
    policy = reason
    if kind in ("sla_started", "sla_recomputed"):
        parts = ", ".join(_due_part(item, day) for item in data.get("timers") or ())
        if kind == "sla_started":
            return _("SLA “%(policy)s” started: %(clocks)s") % {"policy": policy, "clocks": parts}
        if data.get("policy") is None:
            return _("SLA recomputed: no policy applies any more, %(clocks)s stopped") % {
                "clocks": ", ".join(
                    _kind_in_sentence(i.get("timer", ""), i.get("cycle", 1))
                    for i in data.get("timers") or ()
                )
            }
        return _("SLA recomputed: %(clocks)s") % {"clocks": parts}
    values = {
        "clock": _kind_label(data.get("timer", ""), data.get("cycle", 1)),
        "due": time_text(_parse(data.get("due")), today=day),
        "policy": policy,
        "target": _target(data),
        "status": _status_label(data.get("status", "")),
    }
    if kind == "sla_met":
        if data.get("late"):
            return _("%(clock)s met late (was due %(due)s, policy “%(policy)s”)") % values
        if not data.get("due"):
            return _("%(clock)s met (policy “%(policy)s”)") % values
        return _("%(clock)s met (due %(due)s, policy “%(policy)s”)") % values
    if kind == "sla_paused":
        return _("%(clock)s clock paused: status %(status)s (policy “%(policy)s”)") % values
    if kind == "sla_resumed":
        return _("%(clock)s clock resumed: due %(due)s (policy “%(policy)s”)") % values
    if kind == "sla_stopped":
        return _("%(clock)s clock stopped: status %(status)s (policy “%(policy)s”)") % values
    if kind == "sla_warning":
        return (
            _("%(clock)s at risk: 75 %% of %(target)s used (due %(due)s, policy “%(policy)s”)")
            % values
        )
    if kind == "sla_breached":
        return _("%(clock)s breached (due %(due)s, policy “%(policy)s”)") % values
    return _("SLA: %(what)s") % {"what": kind.removeprefix("sla_").replace("_", " ")}


def trail_text(kind: str, data: dict, timer: SLATimer, *, reason: str = "") -> str:
    """A short line in one clock's trail (the panel): the clock is named by its heading."""
    if kind in ("sla_started", "sla_recomputed"):
        item = next(
            (t for t in data.get("timers") or ()
             if t.get("timer") == timer.kind and t.get("cycle", 1) == timer.cycle),
            {},
        )  # fmt: skip
    else:
        item = data
    day = wallclock.now()
    values = {
        "due": time_text(_parse(item.get("due")), today=day),
        "target": _target(item),
        "policy": reason,
        "status": _status_label(data.get("status", "")),
        "at": time_text(_parse(data.get("at")), today=day),
    }
    if kind == "sla_started":
        if not item.get("due"):
            return _("Started, paused") % values
        return _("Started: due %(due)s") % values
    if kind == "sla_recomputed":
        if not item.get("due"):
            return _("Recomputed: target %(target)s") % values
        return _("Recomputed: due %(due)s, target %(target)s") % values
    if kind == "sla_met":
        return _("Met late") % values if data.get("late") else _("Met") % values
    if kind == "sla_paused":
        return _("Paused: status %(status)s") % values
    if kind == "sla_resumed":
        return _("Resumed: due %(due)s") % values
    if kind == "sla_stopped":
        return _("Stopped: status %(status)s") % values
    if kind == "sla_warning":
        return _("At risk: 75 %% of the target used") % values
    if kind == "sla_breached":
        return _("Breached: it was due %(due)s") % values
    return kind

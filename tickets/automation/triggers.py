"""Triggers: event–condition–action rules (Settings › Triggers). DESIGN.md §5.

    fire(job, ticket, facts) -> list[Fired]   jobs.pipeline, inside the job's transaction
    run_idle(now=None) -> int                 beat, per tenant: open tickets idle for N hours
    render_text(text, ticket=…, agent=…)      the {{ placeholder }} templates of notify / replies
    timeline_text(event, who, people, teams)  trigger_fired, trigger_capped, dispatch_failed,
                                              macro_applied lines of the ticket timeline
    describe_actions(actions, people, teams)  an action list in words (settings, macro menu)
    trigger_save / trigger_delete / trigger_move / trigger_set_active   settings writes (audited)

Events: created, updated, customer_replied, agent_replied (the job's own event); status_changed
(an "updated" job whose fields include status); idle (the beat sweep: open tickets with no
activity for `idle_hours`). Active triggers of the event run in position order; each sees what
the earlier ones changed. Conditions are rules.compile_rule over rules.facts_for; actions are
every rules.ACTIONS entry plus those registered here: notify, webhook, send_reply, add_note and
escalate.

Loop guard, three walls:
1. A trigger's own changes never start another trigger run: they are written through
   rules.write_changes / services._apply_changes, which enqueue no job (only the public service
   functions do; a system reply, ticket_reply(author=None), enqueues none either).
2. Before acting, a TriggerFiring (trigger, ticket, event_key) is claimed with INSERT … ON
   CONFLICT DO NOTHING in the job's transaction; event_key is f"job:{job.pk}" for events and
   f"idle:{last_activity_at.isoformat()}" for idleness, so a re-run job or a sweep that comes
   round again fires nothing twice, and an idle period fires once.
3. At most FIRINGS_PER_HOUR firings per ticket per hour, whatever caused them; the cap leaves a
   "trigger_capped" event on the timeline (at most one an hour).
Email, webhooks and customer replies leave only once the transaction commits (the outbox in
notifications.py; tickets.tasks.deliver_message for replies). `send_reply` is skipped when the
message that caused the event came from a machine (auto-replies must not answer each other).
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.models import Membership
from tickets.models import OPEN_UNMERGED, Team, TeamMember, Ticket, TicketEvent, TicketFollower

from . import rules
from .models import AutomationJob, Trigger, TriggerFiring
from .rules import (
    Applied,
    CompiledRule,
    Facts,
    Reason,
    RuleError,
    active_compiled,
    facts_for,
    plan_actions,
    reason_text,
    reasons_data,
    write_changes,
)

FIRINGS_PER_HOUR = 20  # per ticket, all triggers together
IDLE_BATCH = 500  # idle tickets looked at per trigger and sweep, the most recently idle first
MAX_IDLE_HOURS = 24 * 90
MAX_BODY = 10_000
PRIORITY_UP = {"low": "normal", "normal": "high", "high": "urgent", "urgent": "urgent"}


# --- Templates: {{ ticket.number }} and friends, never Django's template engine ------------------

PLACEHOLDERS = {
    "ticket.number": gettext_lazy("the ticket's number"),
    "ticket.subject": gettext_lazy("the ticket's subject"),
    "ticket.status": gettext_lazy("its status"),
    "ticket.priority": gettext_lazy("its priority"),
    "ticket.url": gettext_lazy("a link to the ticket (the portal for customers)"),
    "requester.name": gettext_lazy("the requester's name"),
    "requester.email": gettext_lazy("the requester's email address"),
    "agent.name": gettext_lazy("the assignee's name (for a macro: yours)"),
    "team.name": gettext_lazy("the ticket's team"),
}
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
_ANY_BRACES = re.compile(r"\{\{(.*?)\}\}", re.S)


def check_template(text: Any, *, where: str, limit: int = MAX_BODY) -> str:
    """`text` as a template: only the allow-listed placeholders, at most `limit` characters."""
    text = str(text or "").strip()
    if len(text) > limit:
        raise RuleError(_("%(where)s: at most %(n)d characters.") % {"where": where, "n": limit})
    for inner in _ANY_BRACES.findall(text):
        name = inner.strip()
        if name not in PLACEHOLDERS:
            raise RuleError(
                _("%(where)s: unknown placeholder {{ %(name)s }}; use one of %(names)s.")
                % {
                    "where": where,
                    "name": name[:40],
                    "names": ", ".join(f"{{{{ {p} }}}}" for p in PLACEHOLDERS),
                }
            )
    return text


def ticket_url(ticket: Ticket, *, customer: bool = False) -> str:
    """The ticket's absolute URL: the agent page, or for customers the portal."""
    from helpdesk.tenancy.resolve import tenant_base_url

    base = tenant_base_url(require_current_tenant())
    if not customer:
        return base + reverse("tickets:detail", kwargs={"number": ticket.number})
    try:
        return base + reverse("portal:request", kwargs={"request_number": ticket.number})
    except NoReverseMatch:
        return base + reverse("portal:home")


def placeholder_values(
    ticket: Ticket, *, agent: User | None = None, customer: bool = False
) -> dict[str, str]:
    requester = ticket.requester
    team = Team.objects.filter(pk=ticket.team_id).first() if ticket.team_id else None
    return {
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "ticket.status": str(Ticket.Status(ticket.status).label),
        "ticket.priority": str(Ticket.Priority(ticket.priority).label),
        "ticket.url": ticket_url(ticket, customer=customer),
        "requester.name": requester.name or requester.email,
        "requester.email": requester.email,
        "agent.name": agent.get_full_name() if agent else "",
        "team.name": team.name if team else "",
    }


def render_text(
    text: str, *, ticket: Ticket, agent: User | None = None, customer: bool = False
) -> str:
    """Fill the placeholders in as plain text (labels in the ticket's language for customers).
    Nothing else in `text` is interpreted."""
    if "{{" not in text:
        return text
    language = ticket.language if customer and ticket.language else None
    with translation.override(language) if language else nullcontext():
        values = placeholder_values(ticket, agent=agent, customer=customer)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# --- Actions of triggers: notify, webhook, send_reply, add_note, escalate ----------------------

NOTIFY_TO = ("assignee", "team", "followers", "requester")
VIA = ("in_app", "email")
DEFAULT_SUBJECT = "[#{{ ticket.number }}] {{ ticket.subject }}"
TRIGGER_ONLY = ("notify", "webhook", "send_reply", "add_note", "escalate")


@rules.action("notify", gettext_lazy("Notify"), "notify")
def _validate_notify(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise RuleError(_("%(where)s: say whom to notify.") % {"where": where})
    to = str(value.get("to") or "").strip()
    via = str(value.get("via") or "in_app")
    if via not in VIA:
        raise RuleError(_("%(where)s: notify in the app or by email.") % {"where": where})
    if to not in NOTIFY_TO:
        try:
            validate_email(to)
        except ValidationError:
            raise RuleError(
                _(
                    "%(where)s: notify the assignee, the team, the followers, the requester or an "
                    "email address."
                )
                % {"where": where}
            ) from None
    if to not in {"assignee", "team", "followers"} and via != "email":
        raise RuleError(
            _("%(where)s: the requester and email addresses are notified by email.")
            % {"where": where}
        )
    subject = check_template(value.get("subject") or DEFAULT_SUBJECT, where=where, limit=200)
    body = check_template(value.get("body"), where=where, limit=5000)
    return {"to": to, "via": via, "subject": subject, "body": body}


@rules.action("webhook", gettext_lazy("Call a webhook"), "webhook")
def _validate_webhook(value: Any, where: str) -> dict:
    from .notifications import webhook_url_problem

    value = value if isinstance(value, dict) else {}
    url = str(value.get("url") or "").strip()
    if len(url) > 500:
        raise RuleError(_("%(where)s: the address is too long.") % {"where": where})
    problem = webhook_url_problem(url) if url else _("give the address to call.")
    if problem:
        raise RuleError(f"{where}: {problem}")
    return {"url": url, "body": check_template(value.get("body"), where=where, limit=5000)}


def _validate_body(value: Any, where: str) -> dict:
    body = value.get("body") if isinstance(value, dict) else value
    body = check_template(body, where=where)
    if not body:
        raise RuleError(_("%(where)s: write the text.") % {"where": where})
    return {"body": body}


rules.action("send_reply", gettext_lazy("Reply to the customer"), "template")(_validate_body)
rules.action("add_note", gettext_lazy("Add an internal note"), "template")(_validate_body)


@rules.action("escalate", gettext_lazy("Escalate"), "escalate")
def _validate_escalate(value: Any, where: str) -> dict:
    value = value if isinstance(value, dict) else {}
    raise_priority = bool(value.get("raise_priority"))
    team = value.get("team")
    if team not in (None, ""):
        try:
            team_id = int(team)
        except (TypeError, ValueError):
            raise RuleError(_("%(where)s: choose a team.") % {"where": where}) from None
        if not Team.objects.filter(pk=team_id).exists():
            raise RuleError(_("%(where)s: that team does not exist.") % {"where": where})
        return {"team": team_id, "raise_priority": raise_priority}
    tier = value.get("tier", "next")
    if tier != "next":
        try:
            tier = int(tier)
        except (TypeError, ValueError):
            tier = 0
        if tier not in Team.Tier.values:
            raise RuleError(
                _("%(where)s: choose the next tier, tier 1, 2 or 3, or a team.") % {"where": where}
            )
    return {"tier": tier, "raise_priority": raise_priority}


# --- Which triggers: compiled once per tenant and rule version -----------------------------------


def active_triggers() -> list[tuple[Trigger, CompiledRule]]:
    return active_compiled("triggers", Trigger)


def job_events(job: AutomationJob) -> set[str]:
    events = {job.event}
    if job.event == AutomationJob.Event.UPDATED and "status" in (job.data.get("fields") or []):
        events.add(Trigger.Event.STATUS_CHANGED)
    return events


@dataclass
class Context:
    event: str
    event_key: str
    actor_id: int | None = None  # who caused the event: not notified about it


@dataclass
class Fired:
    trigger: Trigger
    reasons: list[Reason]
    actions: list[dict] = field(default_factory=list)


def _actor_of(job: AutomationJob) -> int | None:
    if job.data.get("by"):
        return int(job.data["by"])
    if job.message_id and job.event in {
        AutomationJob.Event.AGENT_REPLIED,
        AutomationJob.Event.CREATED,
    }:
        return job.message.author_user_id
    return None


def fire(job: AutomationJob, ticket: Ticket, facts: Facts) -> list[Fired]:
    """Run the triggers of the job's event on `ticket` (locked by the pipeline)."""
    events = job_events(job)
    candidates = [(t, c) for t, c in active_triggers() if t.event in events]
    if not candidates:
        return []
    # Routing may have changed the ticket since `facts` was built: look again.
    facts = facts_for(ticket, body=facts.body, mailbox=facts.mailbox, automatic=facts.automatic)
    context = Context(event=job.event, event_key=f"job:{job.pk}", actor_id=_actor_of(job))
    return _run(candidates, ticket, facts, context)


def _run(
    candidates: list[tuple[Trigger, CompiledRule]], ticket: Ticket, facts: Facts, ctx: Context
) -> list[Fired]:
    fired: list[Fired] = []
    capped: list[Trigger] = []
    recent: int | None = None
    for trigger, compiled in candidates:
        reasons = compiled.evaluate(facts)
        if reasons is None:
            continue
        if recent is None:
            since = timezone.now() - timedelta(hours=1)
            recent = TriggerFiring.objects.filter(ticket=ticket, fired_at__gte=since).count()
        if recent >= FIRINGS_PER_HOUR:
            capped.append(trigger)
            continue
        if not _claim(trigger, ticket, ctx.event_key):
            continue  # fired for this event already (a re-run)
        recent += 1
        fired.append(_act(trigger, ticket, facts, reasons, ctx))
        facts = facts_for(ticket, body=facts.body, mailbox=facts.mailbox, automatic=facts.automatic)
    if capped:
        _record_cap(ticket, capped)
    return fired


def _claim(trigger: Trigger, ticket: Ticket, key: str) -> bool:
    """Record the firing; False when it was recorded before (INSERT … ON CONFLICT DO NOTHING,
    no savepoint, inside the caller's transaction)."""
    table = TriggerFiring._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (tenant_id, trigger_id, ticket_id, event_key, fired_at) '  # noqa: S608 - our table name
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [ticket.tenant_id, trigger.pk, ticket.pk, key[:100], timezone.now()],
        )
        return cursor.fetchone() is not None


def _record_cap(ticket: Ticket, capped: list[Trigger]) -> None:
    from tickets import services

    since = timezone.now() - timedelta(hours=1)
    if TicketEvent.objects.filter(
        ticket=ticket, kind="trigger_capped", created_at__gte=since
    ).exists():
        return
    services.event(
        ticket=ticket,
        kind="trigger_capped",
        actor=None,
        reason="trigger loop guard",
        cap=FIRINGS_PER_HOUR,
        triggers=[{"id": t.pk, "name": t.name} for t in capped],
    )


def _act(
    trigger: Trigger, ticket: Ticket, facts: Facts, reasons: list[Reason], ctx: Context
) -> Fired:
    from tickets import services

    reason = f"trigger: {trigger.name}"[:300]
    applied = plan_actions(trigger.actions)
    done: list[dict] = [
        {"action": item["action"], "value": item["value"]}
        for item in trigger.actions
        if item["action"] not in TRIGGER_ONLY
    ]
    write_changes(ticket, applied, reason=reason)
    for item in applied.extra:  # team moves first: assignment and messages see the result
        if item["action"] == "escalate":
            done.append(_escalate(ticket, item["value"], reason=reason))
    apply_assignment(ticket, applied, reason=reason)
    for index, item in enumerate(applied.extra):
        handler = _HANDLERS.get(item["action"])
        if handler is not None:
            done.append(
                handler(ticket, item["value"], trigger=trigger, facts=facts, ctx=ctx, index=index)
            )
    services.event(
        ticket=ticket,
        kind="trigger_fired",
        actor=None,
        reason=reason,
        trigger=trigger.pk,
        name=trigger.name,
        because=reasons_data(reasons),
        actions=done,
    )
    Trigger.objects.filter(pk=trigger.pk).update(hits=F("hits") + 1, last_fired_at=timezone.now())
    return Fired(trigger, reasons, done)


def apply_assignment(
    ticket: Ticket, applied: Applied, *, reason: str, actor: User | None = None
) -> None:
    """`assign_to` and `assign_auto` of a trigger or macro, applied at once (routing leaves
    them to its own assignment step)."""
    from tickets import services

    from . import assignment

    if applied.assign_to is not None:
        user = User.objects.filter(pk=applied.assign_to).first()
        member = Membership.objects.filter(user_id=applied.assign_to, is_active=True).exists()
        if user is None or not member:
            return
        changes: dict = {"assignee": user}
        if ticket.status == Ticket.Status.NEW:
            changes["status"] = Ticket.Status.OPEN
        services._apply_changes(ticket, changes, actor=actor, reason=reason)
    elif applied.assign_auto and ticket.team_id and ticket.assignee_id is None:
        state = assignment.lock_teams([ticket.team_id]).get(ticket.team_id)
        if state is None:
            return
        manual = state.team.assignment == Team.Assignment.MANUAL
        choice = assignment.decide(
            ticket, state, strategy=Team.Assignment.ROUND_ROBIN if manual else None
        )
        changes, quiet = assignment.assignment_changes(ticket, choice)
        services._apply_changes(ticket, changes, actor=actor, reason=reason, quiet=quiet)


def _escalate(ticket: Ticket, value: dict, *, reason: str) -> dict:
    """To the given team, or the first team (by name) of the tier asked for ("next": one up);
    the priority one step up with `raise_priority`. An assignee outside the new team is
    unassigned, so the new tier picks the ticket up. No job is enqueued. The move is
    sla.escalation's, shared with the escalation policies."""
    from sla.escalation import move_ticket, raised, team_for

    team = team_for(ticket, tier=value.get("tier", "next"), team_id=value.get("team"))
    priority = raised(ticket.priority, "up") if value.get("raise_priority") else None
    done = move_ticket(ticket, team=team, priority=priority, reason=reason)
    return {
        "action": "escalate",
        "team": team.pk if team else None,
        "priority": done["priority"],
    }


def _recipients(ticket: Ticket, to: str, *, exclude: int | None) -> list[User]:
    if to == "assignee":
        ids = [ticket.assignee_id] if ticket.assignee_id else []
    elif to == "team":
        members = TeamMember.objects.filter(team_id=ticket.team_id)
        ids = list(members.values_list("user_id", flat=True))
    elif to == "followers":
        ids = list(TicketFollower.objects.filter(ticket=ticket).values_list("user_id", flat=True))
    else:
        return []
    active = Membership.objects.filter(user_id__in=ids, is_active=True).values("user_id")
    return list(User.objects.filter(pk__in=active, is_active=True).exclude(pk=exclude or 0))


def _notify(
    ticket: Ticket, value: dict, *, trigger: Trigger, facts: Facts, ctx: Context, index: int
) -> dict:
    from . import notifications

    to, via = value["to"], value["via"]
    customer = to == "requester"
    agent = ticket.assignee if ticket.assignee_id else None
    subject = render_text(value["subject"], ticket=ticket, agent=agent, customer=customer)
    body = render_text(value["body"], ticket=ticket, agent=agent, customer=customer)
    users = _recipients(ticket, to, exclude=ctx.actor_id)
    if via == "in_app":
        count = notifications.notify(
            recipients=users,
            title=subject,
            body=body,
            ticket=ticket,
            url=reverse("tickets:detail", kwargs={"number": ticket.number}),
            key=f"trigger:{trigger.pk}:{index}:{ctx.event_key}",
        )
    else:
        if to == "requester":
            addresses = [ticket.requester.email] if ticket.requester.email else []
        elif to in NOTIFY_TO:
            addresses = [u.email for u in users]
        else:
            addresses = [to]
        count = len(
            notifications.email(
                to=addresses, subject=subject, body=body, ticket=ticket, trigger=trigger
            )
        )
    return {"action": "notify", "to": to, "via": via, "count": count}


def webhook_payload(ticket: Ticket, *, trigger: Trigger, event: str, message: str) -> dict:
    from tickets.selectors import ticket_tag_names

    requester = ticket.requester
    team = Team.objects.filter(pk=ticket.team_id).first() if ticket.team_id else None
    assignee = User.objects.filter(pk=ticket.assignee_id).first() if ticket.assignee_id else None
    return {
        "event": event,
        "trigger": {"id": trigger.pk, "name": trigger.name},
        "ticket": {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "type": ticket.type,
            "category": ticket.category,
            "channel": ticket.channel,
            "language": ticket.language,
            "tier": ticket.tier,
            "team": team.name if team else None,
            "assignee": {"name": assignee.get_full_name(), "email": assignee.email}
            if assignee
            else None,
            "requester": {"name": requester.name, "email": requester.email},
            "tags": ticket_tag_names(ticket),
            "url": ticket_url(ticket),
            "created_at": ticket.created_at.isoformat(),
        },
        "message": message,
    }


def _webhook(
    ticket: Ticket, value: dict, *, trigger: Trigger, facts: Facts, ctx: Context, index: int
) -> dict:
    from . import notifications

    agent = ticket.assignee if ticket.assignee_id else None
    message = render_text(value.get("body", ""), ticket=ticket, agent=agent)
    payload = webhook_payload(ticket, trigger=trigger, event=ctx.event, message=message)
    notifications.webhook(url=value["url"], payload=payload, ticket=ticket, trigger=trigger)
    return {"action": "webhook", "host": urlsplit(value["url"]).hostname or ""}


def _send_reply(
    ticket: Ticket, value: dict, *, trigger: Trigger, facts: Facts, ctx: Context, index: int
) -> dict:
    from tickets import services

    if facts.automatic:
        return {"action": "send_reply", "skipped": "automatic"}
    agent = ticket.assignee if ticket.assignee_id else None
    body = render_text(value["body"], ticket=ticket, agent=agent, customer=True)
    try:
        message = services.ticket_reply(ticket=ticket, author=None, body_text=body)
    except services.TicketError:
        return {"action": "send_reply", "skipped": "empty"}
    return {"action": "send_reply", "message": message.pk}


def _add_note(
    ticket: Ticket, value: dict, *, trigger: Trigger, facts: Facts, ctx: Context, index: int
) -> dict:
    from tickets import services

    agent = ticket.assignee if ticket.assignee_id else None
    body = render_text(value["body"], ticket=ticket, agent=agent)
    try:
        message = services.ticket_add_note(ticket=ticket, author=None, body_text=body)
    except services.TicketError:
        return {"action": "add_note", "skipped": "empty"}
    return {"action": "add_note", "message": message.pk}


_HANDLERS = {
    "notify": _notify,
    "webhook": _webhook,
    "send_reply": _send_reply,
    "add_note": _add_note,
}


# --- Idle: the beat sweep ----------------------------------------------------------------------


def idle_candidates(trigger: Trigger, *, now: datetime, limit: int = IDLE_BATCH) -> list[int]:
    """Open tickets idle for the trigger's hours that it has not fired on since their last
    activity: one query, the most recently idle first."""
    cutoff = now - timedelta(hours=trigger.idle_hours or 0)
    fired = TriggerFiring.objects.filter(
        trigger=trigger, ticket=OuterRef("pk"), fired_at__gte=OuterRef("last_activity_at")
    )
    return list(
        Ticket.objects.filter(OPEN_UNMERGED, last_activity_at__lte=cutoff)
        .exclude(Exists(fired))
        .order_by("-last_activity_at", "-id")
        .values_list("pk", flat=True)[:limit]
    )


def run_idle(*, now: datetime | None = None, limit: int = IDLE_BATCH) -> int:
    """The current tenant's idle triggers over its idle open tickets. Returns the firings.
    Each ticket is fired on in its own short transaction, locked (a ticket someone is editing
    right now is skipped and comes round at the next sweep)."""
    now = now or timezone.now()
    idle = [(t, c) for t, c in active_triggers() if t.event == Trigger.Event.IDLE and t.idle_hours]
    due: dict[int, list[tuple[Trigger, CompiledRule]]] = {}
    for trigger, compiled in idle:
        for ticket_id in idle_candidates(trigger, now=now, limit=limit):
            due.setdefault(ticket_id, []).append((trigger, compiled))
    fired = 0
    for ticket_id, candidates in due.items():
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("requester__organization")
                .filter(OPEN_UNMERGED, pk=ticket_id)
                .first()
            )
            if ticket is None:
                continue
            still = [
                (t, c)
                for t, c in candidates
                if ticket.last_activity_at <= now - timedelta(hours=t.idle_hours)
            ]
            if not still:
                continue
            facts = facts_for(ticket, now=now)
            context = Context(
                event=Trigger.Event.IDLE, event_key=f"idle:{ticket.last_activity_at.isoformat()}"
            )
            fired += len(_run(still, ticket, facts, context))
    return fired


# --- In words: the timeline and the settings pages -------------------------------------------


def _person(people: dict, user_id: Any) -> str:
    user = people.get(user_id)
    if user is None and user_id:
        user = User.objects.filter(pk=user_id).first()
    return (user.get_full_name() or user.email) if user else _("a former member")


def _team(teams: dict, team_id: Any) -> str:
    team = teams.get(team_id)
    if team is None and team_id:
        team = Team.objects.filter(pk=team_id).first()
    return team.name if team else _("a deleted team")


TO_TEXT = {
    "assignee": lambda: _("the assignee"),
    "team": lambda: _("the team"),
    "followers": lambda: _("the followers"),
    "requester": lambda: _("the requester"),
}


def action_text(item: dict, people: dict | None = None, teams: dict | None = None) -> str:
    """One action in words: a stored action ({"action", "value"}) or what a firing did."""
    from .explain import CHOICES

    people, teams = people or {}, teams or {}
    name = item.get("action", "")
    value = item.get("value")
    details = value if isinstance(value, dict) else item
    if name in rules.FIELD_ACTIONS:
        field_name = rules.FIELD_ACTIONS[name]
        label = (
            dict(CHOICES[field_name].choices).get(value, value) if field_name in CHOICES else value
        )
        field_label = Ticket._meta.get_field(field_name).verbose_name
        return _("set %(field)s to %(value)s") % {"field": field_label, "value": label}
    if name == "set_team":
        return _("set the team to %(team)s") % {"team": _team(teams, value)}
    if name in {"add_tags", "remove_tags", "require_skills"}:
        words = ", ".join(value or [])
        return {
            "add_tags": _("add tags %(tags)s"),
            "remove_tags": _("remove tags %(tags)s"),
            "require_skills": _("needs %(tags)s"),
        }[name] % {"tags": words}
    if name == "assign_to":
        return _("assign to %(who)s") % {"who": _person(people, value)}
    if name == "assign_auto":
        return _("assign by the team's strategy")
    if name == "notify":
        to = details.get("to", "")
        whom = TO_TEXT[to]() if to in TO_TEXT else to
        text = (
            _("notify %(whom)s by email")
            if details.get("via") == "email"
            else _("notify %(whom)s in the app")
        ) % {"whom": whom}
        if "count" in item:
            text += " " + _("(%(n)d)") % {"n": item["count"]}
        return text
    if name == "webhook":
        host = item.get("host") or urlsplit(str(details.get("url", ""))).hostname or ""
        return _("call the webhook at %(host)s") % {"host": host}
    if name == "send_reply":
        if item.get("skipped") == "automatic":
            return _("no reply: the message came from a machine")
        return _("reply to the customer")
    if name == "add_note":
        return _("add an internal note")
    if name == "escalate":
        if "team" in item and "value" not in item:  # what a firing did
            text = (
                _("escalate to %(team)s") % {"team": _team(teams, item["team"])}
                if item.get("team")
                else _("escalate: no team in that tier")
            )
        elif details.get("team"):
            text = _("escalate to %(team)s") % {"team": _team(teams, details["team"])}
        elif details.get("tier", "next") == "next":
            text = _("escalate to the next tier")
        else:
            text = _("escalate to tier %(n)s") % {"n": details.get("tier")}
        if details.get("raise_priority") or item.get("priority"):
            text += ", " + _("raise the priority")
        return text
    spec = rules.ACTIONS.get(name)
    return str(spec.label) if spec else name


def describe_actions(
    actions: list[dict], people: dict | None = None, teams: dict | None = None
) -> str:
    return "; ".join(action_text(item, people, teams) for item in actions or [])


def timeline_text(event: TicketEvent, who: str, people: dict, teams: dict) -> str:
    """The timeline line of trigger_fired, trigger_capped, dispatch_failed and macro_applied."""
    data = event.data or {}
    kind = event.kind
    done = describe_actions(data.get("actions") or [], people, teams)
    if kind == "trigger_fired":
        because = ", ".join(reason_text(r) for r in data.get("because") or [])
        values = {"name": data.get("name", ""), "why": because}
        text = (
            _("Trigger “%(name)s” fired (%(why)s)") if because else _("Trigger “%(name)s” fired")
        ) % values
        return f"{text} → {done}" if done else text
    if kind == "trigger_capped":
        names = ", ".join(t.get("name", "") for t in data.get("triggers") or [])
        return _(
            "Triggers paused on this ticket: %(n)s firings in the last hour (%(names)s did not run)"
        ) % {"n": data.get("cap", FIRINGS_PER_HOUR), "names": names}
    if kind == "dispatch_failed":
        values = {"target": data.get("target", ""), "error": data.get("error", "")}
        if data.get("via") == "webhook" and data.get("status") == "refused":
            return _("The webhook call to %(target)s was refused: %(error)s") % values
        if data.get("via") == "webhook":
            return _("The webhook call to %(target)s failed: %(error)s") % values
        return _("The notification email to %(target)s failed: %(error)s") % values
    if kind == "macro_applied":
        text = _("%(who)s applied the macro “%(name)s”") % {"who": who, "name": data.get("name")}
        return f"{text} → {done}" if done else text
    return _("%(who)s: %(what)s") % {"who": who, "what": kind.replace("_", " ")}


# --- Settings: writes, audited -------------------------------------------------------------------


class TriggerError(Exception):
    """A trigger that breaks a rule; the message is shown as is."""


def _clean(
    *, name: str, event: str, idle_hours: int | None, match: str, conditions: Any, actions: Any
) -> dict:
    name = " ".join(str(name).split())[:100]
    if not name:
        raise TriggerError(_("Give the trigger a name."))
    if event not in Trigger.Event.values:
        raise TriggerError(_("Choose when the trigger runs."))
    if event == Trigger.Event.IDLE:
        if not idle_hours or not 1 <= int(idle_hours) <= MAX_IDLE_HOURS:
            raise TriggerError(
                _("Say after how many idle hours (1 to %(n)d) it runs.") % {"n": MAX_IDLE_HOURS}
            )
    else:
        idle_hours = None
    if match not in {"all", "any"}:
        raise TriggerError(_("Choose whether all or any condition must match."))
    try:
        conditions = rules.validate_conditions(conditions)
        actions = rules.validate_actions(actions)
    except RuleError as error:
        raise TriggerError(error.messages[0]) from None
    if not actions:
        raise TriggerError(_("Add at least one action."))
    return {
        "name": name,
        "event": event,
        "idle_hours": idle_hours,
        "match": match,
        "conditions": conditions,
        "actions": actions,
    }


@transaction.atomic
def trigger_save(
    *,
    actor: User,
    trigger: Trigger | None = None,
    name: str,
    event: str,
    idle_hours: int | None = None,
    match: str = "all",
    is_active: bool = True,
    conditions: Any = (),
    actions: Any = (),
) -> Trigger:
    """Create (`trigger` None; it goes last) or change a trigger."""
    from helpdesk.tenancy.services import audit

    fields = _clean(
        name=name,
        event=event,
        idle_hours=idle_hours,
        match=match,
        conditions=list(conditions),
        actions=list(actions),
    )
    fields["is_active"] = bool(is_active)
    if trigger is None:
        last = Trigger.objects.aggregate(n=Max("position"))["n"]
        trigger = Trigger.objects.create(position=(last or 0) + 1, **fields)
        audit(
            actor=actor,
            action="trigger.create",
            summary=f"Created trigger “{trigger.name}”",
            trigger=trigger.pk,
        )
        return trigger
    for key, value in fields.items():
        setattr(trigger, key, value)
    trigger.save()
    audit(
        actor=actor,
        action="trigger.update",
        summary=f"Changed trigger “{trigger.name}”",
        trigger=trigger.pk,
    )
    return trigger


@transaction.atomic
def trigger_set_active(*, trigger: Trigger, actor: User, active: bool) -> None:
    from helpdesk.tenancy.services import audit

    trigger.is_active = active
    trigger.save(update_fields=["is_active", "updated_at"])
    audit(
        actor=actor,
        action="trigger.activate" if active else "trigger.deactivate",
        summary=f"{'Activated' if active else 'Deactivated'} trigger “{trigger.name}”",
        trigger=trigger.pk,
    )


@transaction.atomic
def trigger_move(*, trigger: Trigger, actor: User, direction: str) -> None:
    """One place up or down: positions are renumbered 1, 2, 3 … in the new order."""
    from helpdesk.lib.ordering import move_one
    from helpdesk.tenancy.services import audit

    if not move_one(Trigger, trigger.pk, direction):
        return
    audit(
        actor=actor,
        action="trigger.move",
        summary=f"Moved trigger “{trigger.name}” {direction}",
        trigger=trigger.pk,
    )


@transaction.atomic
def trigger_delete(*, trigger: Trigger, actor: User) -> None:
    from helpdesk.tenancy.services import audit

    audit(
        actor=actor,
        action="trigger.delete",
        summary=f"Deleted trigger “{trigger.name}”",
        trigger=trigger.pk,
    )
    trigger.delete()

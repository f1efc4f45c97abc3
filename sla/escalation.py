"""Tiered escalation (docs/sla.md › Escalation and alerts).

    on_sla_event(ticket, timer, event=…)    sla.breaches, in the automation job's transaction:
                                            a warning or breach of a running clock
    after_event(job, ticket)                jobs.pipeline, after the triggers: the N-th customer
                                            reply, a complaint
    escalate_manually(ticket=…, actor=…, note=…, token=…)   the agent's "Escalate" button
    move_ticket(ticket, team=…, priority=…)  the move itself, shared with the triggers' `escalate`
    timeline_text(event, who, teams)         the "escalated" line of the timeline

A cause is answered by the first active policy of its kind (position order) whose conditions
hold: priorities, current tiers, current teams, and for SLA causes the clocks. The N-th reply
goes to the policy with the largest N the reply count has reached. Exactly once per (policy,
ticket, cause): an Escalation row is claimed with INSERT … ON CONFLICT DO NOTHING before
anything moves, so a re-run job, a second sweep or a double-clicked button does nothing twice.

An escalation moves the ticket to the next tier's team (the first team of that tier by name)
or a named team; an assignee who is not in the new team is unassigned and, with `reroute`, the
team's assignment strategy picks someone (a manual team keeps it in its queue); the priority
goes one step up or to a level (never down). It leaves an "escalated" TicketEvent saying which
policy did it and why, and the alert rules listening to "escalated" fire (sla.alerts).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.accounts.models import User
from helpdesk.lib import ordering
from tickets.models import Team, TeamMember, Ticket, TicketEvent

from .models import Escalation, EscalationPolicy, SLATimer

When = EscalationPolicy.When
PRIORITIES = [p.value for p in Ticket.Priority]  # low → urgent
COMPLAINT = Ticket.Category.COMPLAINT
# Events of the automation job that may escalate (besides the SLA ones, sla.breaches).
COMPLAINT_EVENTS = frozenset({"created", "updated"})


class EscalationError(Exception):
    """Why a ticket cannot be escalated now; shown to the agent as is."""


# --- The move ------------------------------------------------------------------------------------


def team_for(ticket: Ticket, *, tier: Any = "next", team_id: int | None = None) -> Team | None:
    """A named team, or the first team (by name) of a tier; "next" is one tier up (at most 3)."""
    if team_id:
        return Team.objects.filter(pk=team_id).first()
    level = min((ticket.tier or 1) + 1, 3) if tier == "next" else int(tier)
    return Team.objects.filter(tier=level).order_by("name", "id").first()


def raised(current: str, how: str) -> str:
    """The priority after "up" (one step) or a level (only if higher); "" keeps it."""
    if not how or current not in PRIORITIES:
        return current
    if how == "up":
        return PRIORITIES[min(PRIORITIES.index(current) + 1, len(PRIORITIES) - 1)]
    if how in PRIORITIES and PRIORITIES.index(how) > PRIORITIES.index(current):
        return how
    return current


def move_ticket(
    ticket: Ticket,
    *,
    team: Team | None,
    priority: str | None = None,
    actor: User | None = None,
    reason: str,
    reroute: bool = False,
) -> dict:
    """Move `ticket` (locked) to `team` and/or `priority`, unassigning an assignee outside the
    new team; with `reroute`, the team's strategy assigns it. No job is enqueued (the changes
    go through services._apply_changes). Returns what changed."""
    from tickets import services

    changes: dict = {}
    moved = team is not None and team.pk != ticket.team_id
    if moved:
        changes["team"] = team
        if (
            ticket.assignee_id
            and not TeamMember.objects.filter(team=team, user_id=ticket.assignee_id).exists()
        ):
            changes["assignee"] = None
    if priority and priority != ticket.priority:
        changes["priority"] = priority
    services._apply_changes(ticket, changes, actor=actor, reason=reason)
    done = {"team": team.pk if team else None, "priority": changes.get("priority"),
            "unassigned": "assignee" in changes, "assignee": None}  # fmt: skip
    if moved and reroute and ticket.assignee_id is None:
        done["assignee"] = _reroute(ticket, team, actor=actor, reason=reason)
    return done


def _reroute(ticket: Ticket, team: Team, *, actor: User | None, reason: str) -> int | None:
    """The new team's assignment strategy, at once (inside the team's lock)."""
    from tickets import services
    from tickets.automation import assignment

    if team.assignment == Team.Assignment.MANUAL:
        return None  # agents take it from the team queue
    state = assignment.lock_teams([team.pk]).get(team.pk)
    if state is None:
        return None
    choice = assignment.decide(ticket, state)
    changes, quiet = assignment.assignment_changes(ticket, choice)
    services._apply_changes(ticket, changes, actor=actor, reason=reason, quiet=quiet)
    return choice.user_id


# --- Which policy --------------------------------------------------------------------------------


def _policies(when: str) -> list[EscalationPolicy]:
    from helpdesk.tenancy.context import require_current_tenant
    from tickets.automation.jobs import per_batch

    def load() -> list[EscalationPolicy]:
        rows = EscalationPolicy.objects.filter(is_active=True).select_related("to_team")
        return list(rows.order_by("position", "id"))

    every = per_batch(("escalation-policies", require_current_tenant().pk), load)
    return [p for p in every if p.when == when]


def conditions_hold(policy: EscalationPolicy, ticket: Ticket, *, clock: str = "") -> bool:
    if policy.priorities and ticket.priority not in policy.priorities:
        return False
    if policy.tiers and int(ticket.tier or 1) not in {int(t) for t in policy.tiers}:
        return False
    if policy.teams and (ticket.team_id or 0) not in {int(t) for t in policy.teams}:
        return False
    return not (clock and policy.clock_kinds and clock not in policy.clock_kinds)


def _claim(policy: EscalationPolicy | None, ticket: Ticket, cause: str) -> int | None:
    """The once-key: the new Escalation's id, or None when it was claimed before (INSERT …
    ON CONFLICT DO NOTHING, no savepoint, in the caller's transaction)."""
    table = Escalation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (tenant_id, policy_id, ticket_id, cause, from_tier, note, '  # noqa: S608 - our table name
            "created_at) VALUES (%s, %s, %s, %s, %s, '', %s) ON CONFLICT DO NOTHING RETURNING id",
            [ticket.tenant_id, policy.pk if policy else None, ticket.pk, cause[:100],
             ticket.tier, timezone.now()],
        )  # fmt: skip
        row = cursor.fetchone()
    return row[0] if row else None


def _escalate(
    policy: EscalationPolicy | None,
    ticket: Ticket,
    *,
    cause: str,
    why: dict,
    actor: User | None = None,
    note: str = "",
) -> Escalation | None:
    """Claim, move, record, alert. None when this (policy, ticket, cause) was done before."""
    from tickets import services

    from . import alerts

    escalation_id = _claim(policy, ticket, cause)
    if escalation_id is None:
        return None
    from_tier, from_team = ticket.tier, ticket.team_id
    if policy is None or policy.target == EscalationPolicy.Target.NEXT_TIER:
        team = team_for(ticket)
    else:
        team = policy.to_team
    name = policy.name if policy else ""
    reason = f"escalation: {name}"[:300] if policy else "escalation: manual"
    done = move_ticket(
        ticket,
        team=team,
        priority=raised(ticket.priority, policy.raise_priority if policy else ""),
        actor=actor,
        reason=reason,
        reroute=policy.reroute if policy else True,
    )
    Escalation.objects.filter(pk=escalation_id).update(
        to_tier=ticket.tier, team=team if done["team"] else None, actor=actor, note=note[:500]
    )
    data = {
        "policy": policy.pk if policy else None, "name": name, "from_tier": from_tier,
        "to_tier": ticket.tier, "from_team": from_team, "team": ticket.team_id,
        "moved": ticket.team_id != from_team, "why": why, "note": note[:500],
        "priority": done["priority"], "unassigned": done["unassigned"],
        "assignee": done["assignee"],
    }  # fmt: skip
    services.event(ticket=ticket, kind="escalated", actor=actor, reason=reason, **data)
    if policy is not None:
        EscalationPolicy.objects.filter(pk=policy.pk).update(
            hits=F("hits") + 1, last_fired_at=timezone.now()
        )
    escalation = Escalation(pk=escalation_id, policy=policy, ticket=ticket, cause=cause,
                            from_tier=from_tier, to_tier=ticket.tier)  # fmt: skip
    alerts.raise_alerts(ticket, event="escalated", cause=f"escalation:{escalation_id}",
                        clock_kind=why.get("clock", ""))  # fmt: skip
    return escalation


def _first(when: str, ticket: Ticket, *, clock: str = "") -> EscalationPolicy | None:
    return next((p for p in _policies(when) if conditions_hold(p, ticket, clock=clock)), None)


# --- Causes --------------------------------------------------------------------------------------


def on_sla_event(ticket: Ticket, timer: SLATimer, *, event: str) -> None:
    """A warning or breach of `timer` (still running, ticket open): escalation policies and
    alert rules that listen to `event` act on it."""
    from . import alerts

    cause = f"{event}:{timer.pk}"
    policy = _first(event, ticket, clock=timer.kind)
    if policy is not None:
        _escalate(policy, ticket, cause=cause,
                  why={"event": event, "clock": timer.kind, "cycle": timer.cycle})  # fmt: skip
    alerts.raise_alerts(ticket, event=event, cause=cause, clock_kind=timer.kind)


def customer_reply_count(ticket: Ticket) -> int:
    """Replies of the customer after the message that opened the ticket (the timeline's
    customer_replied events)."""
    return TicketEvent.objects.filter(ticket=ticket, kind="customer_replied").count()


def is_complaint(ticket: Ticket) -> bool:
    """Inquiry type Complaint, or negative sentiment if the classification has it."""
    if ticket.category == COMPLAINT:
        return True
    sentiment = (ticket.classification or {}).get("sentiment") or {}
    label = sentiment.get("label") if isinstance(sentiment, dict) else sentiment
    return label == "negative"


def after_event(job: Any, ticket: Ticket) -> list[Escalation]:
    """jobs.pipeline, after the triggers, for the job's own events (not the SLA ones)."""
    if not ticket.is_open or ticket.merged_into_id:
        return []
    done: list[Escalation] = []
    if job.event == "customer_replied":
        policies = _policies(When.CUSTOMER_REPLIES)
        if policies:
            count = customer_reply_count(ticket)
            reached = [p for p in policies if p.reply_count and p.reply_count <= count
                       and conditions_hold(p, ticket)]  # fmt: skip
            if reached:
                policy = max(reached, key=lambda p: (p.reply_count, -p.position, -p.pk))
                made = _escalate(policy, ticket, cause=f"replies:{policy.reply_count}",
                                 why={"event": "replies", "count": policy.reply_count})  # fmt: skip
                done += [made] if made else []
    if job.event in COMPLAINT_EVENTS and is_complaint(ticket):
        policy = _first(When.COMPLAINT, ticket)
        if policy is not None:
            why = {"event": "complaint",
                   "sentiment": ticket.category != COMPLAINT}  # fmt: skip
            made = _escalate(policy, ticket, cause="complaint", why=why)
            done += [made] if made else []
    return done


def escalate_manually(*, ticket: Ticket, actor: User, note: str, token: str = "") -> Escalation:
    """The agent's "Escalate" with a reason: the first active manual policy whose conditions
    hold, else one tier up (re-routed by the team's strategy). `ticket` must be locked.
    A repeated `token` (a double click, a refresh) does nothing twice."""
    import secrets

    cause = f"manual:{token or secrets.token_urlsafe(12)}"
    done = Escalation.objects.filter(ticket=ticket, cause=cause).first()
    if done is not None:  # the same form sent twice
        return done
    note = " ".join(note.split())
    if not note:
        raise EscalationError(_("Say why the ticket needs escalating."))
    if not ticket.is_open or ticket.merged_into_id:
        raise EscalationError(_("Only open tickets can be escalated."))
    policy = _first(When.MANUAL, ticket)
    if policy is None:
        team = team_for(ticket) if (ticket.tier or 1) < 3 else None
        if team is None or team.pk == ticket.team_id:
            raise EscalationError(_("There is no team in a higher tier to escalate to."))
    made = _escalate(policy, ticket, cause=cause, why={"event": "manual"}, actor=actor, note=note)
    if made is None:
        made = Escalation.objects.filter(ticket=ticket, cause=cause).first()
    return made


# --- The timeline --------------------------------------------------------------------------------


def _ordinal(n: int) -> str:
    return ngettext("%(n)d customer reply", "%(n)d customer replies", n) % {"n": n}


def why_text(why: dict) -> str:
    """The cause in words: "first response breached", "3 customer replies", "a complaint"."""
    event = why.get("event")
    clock = why.get("clock", "")
    clock_label = str(SLATimer.Kind(clock).label).lower() if clock in SLATimer.Kind.values else ""
    if event == "sla_breached":
        return _("%(clock)s breached") % {"clock": clock_label or _("SLA")}
    if event == "sla_warning":
        return _("%(clock)s at risk (SLA warning)") % {"clock": clock_label or _("SLA")}
    if event == "replies":
        return _ordinal(int(why.get("count") or 0))
    if event == "complaint":
        return _("negative sentiment") if why.get("sentiment") else _("a complaint")
    return ""


def timeline_text(event: TicketEvent, who: str, teams: dict) -> str:
    """The "escalated" line: "Escalated to Tier 2 (Billing L2) by policy “Breach → Tier 2”:
    first response breached"."""
    from . import alerts

    if event.kind != "escalated":
        return alerts.timeline_text(event, who)
    data = event.data or {}
    team = teams.get(data.get("team")) if data.get("team") else None
    if team is None and data.get("team"):
        team = Team.objects.filter(pk=data["team"]).first()
    where = (
        _("Tier %(n)s (%(team)s)") % {"n": data.get("to_tier"), "team": team.name}
        if team else _("Tier %(n)s") % {"n": data.get("to_tier")}
    )  # fmt: skip
    why = data.get("note") or why_text(data.get("why") or {})
    values = {"where": where, "name": data.get("name", ""), "who": who, "why": why}
    if not data.get("moved"):
        text = (
            _("Escalation by policy “%(name)s” found no other team to move to")
            if data.get("name")
            else _("%(who)s asked to escalate; there is no other team to move to")
        ) % values  # fmt: skip
    elif data.get("name"):
        text = _("Escalated to %(where)s by policy “%(name)s”") % values
    elif event.actor_id:
        text = _("%(who)s escalated to %(where)s") % values
    else:
        text = _("Escalated to %(where)s") % values
    if why:
        text = _("%(text)s: %(why)s") % {"text": text, "why": why}
    if data.get("priority"):
        label = dict(Ticket.Priority.choices).get(data["priority"], data["priority"])
        text += "; " + _("priority raised to %(priority)s") % {"priority": label}
    return text


# --- Settings: writes, audited (Settings › Escalation policies / Alert rules) -------------------


class SettingsError(Exception):
    """A setting that breaks a rule; the message is shown as is."""


def _save(model: type, obj: Any, *, actor: User, fields: dict, action: str) -> Any:
    from django.db import transaction
    from django.db.models import Max

    from helpdesk.tenancy.services import audit

    name = fields["name"].strip()
    clash = model.objects.filter(name__iexact=name).exclude(pk=getattr(obj, "pk", None))
    if clash.exists():
        raise SettingsError(_("There is one called “%(name)s” already.") % {"name": name})
    with transaction.atomic():
        created = obj is None
        if created:
            top = model.objects.aggregate(top=Max("position"))["top"] or 0
            obj = model(position=top + 1)
        changed = [f for f, v in fields.items() if getattr(obj, f, None) != v]
        for field, value in {**fields, "name": name}.items():
            setattr(obj, field, value)
        obj.save()
        audit(actor=actor, action=f"{action}.{'create' if created else 'update'}",
              summary=obj.name, id=obj.pk, fields=sorted(changed))  # fmt: skip
    return obj


def policy_save(*, actor: User, policy: EscalationPolicy | None, **fields: Any) -> EscalationPolicy:
    team_id = fields.pop("to_team", None)
    fields["to_team"] = Team.objects.filter(pk=team_id).first() if team_id else None
    if fields.get("target") != EscalationPolicy.Target.TEAM:
        fields["to_team"] = None
    if fields.get("when") != When.CUSTOMER_REPLIES:
        fields["reply_count"] = None
    if fields.get("when") not in {When.SLA_WARNING, When.SLA_BREACHED}:
        fields["clock_kinds"] = []
    return _save(EscalationPolicy, policy, actor=actor, fields=fields, action="escalation_policy")


def policy_set_active(*, policy: EscalationPolicy, actor: User, active: bool) -> None:
    ordering.set_active(policy, actor=actor, active=active, action="escalation_policy")


def policy_move(*, policy: EscalationPolicy, actor: User, direction: str) -> bool:
    return ordering.move(policy, actor=actor, direction=direction, action="escalation_policy")


def policy_delete(*, policy: EscalationPolicy, actor: User) -> None:
    ordering.delete(policy, actor=actor, action="escalation_policy")


# --- Settings: in words --------------------------------------------------------------------------


def policy_when_text(policy: EscalationPolicy, teams: dict) -> str:
    """ "SLA breached (First response) · priority Urgent · from Tier 1"."""
    parts = [str(When(policy.when).label) if policy.when in When.values else policy.when]
    if policy.when == When.CUSTOMER_REPLIES and policy.reply_count:
        parts = [_ordinal(policy.reply_count)]
    if policy.clock_kinds:
        parts[0] += " (" + ", ".join(str(SLATimer.Kind(k).label) for k in policy.clock_kinds
                                     if k in SLATimer.Kind.values) + ")"  # fmt: skip
    priorities = dict(Ticket.Priority.choices)
    if policy.priorities:
        parts.append(_("priority %(list)s") % {
            "list": ", ".join(str(priorities.get(p, p)) for p in policy.priorities)})  # fmt: skip
    if policy.tiers:
        parts.append(_("now in %(list)s") % {
            "list": ", ".join(str(Team.Tier(int(t)).label) for t in policy.tiers)})  # fmt: skip
    if policy.teams:
        names = [teams[t].name if t in teams else _("a deleted team") for t in policy.teams]
        parts.append(_("team %(list)s") % {"list": ", ".join(names)})
    return " · ".join(parts)


def policy_then_text(policy: EscalationPolicy) -> str:
    if policy.target == EscalationPolicy.Target.TEAM:
        where = (_("move to %(team)s") % {"team": policy.to_team.name} if policy.to_team
                 else _("move to a deleted team (nothing moves)"))  # fmt: skip
    else:
        where = _("move to the next tier")
    parts = [where]
    if policy.reroute:
        parts.append(_("re-route by the team's strategy"))
    if policy.raise_priority == "up":
        parts.append(_("raise the priority one step"))
    elif policy.raise_priority:
        label = dict(Ticket.Priority.choices).get(policy.raise_priority, policy.raise_priority)
        parts.append(_("raise the priority to %(level)s") % {"level": label})
    return "; ".join(parts)

"""Routing: the tenant's ordered rules on a new ticket, then assignment, with the reasons.

    route(ticket, facts) -> Routing          (writes; one "routed" event explains it all)
    dry_run(facts) -> list[RuleMatch]        ("test this rule": nothing is written)

Rules are tried in position order; every matching rule's actions are folded together (a later
rule overrides an earlier one's field), and a matching rule with `stop` ends the run. Then:
an explicit "assign to" wins; otherwise, when the ticket has a team and either a rule asked
for it or the team assigns automatically, the team's strategy picks the agent (or the ticket
waits in the team queue). The "routed" TicketEvent records which rules matched and why, what
they set and how the assignee was chosen; the timeline renders it in the reader's language.

Compiled rules are cached per worker process and tenant, keyed by the rules' last change, so
a request costs one small query for the version, not a compile.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.db.models import Count, F, Max
from django.utils import timezone

from helpdesk.tenancy.context import require_current_tenant
from tickets.models import Team, Ticket

from . import assignment
from .models import RoutingRule
from .rules import Applied, CompiledRule, Facts, Reason, compile_rule, plan_actions, reasons_data

_cache: dict[int, tuple[tuple, list[tuple[RoutingRule, CompiledRule]]]] = {}
_lock = threading.Lock()


def active_rules() -> list[tuple[RoutingRule, CompiledRule]]:
    tenant_id = require_current_tenant().pk
    rules = RoutingRule.objects.filter(is_active=True)
    version = tuple(rules.aggregate(n=Count("id"), changed=Max("updated_at")).values())
    cached = _cache.get(tenant_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    compiled = [(rule, compile_rule(rule.conditions, rule.match)) for rule in rules.order_by(
        "position", "id")]  # fmt: skip
    with _lock:
        _cache[tenant_id] = (version, compiled)
    return compiled


@dataclass
class RuleMatch:
    rule: RoutingRule
    reasons: list[Reason]


@dataclass
class Routing:
    matches: list[RuleMatch] = field(default_factory=list)
    applied: Applied = field(default_factory=Applied)
    choice: assignment.Choice | None = None
    changed: list[str] = field(default_factory=list)


def dry_run(facts: Facts) -> tuple[list[RuleMatch], Applied]:
    """Which rules would match these facts and what they would do; writes nothing."""
    matches: list[RuleMatch] = []
    applied = Applied()
    for rule, compiled in active_rules():
        reasons = compiled.evaluate(facts)
        if reasons is None:
            continue
        matches.append(RuleMatch(rule, reasons))
        plan_actions(rule.actions, applied)
        if rule.stop:
            break
    return matches, applied


def route(ticket: Ticket, facts: Facts) -> Routing:
    """Run the rules on `ticket` and assign it. Call inside the job's transaction."""
    from tickets import services

    from .rules import write_changes

    matches, applied = dry_run(facts)
    result = Routing(matches=matches, applied=applied)
    reason = ", ".join(m.rule.name for m in matches)[:300] or "routing"
    if matches:
        result.changed = write_changes(ticket, applied, reason=reason)
        RoutingRule.objects.filter(pk__in=[m.rule.pk for m in matches]).update(
            hits=F("hits") + 1, last_matched_at=timezone.now()
        )
    if ticket.assignee_id is None:
        result.choice = _assign(ticket, applied, reason=reason)
    data: dict = {
        "rules": [
            {"id": m.rule.pk, "name": m.rule.name, "because": reasons_data(m.reasons)}
            for m in matches
        ],  # fmt: skip
        "set": {k: getattr(v, "pk", v) for k, v in applied.changes.items()},
    }
    if applied.tags_added:
        data["tags"] = applied.tags_added
    if applied.skills:
        data["skills"] = applied.skills
    if result.choice is not None:
        data["assignment"] = result.choice.as_data()
    if matches or result.choice is not None:
        services.event(ticket=ticket, kind="routed", actor=None, reason=reason, **data)
    return result


def _assign(ticket: Ticket, applied: Applied, *, reason: str) -> assignment.Choice | None:
    from helpdesk.accounts.models import User
    from helpdesk.tenancy.models import Membership
    from tickets import services

    if applied.assign_to is not None:
        if not Membership.objects.filter(user_id=applied.assign_to, is_active=True).exists():
            return assignment.Choice(None, "rule", why_not="not_a_member")
        changes: dict = {"assignee": User.objects.get(pk=applied.assign_to)}
        if ticket.status == Ticket.Status.NEW:
            changes["status"] = Ticket.Status.OPEN
        services._apply_changes(ticket, changes, actor=None, reason=reason)
        return assignment.Choice(applied.assign_to, "rule")
    if ticket.team_id is None:
        return None
    team = Team.objects.get(pk=ticket.team_id)
    if team.assignment == Team.Assignment.MANUAL and not applied.assign_auto:
        return None
    manual = team.assignment == Team.Assignment.MANUAL  # "assign by strategy" on a manual team
    return assignment.assign_in_team(
        ticket, team, reason=reason, strategy=Team.Assignment.ROUND_ROBIN if manual else None
    )

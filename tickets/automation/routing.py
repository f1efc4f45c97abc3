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

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.utils import timezone

from tickets.models import Team, Ticket

from . import assignment
from .models import RoutingRule
from .rules import Applied, CompiledRule, Facts, Reason, active_compiled, plan_actions, reasons_data


def active_rules() -> list[tuple[RoutingRule, CompiledRule]]:
    return active_compiled("routing-rules", RoutingRule)


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
    """Run the rules on `ticket`: one UPDATE for the fields they set, one event per changed
    field and one "routed" event that explains it all. The assignment comes last: inside
    `assigning()` (every job's transaction) it is made when the pipeline is done, all of a
    batch's at once, so a team is locked only for the moment it takes to give its tickets
    out; outside, right away."""
    from tickets import services

    from .rules import write_changes

    matches, applied = dry_run(facts)
    result = Routing(matches=matches, applied=applied)
    reason = ", ".join(m.rule.name for m in matches)[:300] or "routing"
    result.changed = write_changes(ticket, applied, reason=reason)
    explained = None
    if matches:
        _count_hits([m.rule.pk for m in matches])
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
        explained = services.event(ticket=ticket, kind="routed", actor=None, reason=reason,
                                   **data)  # fmt: skip
    if ticket.assignee_id is None:
        priority = applied.changes.get("priority")
        wanted = _Assignment(ticket, applied, reason, explained, priority=priority,
                             skills=applied.skills)  # fmt: skip
        if (waiting := _waiting.get()) is not None:
            waiting.append(wanted)  # made when the job (or the batch) is done
        else:
            result.choice = _assign([wanted])[0]
    return result


def _queue(w: _Assignment) -> None:
    from tickets import services

    services._apply_changes(w.ticket, {}, actor=None, reason=w.reason,
                            quiet={"awaiting_assignment": True})  # fmt: skip
    if w.explained is not None:
        w.explained.data["assignment"] = {"strategy": "queue", "user": None, "queued": True}


_queued: ContextVar[set[int] | None] = ContextVar("queued_for_assignment", default=None)


@contextmanager
def queueing_assignments() -> Iterator[set[int]]:
    """Inside, the batch's assignments take their teams' locks without waiting: a team
    another worker holds gets its tickets queued instead. The caller assigns the queues of
    the set yielded (those, and the teams it held) in a short transaction once its own has
    committed, so no ticket waits for the beat."""
    teams: set[int] = set()
    token = _queued.set(teams)
    try:
        yield teams
    finally:
        _queued.reset(token)


@dataclass
class _Assignment:
    ticket: Ticket
    applied: Applied
    reason: str
    explained: Any  # the "routed" TicketEvent (buffered, or saved), or None
    priority: str | None = None
    skills: list[str] = field(default_factory=list)


_waiting: ContextVar[list[_Assignment] | None] = ContextVar("waiting_assignments", default=None)


@contextmanager
def assigning() -> Iterator[None]:
    """Assignments asked for inside are made on the way out, together: the teams are locked
    (in id order) only then, so a batch holds them for milliseconds, not for its whole run."""
    if _waiting.get() is not None:
        yield
        return
    waiting: list[_Assignment] = []
    token = _waiting.set(waiting)
    try:
        yield
    finally:
        _waiting.reset(token)
    if waiting:
        _assign(waiting)


def _assign(wanted: list[_Assignment]) -> list[assignment.Choice | None]:
    from tickets import services
    from tickets.models import TicketEvent

    teams = {w.ticket.team_id for w in wanted if w.ticket.team_id and w.applied.assign_to is None}
    queued = _queued.get()
    # In a batch, a team another worker is assigning right now is not waited for: its tickets
    # go into its queue, assigned after the batch commits (`queueing_assignments`).
    states = assignment.lock_teams(sorted(teams), skip_locked=queued is not None)
    assignment.read_agents(s for s in states.values()
                           if s.team.assignment != Team.Assignment.MANUAL)  # fmt: skip
    if queued is not None:
        queued.update(states)  # after the commit, also take what others queued meanwhile
    choices = []
    for w in wanted:
        ticket = w.ticket
        state = states.get(ticket.team_id)
        if queued is not None and ticket.team_id in teams and state is None:
            _queue(w)
            queued.add(ticket.team_id)
            choices.append(None)
            continue
        choice = _choose(ticket, w.applied, state, w.priority,
                         skills=w.skills or ticket.required_skills)  # fmt: skip
        choices.append(choice)
        if choice is None:
            continue
        changes, quiet = assignment.assignment_changes(ticket, choice)
        services._apply_changes(ticket, changes, actor=None, reason=w.reason, quiet=quiet)
        if w.explained is None:
            services.event(ticket=ticket, kind="routed", actor=None, reason=w.reason, rules=[],
                           set={}, assignment=choice.as_data())  # fmt: skip
            continue
        w.explained.data["assignment"] = choice.as_data()
        if w.explained.pk is not None:  # not buffered: written already
            TicketEvent.objects.filter(pk=w.explained.pk).update(data=w.explained.data)
    return choices


def _choose(
    ticket: Ticket,
    applied: Applied,
    state: assignment.TeamState | None,
    priority: str | None,
    *,
    skills: list[str],
) -> assignment.Choice | None:
    """Who gets it: the rule's named agent, else the team's strategy (if it assigns, or a
    rule asked for it), else nobody (the ticket stays in the general queue)."""
    from helpdesk.tenancy.models import Membership

    if applied.assign_to is not None:
        member = Membership.objects.filter(user_id=applied.assign_to, is_active=True).values(
            "user_id", "user__email", "user__full_name").first()  # fmt: skip
        if member is None:
            return assignment.Choice(None, "rule", why_not="not_a_member")
        agent = assignment.Agent(
            member["user_id"],
            frozenset(),
            True,
            0,
            name=member["user__full_name"],
            email=member["user__email"],
        )
        return assignment.Choice(agent.user_id, "rule", agent)
    if state is None:
        return None
    manual = state.team.assignment == Team.Assignment.MANUAL
    if manual and not applied.assign_auto:
        return None
    return assignment.decide(
        ticket,
        state,
        priority=priority,  # the rule's, if it set one
        skills=skills,
        strategy=Team.Assignment.ROUND_ROBIN if manual else None,
    )


_pending_hits: ContextVar[dict[int, int] | None] = ContextVar("pending_hits", default=None)


def _count_hits(rule_ids: list[int]) -> None:
    """Rule statistics: one UPDATE per rule now, or per batch inside `counting_hits()`."""
    pending = _pending_hits.get()
    if pending is not None:
        for rule_id in rule_ids:
            pending[rule_id] = pending.get(rule_id, 0) + 1
        return
    RoutingRule.objects.filter(pk__in=rule_ids).update(
        hits=F("hits") + 1, last_matched_at=timezone.now()
    )


@contextmanager
def counting_hits() -> Iterator[None]:
    """Rule statistics of the jobs inside, written once on the way out, in rule id order and
    outside the jobs' transaction (wrap it around the transaction): a counter row must not be
    held locked while a batch works, or workers hitting the same rules take turns (or
    deadlock). Nothing is counted when the block raises: those jobs run again."""
    if _pending_hits.get() is not None:
        yield
        return
    pending: dict[int, int] = {}
    token = _pending_hits.set(pending)
    try:
        yield
    except BaseException:
        pending.clear()
        raise
    finally:
        _pending_hits.reset(token)
    if pending:
        _add_hits(pending)


def _add_hits(counts: dict[int, int]) -> None:
    """One UPDATE for every rule's count (rows locked in id order: no circular waits)."""
    from django.db import connection

    table = RoutingRule._meta.db_table
    values = ", ".join(["(%s::bigint, %s::int)"] * len(counts))
    params = [x for rule_id in sorted(counts) for x in (rule_id, counts[rule_id])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS r SET hits = r.hits + v.n, last_matched_at = now() "  # noqa: S608
            f"FROM (VALUES {values}) AS v(id, n) WHERE r.id = v.id",
            params,
        )

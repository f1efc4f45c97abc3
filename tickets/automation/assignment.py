"""Who gets the ticket: a team's strategy over its members' availability, skills and capacity.

    choose(team, priority, skills) -> Choice      (inside the team's lock; pure on its inputs)
    lock_teams(ids) -> {id: TeamState}            (SELECT … FOR UPDATE in id order, agents read)
    decide(ticket, state) -> Choice               (choose, and count it against the agent)
    assign_waiting(team) -> int                   (the queue, oldest first, while capacity lasts)

- Round-robin: members in a fixed order (user id); the next eligible one after whoever got the
  team's last ticket. Over any run of tickets the counts differ by at most one per member.
- Least-loaded: the eligible member with the smallest load, open tickets weighted by priority
  (low/normal 1, high 2, urgent 3); ties go to fewer open tickets, then round-robin order.
- Eligible: an active member of the tenant, availability online (away and offline get no
  work), holding every skill the ticket requires, with fewer open tickets than their capacity.
- Nobody eligible: the ticket waits in the team queue (`awaiting_assignment`), and is assigned
  by `assign_waiting` as soon as capacity frees up (a ticket solved or reassigned, an agent
  back online, more capacity) or by the beat sweep.

Assignments in one team are serialised by locking the team row (SELECT … FOR UPDATE), so two
workers can never both give the last free slot away. Inside `holding_teams()` (a batch of
jobs in one transaction) a team is locked and its loads read once, then kept current.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db.models import Case, Count, Exists, OuterRef, Subquery, Sum, When
from django.db.models.functions import Coalesce

from helpdesk.tenancy.models import Membership
from tickets.models import OPEN_UNMERGED, Team, TeamMember, Ticket

from .models import AgentProfile

WEIGHTS = {"low": 1, "normal": 1, "high": 2, "urgent": 3}
DEFAULT_CAPACITY = AgentProfile._meta.get_field("capacity").default
QUEUE_BATCH = 200  # tickets looked at per assign_waiting run


@dataclass
class Agent:
    user_id: int
    skills: frozenset[str]
    online: bool
    capacity: int
    open: int = 0
    load: int = 0
    name: str = ""
    email: str = ""

    def user(self):
        """The user, for writing the assignment (no query: the fields came with the load)."""
        from helpdesk.accounts.models import User

        user = User(id=self.user_id, email=self.email, full_name=self.name)
        user._state.adding, user._state.db = False, "default"
        return user


@dataclass
class Choice:
    user_id: int | None
    strategy: str
    agent: Agent | None = None
    others: list[Agent] = field(default_factory=list)  # the other eligible members
    why_not: str = ""  # no_members / nobody_online / no_skills / at_capacity
    snapshot: dict | None = None

    def as_data(self) -> dict:
        if self.snapshot is not None:
            return self.snapshot
        data: dict = {"strategy": self.strategy, "user": self.user_id}
        if self.agent is not None:
            data.update(open=self.agent.open, load=self.agent.load)
            data["others"] = [{"user": a.user_id, "open": a.open, "load": a.load}
                              for a in self.others[:5]]  # fmt: skip
        if self.why_not:
            data["why_not"] = self.why_not
        return data


def team_agents(team: Team) -> list[Agent]:
    """The team's active members with availability, capacity and current load: one query
    (open tickets counted and weighted per member from the open-assignee index)."""
    return teams_agents([team.pk]).get(team.pk, [])


def teams_agents(team_ids: Iterable[int]) -> dict[int, list[Agent]]:
    """`team_agents` for several teams with one query."""
    open_tickets = (
        Ticket.objects.filter(OPEN_UNMERGED, assignee_id=OuterRef("user_id"))
        .order_by()
        .values("assignee_id")
    )
    weight = Case(*[When(priority=p, then=w) for p, w in WEIGHTS.items()], default=1)
    profile = AgentProfile.objects.filter(user_id=OuterRef("user_id"))
    rows = (
        TeamMember.objects.filter(team_id__in=list(team_ids), user__is_active=True)
        .filter(Exists(Membership.objects.filter(user_id=OuterRef("user_id"), is_active=True)))
        .annotate(
            open=Coalesce(Subquery(open_tickets.annotate(n=Count("id")).values("n")), 0),
            load=Coalesce(Subquery(open_tickets.annotate(w=Sum(weight)).values("w")), 0),
            availability=Subquery(profile.values("availability")[:1]),
            capacity=Subquery(profile.values("capacity")[:1]),
        )
        .order_by("team_id", "user_id")
        .values("team_id", "user_id", "skills", "open", "load", "availability", "capacity",
                "user__email", "user__full_name")
    )  # fmt: skip
    found: dict[int, list[Agent]] = {}
    for row in rows:
        found.setdefault(row["team_id"], []).append(Agent(
            user_id=row["user_id"],
            skills=frozenset(s.lower() for s in (row["skills"] or [])),
            online=(row["availability"] or AgentProfile.Availability.ONLINE)
            == AgentProfile.Availability.ONLINE,
            capacity=DEFAULT_CAPACITY if row["capacity"] is None else row["capacity"],
            open=row["open"],
            load=row["load"],
            name=row["user__full_name"] or "",
            email=row["user__email"],
        ))  # fmt: skip
    return found


def choose(
    agents: list[Agent], *, strategy: str, skills: list[str], last_user_id: int | None
) -> Choice:
    """Pure: the member `strategy` picks among `agents` (sorted by user id), or why nobody."""
    if not agents:
        return Choice(None, strategy, why_not="no_members")
    online = [a for a in agents if a.online]
    if not online:
        return Choice(None, strategy, why_not="nobody_online")
    needed = {s.lower() for s in skills}
    skilled = [a for a in online if needed <= a.skills]
    if not skilled:
        return Choice(None, strategy, why_not="no_skills")
    eligible = [a for a in skilled if a.open < a.capacity]
    if not eligible:
        return Choice(None, strategy, why_not="at_capacity")
    ring = _ring(eligible, last_user_id)
    if strategy == Team.Assignment.LEAST_LOADED:
        picked = min(ring, key=lambda a: (a.load, a.open))  # min() keeps the first of equals
    else:
        picked = ring[0]
    return Choice(picked.user_id, strategy, picked, [a for a in eligible if a is not picked])


def _ring(agents: list[Agent], last_user_id: int | None) -> list[Agent]:
    """The agents in round-robin order: whoever follows `last_user_id` first."""
    if last_user_id is None:
        return agents
    after = [a for a in agents if a.user_id > last_user_id]
    return after + [a for a in agents if a.user_id <= last_user_id]


# --- Teams locked for this transaction ----------------------------------------------------------


@dataclass
class TeamState:
    """A team locked for the rest of the transaction, with its agents' loads kept current as
    tickets are given out (so a batch of tickets reads the loads once)."""

    team: Team
    last_assigned: int | None
    dirty: bool = False
    known_agents: list[Agent] | None = None  # read on first use: an empty queue needs none

    @property
    def agents(self) -> list[Agent]:
        if self.known_agents is None:
            self.known_agents = team_agents(self.team)
        return self.known_agents


_held: ContextVar[dict[int, TeamState] | None] = ContextVar("held_teams", default=None)


@contextmanager
def holding_teams() -> Iterator[dict[int, TeamState]]:
    """Inside: a team locked once stays locked and cached until the transaction ends; on the
    way out each team's round-robin position is written once. Use inside the transaction."""
    if _held.get() is not None:
        yield _held.get()
        return
    held: dict[int, TeamState] = {}
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)
    for state in held.values():
        if state.dirty:
            Team.objects.filter(pk=state.team.pk).update(last_assigned_id=state.last_assigned)


def lock_teams(team_ids: Iterable[int], *, skip_locked: bool = False) -> dict[int, TeamState]:
    """Lock these teams (in id order, so two workers never wait on each other in a circle)
    and read their agents; cached when inside holding_teams(). With `skip_locked`, a team
    another transaction holds is left out instead of waited for."""
    held = _held.get()
    known = held if held is not None else {}
    wanted = sorted({t for t in team_ids if t is not None and t not in known})
    if wanted:
        # NO KEY UPDATE: tickets being written with this team_id only need KEY SHARE on the
        # row (the foreign key check); FOR UPDATE would block them, and deadlock two workers.
        rows = Team.objects.select_for_update(skip_locked=skip_locked, no_key=True).filter(
            pk__in=wanted
        )
        for team in rows.order_by("pk"):
            known[team.pk] = TeamState(team, team.last_assigned_id)
    return {t: known[t] for t in team_ids if t in known}


def read_agents(states: Iterable[TeamState]) -> None:
    """Read the agents of these locked teams with one query (instead of one per team)."""
    missing = {s.team.pk: s for s in states if s.known_agents is None}
    if not missing:
        return
    found = teams_agents(missing)
    for team_id, state in missing.items():
        state.known_agents = found.get(team_id, [])


def decide(
    ticket: Ticket,
    state: TeamState,
    *,
    strategy: str | None = None,
    priority: str | None = None,
    skills: list[str] | None = None,
) -> Choice:
    """Pick the assignee in a locked team and count the ticket against them (not written:
    the caller writes the ticket; `save_position` writes the team's round-robin position).
    `priority` and `skills` default to the ticket's (routing passes what its rules set)."""
    choice = choose(
        state.agents,
        strategy=strategy or state.team.assignment,
        skills=list(ticket.required_skills if skills is None else skills),
        last_user_id=state.last_assigned,
    )
    choice.snapshot = choice.as_data()  # the loads as they were when it was decided
    if choice.agent is not None:
        weight = WEIGHTS.get(priority or ticket.priority, 1)
        for agent in _same_person(choice.agent, state):  # also a member of other held teams
            agent.open += 1
            agent.load += weight
        state.last_assigned, state.dirty = choice.user_id, True
        if _held.get() is None:
            save_position(state)
    return choice


def _same_person(agent: Agent, state: TeamState) -> list[Agent]:
    held = _held.get() or {}
    others = [
        a for other in held.values() if other is not state and other.known_agents
        for a in other.known_agents if a.user_id == agent.user_id
    ]  # fmt: skip
    return [agent, *others]


def save_position(state: TeamState) -> None:
    Team.objects.filter(pk=state.team.pk).update(last_assigned_id=state.last_assigned)
    state.dirty = False


def assignment_changes(ticket: Ticket, choice: Choice) -> tuple[dict, dict]:
    """The field changes (with events) and the quiet bookkeeping for a choice."""
    if choice.agent is None:
        return {}, {"awaiting_assignment": True}
    changes: dict = {"assignee": choice.agent.user()}
    if ticket.status == Ticket.Status.NEW:
        changes["status"] = Ticket.Status.OPEN
    return changes, {"awaiting_assignment": False}


def assign_waiting(team: Team) -> int:
    """Assign the team's queued tickets, oldest first, while anyone has capacity. Returns how
    many were assigned. Call in a transaction; idempotent (an assigned ticket leaves the
    queue in the same UPDATE that assigns it)."""
    return assign_waiting_teams([team.pk])[0]


def assign_waiting_teams(
    team_ids: Iterable[int], *, skip_locked: bool = False
) -> tuple[int, set[int]]:
    """`assign_waiting` for several teams at once: one lock statement, one query for the
    agents, one for the queued tickets. With `skip_locked`, teams another worker is assigning
    are left to it. Returns (tickets assigned, the teams it held)."""
    from tickets import services

    states = lock_teams(team_ids, skip_locked=skip_locked)
    auto = {t: s for t, s in states.items() if s.team.assignment != Team.Assignment.MANUAL}
    if not auto:
        return 0, set(states)
    waiting = list(
        Ticket.objects.filter(OPEN_UNMERGED, team_id__in=list(auto), awaiting_assignment=True,
                              assignee__isnull=True)
        .order_by("created_at", "id")[:QUEUE_BATCH * len(auto)]
    )  # fmt: skip
    if waiting:
        read_agents(auto.values())
    assigned = 0
    full: set[int] = set()  # teams where nobody can take any more this round
    for ticket in waiting:
        if ticket.team_id in full:
            continue
        choice = decide(ticket, auto[ticket.team_id])
        if choice.user_id is None:
            if choice.why_not in {"nobody_online", "at_capacity", "no_members"}:
                full.add(ticket.team_id)  # tickets needing skills may still fit below
            continue
        changes, quiet = assignment_changes(ticket, choice)
        services._apply_changes(ticket, changes, actor=None, reason="queue", quiet=quiet)
        services.event(ticket=ticket, kind="assigned_from_queue", actor=None, reason="queue",
                       **choice.as_data())  # fmt: skip
        assigned += 1
    return assigned, set(states)

"""Who gets the ticket: a team's strategy over its members' availability, skills and capacity.

    choose(team, priority, skills) -> Choice      (inside the team's lock; pure on its inputs)
    assign_in_team(ticket, team) -> Choice        (choose, then write; or put it in the queue)
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
workers can never both give the last free slot away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

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


@dataclass
class Choice:
    user_id: int | None
    strategy: str
    agent: Agent | None = None
    others: list[Agent] = field(default_factory=list)  # the other eligible members
    why_not: str = ""  # no_members / nobody_online / no_skills / at_capacity

    def as_data(self) -> dict:
        data: dict = {"strategy": self.strategy, "user": self.user_id}
        if self.agent is not None:
            data.update(open=self.agent.open, load=self.agent.load)
            data["others"] = [{"user": a.user_id, "open": a.open, "load": a.load}
                              for a in self.others[:5]]  # fmt: skip
        if self.why_not:
            data["why_not"] = self.why_not
        return data


def team_agents(team: Team) -> list[Agent]:
    """The team's active members with availability, capacity and current load (3 queries)."""
    members = {
        m["user_id"]: frozenset(s.lower() for s in (m["skills"] or []))
        for m in TeamMember.objects.filter(team=team).values("user_id", "skills")
    }
    active = set(
        Membership.objects.filter(user_id__in=members, is_active=True, user__is_active=True)
        .values_list("user_id", flat=True)
    )  # fmt: skip
    profiles = {
        p["user_id"]: p
        for p in AgentProfile.objects.filter(user_id__in=active).values(
            "user_id", "availability", "capacity"
        )
    }
    agents = {}
    for user_id in sorted(active):
        profile = profiles.get(user_id, {})
        agents[user_id] = Agent(
            user_id=user_id,
            skills=members[user_id],
            online=profile.get("availability", AgentProfile.Availability.ONLINE)
            == AgentProfile.Availability.ONLINE,
            capacity=profile.get("capacity", DEFAULT_CAPACITY),
        )
    rows = (
        Ticket.objects.filter(OPEN_UNMERGED, assignee_id__in=list(agents))
        .values("assignee_id", "priority")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        agent = agents[row["assignee_id"]]
        agent.open += row["n"]
        agent.load += row["n"] * WEIGHTS.get(row["priority"], 1)
    return list(agents.values())


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


def _locked(team: Team) -> Team:
    return Team.objects.select_for_update().get(pk=team.pk)


def assign_in_team(
    ticket: Ticket, team: Team, *, reason: str, strategy: str | None = None
) -> Choice:
    """Assign by the team's strategy (or `strategy`), or queue the ticket in the team. Call in
    a transaction."""
    team = _locked(team)
    choice = choose(
        team_agents(team),
        strategy=strategy or team.assignment,
        skills=list(ticket.required_skills or []),
        last_user_id=team.last_assigned_id,
    )
    if choice.user_id is None:
        if not ticket.awaiting_assignment:
            Ticket.objects.filter(pk=ticket.pk).update(awaiting_assignment=True)
            ticket.awaiting_assignment = True
        return choice
    _give(ticket, team, choice, reason=reason)
    return choice


def _give(ticket: Ticket, team: Team, choice: Choice, *, reason: str) -> None:
    from helpdesk.accounts.models import User
    from tickets import services

    user = User.objects.get(pk=choice.user_id)
    changes: dict = {"assignee": user}
    if ticket.status == Ticket.Status.NEW:
        changes["status"] = Ticket.Status.OPEN
    services._apply_changes(ticket, changes, actor=None, reason=reason[:300])
    if ticket.awaiting_assignment:
        Ticket.objects.filter(pk=ticket.pk).update(awaiting_assignment=False)
        ticket.awaiting_assignment = False
    Team.objects.filter(pk=team.pk).update(last_assigned_id=choice.user_id)
    team.last_assigned_id = choice.user_id


def assign_waiting(team: Team) -> int:
    """Assign the team's queued tickets, oldest first, while anyone has capacity. Returns how
    many were assigned. Call in a transaction; idempotent (an assigned ticket leaves the
    queue in the same transaction)."""
    from tickets import services

    team = _locked(team)
    if team.assignment == Team.Assignment.MANUAL:
        return 0
    waiting = list(
        Ticket.objects.filter(OPEN_UNMERGED, team=team, awaiting_assignment=True)
        .filter(Q(assignee__isnull=True))
        .order_by("created_at", "id")[:QUEUE_BATCH]
    )
    if not waiting:
        return 0
    agents = team_agents(team)
    assigned = 0
    for ticket in waiting:
        choice = choose(agents, strategy=team.assignment, skills=list(ticket.required_skills),
                        last_user_id=team.last_assigned_id)  # fmt: skip
        if choice.user_id is None:
            if choice.why_not in {"nobody_online", "at_capacity", "no_members"}:
                break  # nobody can take any more; tickets needing skills may still fit below
            continue
        _give(ticket, team, choice, reason="queue")
        services.event(ticket=ticket, kind="assigned_from_queue", actor=None, reason="queue",
                       **choice.as_data())  # fmt: skip
        choice.agent.open += 1
        choice.agent.load += WEIGHTS.get(ticket.priority, 1)
        assigned += 1
    if assigned:
        Ticket.objects.filter(
            pk__in=[t.pk for t in waiting], assignee__isnull=False, awaiting_assignment=True
        ).update(awaiting_assignment=False, updated_at=timezone.now())
    return assigned

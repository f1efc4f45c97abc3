"""Which SLA policy a ticket gets, its targets, and what the auto-reply may promise.

- `policy_for(ticket)`: the first active policy, in position order, whose conditions match.
- `targets_for(policy, priority)`: {"first_response", "next_response", "resolution"} minutes
  (None: no target), the policy's per-priority overrides applied.
- `first_response_promise(ticket)`: when the first answer is due, and whether the team is open
  now or when it opens ("we answer within 2 business hours" / "we are closed until Monday 09:00").
- `default_calendar()`: the tenant's default BusinessCalendar, or None.

Conditions have the shape of routing rules ([{"field", "op", "value"}], match all or any) and
the fields SLAs need: priority, channel, requester_tier (the requester's effective tier: the
higher of their own and their organization's), category and team (team ids as text); ops
"in" / "not_in". They are checked here, in plain Python, against an explicit allow-list.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from tickets.models import CustomerTier, Ticket

from . import calendar as calmath

if TYPE_CHECKING:
    from .models import BusinessCalendar, SLAPolicy

TARGETS = ("first_response", "next_response", "resolution")
OPS = ("in", "not_in")
MAX_CONDITIONS = 30
MAX_VALUES = 200


class ConditionError(ValueError):
    """A policy's conditions or overrides are not valid."""


def _field_values() -> dict[str, set[str] | None]:
    """Allowed values per field (None: any id, checked as digits)."""
    return {
        "priority": set(Ticket.Priority.values),
        "channel": set(Ticket.Channel.values),
        "requester_tier": set(CustomerTier.values),
        "category": set(Ticket.Category.values),
        "team": None,
    }


def validate_conditions(conditions: Any) -> list[dict]:
    """The conditions, checked and normalised (values as lists of text)."""
    if not isinstance(conditions, list):
        raise ConditionError("Conditions must be a list.")
    if len(conditions) > MAX_CONDITIONS:
        raise ConditionError(f"At most {MAX_CONDITIONS} conditions.")
    allowed = _field_values()
    cleaned = []
    for n, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict):
            raise ConditionError(f"Condition {n} is not a condition.")
        name, op = str(condition.get("field", "")), str(condition.get("op", ""))
        if name not in allowed:
            raise ConditionError(f"Condition {n}: unknown field “{name}”.")
        if op not in OPS:
            raise ConditionError(f"Condition {n}: “{op}” does not apply to {name}.")
        raw = condition.get("value")
        items = raw if isinstance(raw, list) else [raw]
        values = [str(v).strip() for v in items[:MAX_VALUES] if v is not None and str(v).strip()]
        if not values:
            raise ConditionError(f"Condition {n}: give at least one value.")
        choices = allowed[name]
        for value in values:
            if (choices is None and not value.isdigit()) or (choices and value not in choices):
                raise ConditionError(f"Condition {n}: unknown value “{value}”.")
        cleaned.append({"field": name, "op": op, "value": values})
    return cleaned


def validate_per_priority(overrides: Any) -> dict:
    if not isinstance(overrides, dict):
        raise ConditionError("Per-priority targets must map priorities to targets.")
    for priority, targets in overrides.items():
        if priority not in Ticket.Priority.values:
            raise ConditionError(f"Unknown priority “{priority}”.")
        if not isinstance(targets, dict):
            raise ConditionError(f'{priority}: give targets such as {{"first_response": 60}}.')
        for key, minutes in targets.items():
            if key not in TARGETS:
                raise ConditionError(f"{priority}: unknown target “{key}”.")
            if minutes is not None and (
                isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0
            ):
                raise ConditionError(f"{priority}: {key} must be whole minutes (or null).")
    return overrides


def ticket_facts(ticket: Ticket) -> dict[str, str]:
    """What SLA conditions look at (the requester and organization should be select_related)."""
    return {
        "priority": ticket.priority,
        "channel": ticket.channel,
        "requester_tier": ticket.requester.effective_tier,
        "category": ticket.category,
        "team": "" if ticket.team_id is None else str(ticket.team_id),
    }


def conditions_match(conditions: list[dict], match: str, facts: dict[str, str]) -> bool:
    """Do the conditions hold? No conditions: yes. Unknown fields never match."""
    if not conditions:
        return True
    results = (_holds(condition, facts) for condition in conditions)
    return any(results) if match == "any" else all(results)


def _holds(condition: dict, facts: dict[str, str]) -> bool:
    name = condition.get("field")
    if name not in facts:
        return False
    raw = condition.get("value")
    values = {str(v) for v in (raw if isinstance(raw, list) else [raw])}
    inside = facts[name] in values
    return inside if condition.get("op") == "in" else not inside


@dataclass(frozen=True)
class _Config:
    policies: tuple[SLAPolicy, ...]
    default: BusinessCalendar | None


_configs: dict[tuple, _Config] = {}
_configs_lock = threading.Lock()
CONFIGS_MAX = 1000
# One round trip says whether the tenant's SLA configuration changed: a digest of every
# column of its policies and calendars (tens of rows), so any write counts, even a bulk
# UPDATE that skips save(). (A calendar's dates bump the calendar, sla.services.)
_STAMP = """
SELECT (SELECT md5(coalesce(string_agg(p::text, ',' ORDER BY p.id), ''))
        FROM sla_slapolicy p WHERE p.tenant_id = %(t)s),
       (SELECT md5(coalesce(string_agg(c::text, ',' ORDER BY c.id), ''))
        FROM sla_businesscalendar c WHERE c.tenant_id = %(t)s)
"""


def _config() -> _Config:
    """The tenant's active policies (in order, calendars selected) and default calendar:
    kept in-process per configuration stamp, so a ticket's recompute costs one small query
    for it (none inside an automation batch, which asks once)."""
    from django.db import connection

    from helpdesk.tenancy.context import require_current_tenant
    from tickets.automation.jobs import per_batch

    from .models import BusinessCalendar, SLAPolicy

    tenant_id = require_current_tenant().pk

    def load() -> _Config:
        with connection.cursor() as cursor:
            cursor.execute(_STAMP, {"t": tenant_id})
            key = (tenant_id, *cursor.fetchone())
        with _configs_lock:
            found = _configs.get(key)
        if found is not None:
            return found
        rows = SLAPolicy.objects.filter(is_active=True).select_related("calendar")
        made = _Config(tuple(rows.order_by("position", "id")),
                       BusinessCalendar.objects.filter(is_default=True).first())  # fmt: skip
        with _configs_lock:
            if len(_configs) >= CONFIGS_MAX:
                _configs.clear()
            _configs[key] = made
        return made

    return per_batch(("sla-config", tenant_id), load)


def active_policies() -> tuple[SLAPolicy, ...]:
    """The tenant's active policies in position order (cached per configuration stamp)."""
    return _config().policies


def policy_for(ticket: Ticket) -> SLAPolicy | None:
    """The first active policy, in position order, whose conditions the ticket meets."""
    facts = ticket_facts(ticket)
    for policy in active_policies():
        if conditions_match(policy.conditions, policy.match, facts):
            return policy
    return None


def targets_for(policy: SLAPolicy, priority: str) -> dict[str, int | None]:
    """Target minutes per kind for a ticket of `priority`, overrides applied."""
    targets = {
        "first_response": policy.first_response_minutes,
        "next_response": policy.next_response_minutes,
        "resolution": policy.resolution_minutes,
    }
    override = (policy.per_priority or {}).get(priority) or {}
    targets.update({k: v for k, v in override.items() if k in TARGETS})
    return targets


def default_calendar() -> BusinessCalendar | None:
    """The tenant's default calendar (cached with the policies)."""
    return _config().default


@dataclass(frozen=True)
class Promise:
    """What the acknowledgement may tell the customer about the first answer.

    due: when the first response is due (UTC), None without a policy or target; open_now:
    whether the team's calendar is open at `now`; opens_at: when it next opens, if closed;
    minutes / business_hours: the target as configured ("within 120 business minutes").
    """

    due: datetime | None
    open_now: bool
    opens_at: datetime | None
    policy: str = ""
    minutes: int | None = None
    business_hours: bool = False


def first_response_promise(ticket: Ticket, now: datetime | None = None) -> Promise:
    from .selectors import calendar_for, opening_hours_for

    now = now or timezone.now()
    policy = policy_for(ticket)
    hours = opening_hours_for(policy)  # the team's hours, even when the clock runs 24/7
    open_now = hours is None or calmath.is_open(hours, now)
    opens_at = None
    with suppress(calmath.NoOpenTimeError):  # a calendar with no hours at all promises nothing
        opens_at = None if open_now else calmath.next_open(hours, now)
    if policy is None:
        return Promise(due=None, open_now=open_now, opens_at=opens_at)
    minutes = targets_for(policy, ticket.priority)["first_response"]
    due = None
    if minutes is not None:
        with suppress(calmath.NoOpenTimeError):
            due = calmath.add_business_time(calendar_for(policy), ticket.created_at or now, minutes)
    return Promise(
        due=due,
        open_now=open_now,
        opens_at=opens_at,
        policy=policy.name,
        minutes=minutes,
        business_hours=policy.business_hours,
    )

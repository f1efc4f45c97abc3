"""Automatic decisions in words, in the reader's language (DESIGN.md §5: every automatic
decision leaves an event that says which rule did it and why).

    routing_text(data, names) -> "Rule “VIP refunds” matched (customer tier = VIP, keyword
        “退款” in subject or message) → team Billing (Tier 2); assigned to Wang Fang by
        least-loaded (3 open vs 5)"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from tickets.models import Ticket

from .rules import reason_text

STRATEGIES = {
    "round_robin": lambda: _("round-robin"),
    "least_loaded": lambda: _("least-loaded"),
    "rule": lambda: _("the rule"),
    "manual": lambda: _("round-robin"),
}
WHY_NOT = {
    "no_members": lambda: _("the team has no members"),
    "nobody_online": lambda: _("nobody in the team is online"),
    "no_skills": lambda: _("nobody online has the skills it needs"),
    "at_capacity": lambda: _("everyone online is at capacity"),
    "not_a_member": lambda: _("that agent is no longer a member"),
}
CHOICES = {
    "priority": Ticket.Priority,
    "type": Ticket.Type,
    "category": Ticket.Category,
    "status": Ticket.Status,
}


class Names:
    """Who and which team an id is, for the text (looked up by the caller, once)."""

    def __init__(self, user: Callable[[Any], str], team: Callable[[Any], str]):
        self.user, self.team = user, team


def _set_text(field: str, value: Any, names: Names) -> str:
    if field == "team":
        return _("team %(team)s") % {"team": names.team(value)}
    if field in CHOICES:
        label = dict(CHOICES[field].choices).get(value, value)
        return f"{Ticket._meta.get_field(field).verbose_name} {label}"
    return f"{field} {value}"


def assignment_text(data: dict, names: Names) -> str:
    strategy = STRATEGIES.get(data.get("strategy", ""), lambda: data.get("strategy", ""))()
    if data.get("queued"):
        return _("queued for assignment")
    if data.get("user") is None:
        why = WHY_NOT.get(data.get("why_not", ""), lambda: "")()
        return _("waiting in the team queue: %(why)s") % {"why": why} if why else _(
            "waiting in the team queue")  # fmt: skip
    text = _("assigned to %(who)s by %(strategy)s") % {
        "who": names.user(data["user"]), "strategy": strategy}  # fmt: skip
    if "open" in data:
        others = [str(o.get("open", 0)) for o in data.get("others", [])]
        if others:
            text += " " + _("(%(open)d open vs %(others)s)") % {
                "open": data["open"], "others": ", ".join(others)}  # fmt: skip
        else:
            text += " " + _("(%(open)d open)") % {"open": data["open"]}
    return text


def routing_text(data: dict, names: Names) -> str:
    parts = []
    for rule in data.get("rules", []):
        because = ", ".join(reason_text(r) for r in rule.get("because", []))
        parts.append(
            _("Rule “%(name)s” matched (%(why)s)") % {"name": rule.get("name", ""), "why": because}
            if because
            else _("Rule “%(name)s” matched") % {"name": rule.get("name", "")}
        )
    text = "; ".join(parts)
    done = [_set_text(field, value, names) for field, value in (data.get("set") or {}).items()]
    if data.get("tags"):
        done.append(_("tags %(tags)s") % {"tags": ", ".join(data["tags"])})
    if data.get("skills"):
        done.append(_("needs %(skills)s") % {"skills": ", ".join(data["skills"])})
    if done:
        text += " → " + ", ".join(done)
    if data.get("assignment"):
        assigned = assignment_text(data["assignment"], names)
        text = f"{text}; {assigned}" if text else assigned[:1].upper() + assigned[1:]
    return text or _("No routing rule matched")

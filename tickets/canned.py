"""Canned responses (预制回复): placeholders filled from the ticket, its requester and the agent.

Placeholders are a fixed list, substituted as plain text; no template language runs on text
that admins type, so a canned response cannot reach anything else.
"""

from __future__ import annotations

import re

from helpdesk.accounts.models import User

from .models import CannedResponse, Ticket

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")


def placeholders(*, ticket: Ticket, agent: User) -> dict[str, str]:
    requester = ticket.requester
    return {
        "contact.name": requester.name,
        "contact.first_name": (requester.name or "").split(" ")[0],
        "contact.email": requester.email,
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "agent.name": agent.get_full_name(),
        "agent.first_name": agent.get_short_name(),
    }


def canned_render(*, canned: CannedResponse, ticket: Ticket, agent: User) -> str:
    values = placeholders(ticket=ticket, agent=agent)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), canned.body)

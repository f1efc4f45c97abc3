"""Tiered escalation and SLA alerts (docs/sla.md › Escalation)."""

from __future__ import annotations

from tickets.models import Ticket

from .models import SLATimer


def on_sla_event(ticket: Ticket, timer: SLATimer, *, event: str) -> None:
    """A warning or breach of `timer` (still running, ticket open): escalation policies and
    alert rules that listen to `event` act on it."""

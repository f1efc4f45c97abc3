"""Ordered settings rows (routing rules, triggers, SLA and escalation policies, alert rules):
move one a place up or down; pause, move and delete one with its audit entry.

    move_one(model, pk, direction)                          the move itself
    set_active(obj, actor=…, active=…, action="alert_rule")   audited "<action>.activate" …
    move(obj, actor=…, direction=…, action=…)                 audited "<action>.move"
    delete(obj, actor=…, action=…)                            audited "<action>.delete"
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone


def move_one(model: type[models.Model], pk: int, direction: str) -> bool:
    """Swap the row with its neighbour ("up" / "down") in (position, id) order and renumber
    the rows 1, 2, 3 …; call in a transaction (the rows are locked). False at either end.
    Uses the model's default manager, so a tenant's rows only."""
    order = list(model.objects.select_for_update().order_by("position", "id"))
    at = next((i for i, row in enumerate(order) if row.pk == pk), None)
    other = None if at is None else (at - 1 if direction == "up" else at + 1)
    if other is None or not 0 <= other < len(order):
        return False
    order[at], order[other] = order[other], order[at]
    now = timezone.now()
    for position, row in enumerate(order, start=1):
        if row.position != position:
            model.objects.filter(pk=row.pk).update(position=position, updated_at=now)
    return True


def set_active(obj: Any, *, actor: Any, active: bool, action: str) -> bool:
    """Pause or activate a row (`is_active`, `updated_at` bumped for caches keyed on it).
    False, and no audit entry, when it already was."""
    from helpdesk.tenancy.services import audit

    if obj.is_active == active:
        return False
    with transaction.atomic():
        obj.is_active = active
        obj.save(update_fields=["is_active", "updated_at"])
        audit(actor=actor, action=f"{action}.{'activate' if active else 'deactivate'}",
              summary=obj.name[:300], id=obj.pk)  # fmt: skip
    return True


def move(obj: Any, *, actor: Any, direction: str, action: str) -> bool:
    """One place up or down (positions renumbered 1, 2, 3 …), audited; False at an end."""
    from helpdesk.tenancy.services import audit

    with transaction.atomic():
        moved = move_one(type(obj), obj.pk, direction)
        if moved:
            audit(actor=actor, action=f"{action}.move", summary=obj.name[:300], id=obj.pk,
                  direction=direction)  # fmt: skip
    return moved


def delete(obj: Any, *, actor: Any, action: str) -> None:
    from helpdesk.tenancy.services import audit

    with transaction.atomic():
        audit(actor=actor, action=f"{action}.delete", summary=obj.name[:300], id=obj.pk)
        obj.delete()

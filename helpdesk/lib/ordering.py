"""Ordered rows (routing rules, triggers): move one a place up or down."""

from __future__ import annotations

from django.db import models
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

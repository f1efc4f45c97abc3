from __future__ import annotations

from celery import shared_task


@shared_task
def sweep_sla() -> dict[str, int]:
    """Beat, every minute: SLA warnings and breaches, across tenants (sla.sweep)."""
    from .sweep import sweep

    result = sweep()
    return {"breached": result.breached, "warned": result.warned}

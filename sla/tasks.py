from __future__ import annotations

from celery import shared_task

from helpdesk.tenancy.tasks import tenant_task


@shared_task
def sweep_sla() -> dict[str, int]:
    """Beat, every minute: SLA warnings and breaches, across tenants (sla.sweep)."""
    from .sweep import sweep

    result = sweep()
    return {"breached": result.breached, "warned": result.warned}


@shared_task
def sweep_alert_chains() -> int:
    """Beat, every minute: the tenants whose unacknowledged alerts have a chain step due, read
    across tenants on the owner connection; one advance_alert_chains task each (sla.alerts)."""
    from .alerts import sweep

    return len(sweep())


@tenant_task()
def advance_alert_chains() -> int:
    """This tenant's due chain steps, claimed and told exactly once (safe twice)."""
    from .alerts import advance

    return advance()

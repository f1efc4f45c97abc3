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
def resend_lost_sla_marks() -> int:
    """Beat, every 5 minutes: warnings and breaches marked but not handled (sla.sweep)."""
    from .sweep import resend_lost

    return resend_lost().resent


@tenant_task(bind=True, max_retries=5)
def handle_sla_marks(self, *, timer_ids: list[int]) -> dict[str, int]:
    """Record, escalate and alert the warnings and breaches the sweep marked (sla.breaches):
    once, in one transaction; retried with backoff if it fails (the sweep resends too)."""
    from .breaches import handle_marks

    try:
        return handle_marks(timer_ids)
    except Exception as error:  # noqa: BLE001 - retried; the marks stay until handled
        raise self.retry(countdown=min(300, 10 * 2**self.request.retries), exc=error) from None


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

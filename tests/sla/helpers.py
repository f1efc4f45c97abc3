"""What the worker would do next, run in the test process: the pending automation jobs
(which start SLA clocks) and the SLA marks the sweep made (warnings, breaches)."""

from __future__ import annotations

from helpdesk.tenancy.context import tenant_context
from sla import breaches
from tickets.automation import jobs
from tickets.automation.models import AutomationJob


def run_pending(tenant) -> None:
    with tenant_context(tenant):
        for _round in range(3):  # escalation can queue jobs of its own
            ids = list(
                AutomationJob.objects.filter(done_at__isnull=True).values_list("id", flat=True)
            )
            if ids:
                jobs.run_many(ids)
            marks = breaches.handle_pending()
            if not ids and not any(marks.values()):
                break

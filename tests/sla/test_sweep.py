"""The SLA sweep: set-based, exactly once under concurrent beats, across tenants through the
owner connection, and blind to what is not yet due."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections, transaction

from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from sla.models import SLATimer
from sla.sweep import sweep
from tests.factories import ContactFactory, MembershipFactory
from tests.sla.factories import SLAPolicyFactory
from tickets import services
from tickets.automation import jobs
from tickets.automation.models import AutomationJob
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


def open_urgent(tenant, count: int) -> None:
    SLAPolicyFactory(tenant=tenant, name="Urgent", business_hours=False,
                     conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
                     first_response_minutes=60, resolution_minutes=240)  # fmt: skip
    contact = ContactFactory(tenant=tenant, user=None)
    with tenant_context(tenant), transaction.atomic():
        for n in range(count):
            services.ticket_create(requester=contact, subject=f"Down {n}",
                                   priority=Ticket.Priority.URGENT)  # fmt: skip
    with tenant_context(tenant):
        ids = list(AutomationJob.objects.filter(done_at__isnull=True).values_list("id", flat=True))
        jobs.run_many(ids)


def sla_jobs(tenant, event: str) -> list[AutomationJob]:
    with tenant_context(tenant):
        return list(AutomationJob.objects.filter(event=event))


def test_two_concurrent_sweeps_mark_every_breach_exactly_once(tenant_a, tenant_b):
    open_urgent(tenant_a, 30)
    open_urgent(tenant_b, 20)
    later = clock.now() + timedelta(minutes=61)
    first_marked, results = threading.Event(), {}

    def first_beat() -> None:
        # Its marks stay uncommitted (row locks held) while the second beat runs into them.
        try:
            with transaction.atomic(using="owner"):
                results["first"] = sweep(now=later, send=False)
                first_marked.set()
                time.sleep(1.0)
        finally:
            connections.close_all()

    def second_beat() -> None:
        try:
            first_marked.wait(10)
            began = time.monotonic()
            results["second"] = sweep(now=later, send=False)
            results["waited"] = time.monotonic() - began
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_beat), threading.Thread(target=second_beat)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["first"].breached == 50 and results["second"].breached == 0
    assert results.pop("waited") > 0.5  # it really ran into the first beat's locks
    results = list(results.values())
    assert sum(r.breached for r in results) == 50  # first response of each ticket, once
    assert sum(r.warned for r in results) == 0  # a breach found in one go is only a breach
    for tenant, count in ((tenant_a, 30), (tenant_b, 20)):
        breached = sla_jobs(tenant, "sla_breached")
        assert len(breached) == count
        assert len({job.data["timer"] for job in breached}) == count
        assert all(job.tenant_id == tenant.pk for job in breached)
    assert sweep(now=later, send=False).breached == 0


def test_the_sweep_skips_what_is_not_due_and_what_was_answered(tenant_a):
    open_urgent(tenant_a, 3)
    agent = MembershipFactory(tenant=tenant_a).user
    with tenant_context(tenant_a):
        answered = Ticket.objects.order_by("id").first()
        services.ticket_reply(ticket=answered, author=agent,
                              body_text="Looking now.")  # fmt: skip
    assert sweep(now=clock.now() + timedelta(minutes=30), send=False).warned == 0
    result = sweep(now=clock.now() + timedelta(minutes=46), send=False)
    assert result.warned == 2  # 75 % of an hour; the answered ticket's clock is met
    with tenant_context(tenant_a):
        met = SLATimer.objects.get(ticket=answered, kind="first_response")
        assert met.state == "met" and met.warned_at is None


def test_the_sweep_reads_only_due_timers_by_index(tenant_a):
    open_urgent(tenant_a, 2)
    with connections["owner"].cursor() as cursor:
        cursor.execute("ANALYZE sla_slatimer")
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM sla_slatimer WHERE state = 'running' "
            "AND breached_at IS NULL AND due_at <= now()"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "slatimer_breach_due" in plan

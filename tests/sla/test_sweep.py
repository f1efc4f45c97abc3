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
from sla import breaches
from sla import sweep as sla_sweep
from sla.models import SLATimer
from sla.sweep import resend_lost, sweep
from tests.factories import ContactFactory, MembershipFactory
from tests.sla.factories import SLAPolicyFactory
from tickets import services
from tickets.automation import jobs
from tickets.automation.models import AutomationJob
from tickets.models import Ticket, TicketEvent

HOT_UPDATES = "SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'sla_slatimer'"
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


def open_urgent(tenant, count: int) -> None:
    SLAPolicyFactory(tenant=tenant, name="Urgent", business_hours=False, position=1,
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
        assert len(results[0].timers[tenant.pk]) == count
        with tenant_context(tenant):
            marked = SLATimer.objects.filter(breached_at__isnull=False)
            assert marked.count() == count  # each tenant's own, through the owner connection
            assert not marked.filter(breach_handled_at__isnull=False).exists()
            breaches.handle_pending()
            assert marked.filter(breach_handled_at__isnull=False).count() == count
            events = TicketEvent.objects.filter(kind="sla_breached")
            assert events.count() == count  # recorded once each
            breaches.handle_pending()  # again: nothing left to do
            assert events.count() == count
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
        now = clock.now()
        cursor.execute("EXPLAIN " + sla_sweep._BREACH.format(timers="sla_slatimer"),
                       {"now": now, "real_now": now})  # fmt: skip
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "slatimer_breach_due" in plan


def test_marks_whose_task_was_lost_are_sent_again(tenant_a):
    open_urgent(tenant_a, 2)
    later = clock.now() + timedelta(minutes=61)
    first = sweep(now=later, send=False)  # marked; the task "lost" (never sent)
    assert first.breached == 2
    assert resend_lost(now=later, send=False).resent == 0  # too soon to call it lost
    with connections["owner"].cursor() as cursor:  # two minutes pass on the wall clock
        cursor.execute("UPDATE sla_slatimer SET updated_at = updated_at - interval '3 minutes'")
    assert sweep(now=later, send=False).breached == 0  # marked once, however often swept
    again = resend_lost(now=later, send=False)
    assert again.resent == 2 and set(again.timers) == {tenant_a.pk}
    with tenant_context(tenant_a):
        breaches.handle_pending()
    assert resend_lost(now=later, send=False).resent == 0  # handled: out of the index


def test_the_sweeps_update_writes_no_index_entry(tenant_a):
    """HOT: a marked row's new version stays on its page and no index is touched (as long as
    no index names breached_at / warned_at and the page has room, as it does when a sweep
    marks a few rows of a page)."""
    SLAPolicyFactory(tenant=tenant_a, name="Standard", business_hours=False, position=100_000,
                     first_response_minutes=480, resolution_minutes=2880)  # fmt: skip
    contact = ContactFactory(tenant=tenant_a, user=None)
    with tenant_context(tenant_a), transaction.atomic():
        for n in range(20):
            services.ticket_create(requester=contact, subject=f"Question {n}")
    open_urgent(tenant_a, 2)
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(HOT_UPDATES)
        before = cursor.fetchone()[0]
    result = sweep(now=clock.now() + timedelta(minutes=61), send=False)
    assert (result.breached, result.warned) == (2, 0)
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(HOT_UPDATES)
        assert cursor.fetchone()[0] - before == 2

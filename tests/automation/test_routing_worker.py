"""Routing through a REAL Celery worker: fairness over 1,000 tickets, capacity under
least-loaded, a worker killed mid-job (nothing half done, nothing done twice), and a task lost
at commit picked up by the beat sweep."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from tests.factories import ContactFactory, MembershipFactory
from tests.worker import celery_worker, smtp_sink
from tickets import services
from tickets.automation.models import AgentProfile, AutomationJob, RoutingRule
from tickets.models import Team, TeamMember, Ticket, TicketEvent
from tickets.tasks import sweep_automation

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "owner"]),
]


def wait_until(check, timeout: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def setup_team(tenant, n: int, *, strategy: str, capacities=None) -> tuple[Team, list]:
    users = [MembershipFactory(tenant=tenant, user__email=f"w{strategy}{i}@alpha.test").user
             for i in range(n)]  # fmt: skip
    with tenant_context(tenant):
        team = Team.objects.create(name=f"Team {strategy}", assignment=strategy)
        for i, user in enumerate(users):
            TeamMember.objects.create(team=team, user=user)
            if capacities:
                AgentProfile.objects.create(user=user, capacity=capacities[i])
        RoutingRule.objects.create(name=f"To {strategy}", conditions=[
            {"field": "subject", "op": "contains_any", "value": [strategy]}],
            actions=[{"action": "set_team", "value": team.pk}])  # fmt: skip
    return team, users


def open_tickets(tenant, count: int, subject: str) -> None:
    contact = ContactFactory(tenant=tenant)
    with tenant_context(tenant), transaction.atomic():  # one commit: one task for all the jobs
        for n in range(count):
            services.ticket_create(requester=contact, subject=f"{subject} {n}")


def pending(tenant) -> int:
    with tenant_context(tenant):
        return AutomationJob.objects.filter(done_at__isnull=True).count()


def test_round_robin_and_least_loaded_through_the_worker(tenant_a):
    rr_team, rr_users = setup_team(tenant_a, 7, strategy="round_robin", capacities=[500] * 7)
    ll_team, ll_users = setup_team(tenant_a, 3, strategy="least_loaded", capacities=[5, 10, 20])
    with smtp_sink() as (_sink, port), celery_worker(port):
        open_tickets(tenant_a, 1000, "round_robin")
        open_tickets(tenant_a, 50, "least_loaded")
        wait_until(lambda: pending(tenant_a) == 0, what="1,050 routing jobs")
    with tenant_context(tenant_a):
        counts = [Ticket.objects.filter(assignee=u).count() for u in rr_users]
        assert sum(counts) == 1000
        assert max(counts) - min(counts) <= 1, counts
        loads = [Ticket.objects.filter(assignee=u).count() for u in ll_users]
        assert loads == [5, 10, 20]  # every agent filled to capacity, never above
        queued = Ticket.objects.filter(team=ll_team, assignee__isnull=True)
        assert queued.count() == 15 and all(t.awaiting_assignment for t in queued)
        assert TicketEvent.objects.filter(kind="routed").count() == 1050


def test_a_worker_killed_mid_job_leaves_nothing_half_done(tenant_a):
    team, users = setup_team(tenant_a, 2, strategy="round_robin")
    contact = ContactFactory(tenant=tenant_a)
    with tenant_context(tenant_a):
        ticket = services.ticket_create(requester=contact, subject="round_robin crash")
        job = AutomationJob.objects.get(ticket=ticket)
    locked, release = threading.Event(), threading.Event()

    def hold_the_ticket() -> None:  # an agent's long edit: the job must wait for the row
        try:
            with tenant_context(tenant_a), transaction.atomic():
                Ticket.objects.select_for_update().get(pk=ticket.pk)
                locked.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_ticket)
    holder.start()
    assert locked.wait(10)
    try:
        with smtp_sink() as (_sink, port), celery_worker(port) as worker:
            with tenant_context(tenant_a):
                wait_until(lambda: AutomationJob.objects.get(pk=job.pk).attempts == 1,
                           timeout=30, what="the worker to start the job")  # fmt: skip
            time.sleep(0.5)  # it is now blocked on the ticket row, inside its transaction
            worker.kill()
            worker.wait(10)
    finally:
        release.set()
        holder.join(30)
    with tenant_context(tenant_a):
        job.refresh_from_db()
        assert job.done_at is None and job.attempts == 1
        assert not TicketEvent.objects.filter(ticket=ticket, kind="routed").exists()
        assert Ticket.objects.get(pk=ticket.pk).assignee_id is None
        # The task died with its worker (acked late; Redis would redeliver it hours later):
        # the beat sweep sends the job again once it is a minute old.
        AutomationJob.objects.filter(pk=job.pk).update(
            created_at=timezone.now() - timedelta(minutes=2)
        )
    with smtp_sink() as (_sink, port), celery_worker(port):
        assert sweep_automation()["jobs"] == 1
        wait_until(lambda: pending(tenant_a) == 0, timeout=30, what="the swept job")
        assert sweep_automation()["jobs"] == 0
    with tenant_context(tenant_a):
        job.refresh_from_db()
        assert job.done_at is not None and job.attempts == 2
        assert TicketEvent.objects.filter(ticket=ticket, kind="routed").count() == 1
        assert TicketEvent.objects.filter(ticket=ticket, kind="assignee").count() == 1
        assert Ticket.objects.get(pk=ticket.pk).assignee in users


def test_redis_down_while_the_web_tier_saves_loses_no_routing(tenant_a):
    """A ticket saved by another process while its broker is unreachable: the save succeeds,
    the task is not sent, the job row waits; once Redis is back the beat sweep routes it."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    from tests.worker import ROOT, _url, free_port

    setup_team(tenant_a, 2, strategy="round_robin")
    contact = ContactFactory(tenant=tenant_a, email="offline@example.cn")
    script = (
        "from helpdesk.tenancy.context import tenant_context\n"
        "from helpdesk.tenancy.models import Tenant\n"
        "from tickets import services\nfrom tickets.models import Contact\n"
        f"with tenant_context(Tenant.objects.get(pk={tenant_a.pk})):\n"
        f"    t = services.ticket_create(requester=Contact.objects.get(pk={contact.pk}),"
        " subject='round_robin while Redis is down')\n"
        "    print(t.number)\n"
    )
    env = {**os.environ, "DATABASE_URL": _url("default"), "DATABASE_OWNER_URL": _url("owner"),
           "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
           "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
           "HELPDESK_TESTING": "true"}  # fmt: skip
    saved = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert saved.returncode == 0, saved.stderr[-2000:]
    number = int(saved.stdout.strip().splitlines()[-1])
    assert "not sent; the sweep will" in saved.stderr
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get(number=number)
        job = AutomationJob.objects.get(ticket=ticket)
        assert job.done_at is None and ticket.assignee_id is None
        AutomationJob.objects.filter(pk=job.pk).update(
            created_at=timezone.now() - timedelta(minutes=2)
        )
    with smtp_sink() as (_sink, port), celery_worker(port):
        assert sweep_automation()["jobs"] == 1
        wait_until(lambda: pending(tenant_a) == 0, timeout=30, what="the swept job")
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        assert ticket.assignee_id is not None
        assert TicketEvent.objects.filter(ticket=ticket, kind="routed").count() == 1

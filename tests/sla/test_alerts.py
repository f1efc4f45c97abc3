"""Alert rules (预警): who hears about a warning, a breach or an escalation, once; the
acknowledgement chain advanced by the beat sweep (time moved with helpdesk.lib.clock.travel),
stopped by an acknowledgement in the notification centre, exactly once under two sweeps."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from sla import alerts, escalation
from sla.models import Alert, AlertRule, EscalationPolicy, SLATimer
from sla.sweep import sweep
from tests.factories import MembershipFactory, make_ticket
from tests.sla.factories import SLAPolicyFactory
from tests.sla.test_escalation import run_pending, urgent_ticket
from tickets.automation import notifications
from tickets.automation.models import Dispatch, Notification
from tickets.models import Team, TeamMember, Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


@pytest.fixture(autouse=True)
def _clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def people(tenant_a):
    def member(email, role=Membership.Role.AGENT):
        return MembershipFactory(tenant=tenant_a, user__email=email, role=role).user

    found = {"one": member("one@alpha.test"), "taylor": member("taylor@alpha.test"),
             "manager": member("boss@alpha.test", Membership.Role.MANAGER),
             "named": member("named@alpha.test")}  # fmt: skip
    with tenant_context(tenant_a):
        tier1 = Team.objects.create(name="Tier 1 Support", tier=1)
        tier2 = Team.objects.create(name="Billing L2", tier=2, assignment="round_robin")
        TeamMember.objects.create(team=tier1, user=found["one"])
        TeamMember.objects.create(team=tier2, user=found["taylor"])
    return {**found, "tier1": tier1, "tier2": tier2}


@pytest.fixture
def urgent_sla(tenant_a):
    return SLAPolicyFactory(
        tenant=tenant_a, name="Urgent", business_hours=False,
        conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=240,
    )  # fmt: skip


def rule(tenant, **fields) -> AlertRule:
    defaults = {"name": "Breach → team", "event": "sla_breached", "level": "critical",
                "recipients": ["team"], "via": ["in_app"]}  # fmt: skip
    with tenant_context(tenant):
        return AlertRule.objects.create(**{**defaults, **fields})


def notes(tenant, user=None) -> list[Notification]:
    with tenant_context(tenant):
        rows = (
            Notification.objects.all()
            if user is None
            else Notification.objects.filter(recipient=user)
        )
        return list(rows.order_by("id"))


def breach(tenant, people) -> Ticket:
    ticket = urgent_ticket(tenant, {"tier1": people["tier1"], "one": people["one"]})
    sweep(now=ticket.created_at + timedelta(minutes=61), send=False)
    run_pending(tenant)
    return ticket


def test_breach_alerts_the_new_team_critically_once(tenant_a, people, urgent_sla):
    with tenant_context(tenant_a):
        EscalationPolicy.objects.create(name="Breach → Tier 2", when="sla_breached")
    rule(tenant_a)
    ticket = breach(tenant_a, people)
    [note] = notes(tenant_a)
    assert note.recipient_id == people["taylor"].pk  # the team after the escalation
    assert note.level == "critical" and note.ticket_id == ticket.pk
    assert note.title.startswith("SLA breached (First response): #")
    with tenant_context(tenant_a):
        alert = Alert.objects.get()
        assert (alert.step, alert.next_step_at, alert.level) == (1, None, "critical")
        timer = SLATimer.objects.get(ticket=ticket, kind="first_response")
        with transaction.atomic():  # a re-run of the job's alerts
            alerts.raise_alerts(ticket, event="sla_breached", cause=f"sla_breached:{timer.pk}",
                                clock_kind="first_response")  # fmt: skip
        assert Alert.objects.count() == 1
        assert TicketEvent.objects.filter(ticket=ticket, kind="alerted").count() == 1
    assert len(notes(tenant_a)) == 1


def test_rules_on_escalated_and_clock_filters(tenant_a, people, urgent_sla):
    with tenant_context(tenant_a):
        EscalationPolicy.objects.create(name="Breach → Tier 2", when="sla_breached")
    rule(tenant_a, name="On escalation", event="escalated", level="warning",
         recipients=["assignee"])  # fmt: skip
    rule(tenant_a, name="Resolution only", clock_kinds=["resolution"], recipients=["managers"])
    breach(tenant_a, people)
    [note] = notes(tenant_a)
    assert (note.recipient_id, note.level) == (people["taylor"].pk, "warning")
    assert note.title.startswith("Escalated: #")


def test_email_and_webhook_go_through_the_outbox(tenant_a, people, urgent_sla):
    rule(tenant_a, recipients=["assignee", "managers"], via=["in_app", "email", "webhook"],
         webhook_url="https://hooks.example.com/helpdesk")  # fmt: skip
    ticket = breach(tenant_a, people)
    with tenant_context(tenant_a):
        sent = Dispatch.objects.filter(ticket=ticket).order_by("kind", "target")
        assert [(d.kind, d.target) for d in sent] == [
            ("email", "boss@alpha.test"), ("email", "one@alpha.test"),
            ("webhook", "https://hooks.example.com/helpdesk"),
        ]  # fmt: skip
        hook = sent.get(kind="webhook")
        assert hook.payload["alert"]["level"] == "critical"
        assert hook.payload["ticket"]["number"] == ticket.number


def chain_rule(tenant, people) -> AlertRule:
    return rule(tenant, recipients=["assignee"], ack_within_minutes=30,
                chain=[{"recipients": ["managers"]}, {"users": [people["named"].pk]}])  # fmt: skip


def test_chain_tells_managers_then_named_people_when_nobody_acknowledges(
    tenant_a, people, urgent_sla
):
    chain_rule(tenant_a, people)
    ticket = breach(tenant_a, people)
    assert [n.recipient_id for n in notes(tenant_a)] == [people["one"].pk]
    assert alerts.sweep(send=False) == []  # nothing due yet
    clock.travel(minutes=31)
    assert alerts.sweep(send=False) == [tenant_a.pk]
    assert [n.recipient_id for n in notes(tenant_a)] == [people["one"].pk, people["manager"].pk]
    step2 = notes(tenant_a, people["manager"])[0]
    assert step2.title.startswith("Not acknowledged: SLA breached") and step2.level == "critical"
    assert alerts.sweep(send=False) == []  # step 3 is 30 minutes after step 2
    clock.travel(minutes=31)
    alerts.sweep(send=False)
    assert notes(tenant_a)[-1].recipient_id == people["named"].pk
    clock.travel(minutes=120)
    assert alerts.sweep(send=False) == []  # the end of the chain
    with tenant_context(tenant_a):
        alert = Alert.objects.get()
        assert (alert.step, alert.next_step_at) == (3, None)
        lines = [e.data["step"] for e in TicketEvent.objects.filter(ticket=ticket, kind="alerted")]
    assert lines == [1, 2, 3]


def test_acknowledging_a_notification_stops_the_chain(tenant_a, people, urgent_sla):
    chain_rule(tenant_a, people)
    ticket = breach(tenant_a, people)
    [note] = notes(tenant_a)
    with tenant_context(tenant_a):
        assert notifications.acknowledge(user=people["one"], notification_id=note.pk)
        alert = Alert.objects.get()
        assert alert.acknowledged_by_id == people["one"].pk and alert.next_step_at is None
        event = TicketEvent.objects.get(ticket=ticket, kind="alert_acknowledged")
        assert event.actor_id == people["one"].pk
    clock.travel(minutes=90)
    assert alerts.sweep(send=False) == []
    assert len(notes(tenant_a)) == 1


def test_a_later_step_acknowledged_acknowledges_the_whole_alert(tenant_a, people, urgent_sla):
    chain_rule(tenant_a, people)
    breach(tenant_a, people)
    clock.travel(minutes=31)
    alerts.sweep(send=False)
    manager_note = notes(tenant_a, people["manager"])[0]
    with tenant_context(tenant_a):
        notifications.acknowledge(user=people["manager"], notification_id=manager_note.pk)
        assert Alert.objects.get().acknowledged_by_id == people["manager"].pk
        # The assignee's own notification no longer asks to be acknowledged.
        assert not notifications.notification_list(people["one"], show="ack").exists()
    clock.travel(minutes=31)
    assert alerts.sweep(send=False) == []


def test_two_concurrent_sweeps_take_each_step_once(tenant_a, people, urgent_sla):
    chain_rule(tenant_a, people)
    for _n in range(3):
        breach(tenant_a, people)
    clock.travel(minutes=31)
    barrier = threading.Barrier(2)
    taken: list[int] = []

    def run() -> None:
        try:
            with tenant_context(tenant_a):
                barrier.wait(10)
                taken.append(alerts.advance())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(taken) == [0, 3]
    assert len(notes(tenant_a, people["manager"])) == 3
    with tenant_context(tenant_a):
        assert set(Alert.objects.values_list("step", flat=True)) == {2}


def test_the_sweep_reads_across_tenants_and_works_inside_each(tenant_a, tenant_b, people,
                                                                urgent_sla):  # fmt: skip
    chain_rule(tenant_a, people)
    breach(tenant_a, people)
    other = MembershipFactory(tenant=tenant_b, role=Membership.Role.MANAGER).user
    with tenant_context(tenant_b):
        b_rule = AlertRule.objects.create(
            name="B", event="escalated", recipients=["assignee"], ack_within_minutes=5,
            chain=[{"recipients": ["managers"]}],
        )  # fmt: skip
    b_ticket = make_ticket(tenant_b, assignee=other)
    with tenant_context(tenant_b):
        Alert.objects.create(rule=b_rule, ticket=b_ticket, cause="escalation:1", level="warning",
                             next_step_at=clock.now() + timedelta(minutes=5))  # fmt: skip
    clock.travel(minutes=31)
    assert alerts.sweep(send=False) == sorted([tenant_a.pk, tenant_b.pk])
    assert [n.recipient_id for n in notes(tenant_b)] == [other.pk]
    assert people["manager"].pk in [n.recipient_id for n in notes(tenant_a)]


def test_alert_lines_on_the_timeline(tenant_a, people, urgent_sla):
    from django.utils import translation

    from tickets.views.ticket import event_text

    chain_rule(tenant_a, people)
    ticket = breach(tenant_a, people)
    clock.travel(minutes=31)
    alerts.sweep(send=False)
    with tenant_context(tenant_a), translation.override("en"):
        rows = TicketEvent.objects.filter(ticket=ticket, kind="alerted").order_by("id")
        texts = [event_text(e, {}, {}) for e in rows]
    assert texts == [
        "Alert “Breach → team” (Critical) sent to 1 person",
        "Nobody acknowledged the alert “Breach → team” in 30 min: step 2 told 1 person",
    ]
    assert escalation.why_text({"event": "replies", "count": 2}) == "2 customer replies"

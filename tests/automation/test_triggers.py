"""Triggers, run the way the worker runs them (tickets.automation.jobs.run) against real
Postgres: every event including idle, conditions and order, the loop guard (no ping-pong, a
re-run fires nothing twice, the hourly cap), the actions of triggers, the SSRF guard of
webhooks, and what the timeline says."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.db.models import F
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from tests.factories import ContactFactory, MembershipFactory
from tickets import services
from tickets.automation import jobs, notifications, triggers
from tickets.automation.models import AutomationJob, Dispatch, Notification, Trigger, TriggerFiring
from tickets.automation.rules import RuleError, validate_actions
from tickets.models import Message, Team, TeamMember, Ticket, TicketEvent, TicketFollower
from tickets.views.ticket import event_text

pytestmark = pytest.mark.django_db


def run_pending() -> list[str]:
    ids = (
        AutomationJob.objects.filter(done_at__isnull=True)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    return [jobs.run(pk) for pk in ids]


def trigger(
    admin, name: str, event: str, actions: list, conditions: list | None = None, **extra
) -> Trigger:
    return triggers.trigger_save(
        actor=admin, name=name, event=event, actions=actions, conditions=conditions or [], **extra
    )


def new_ticket(subject="Where is my parcel?", body="Order 123 never came.", **kw) -> Ticket:
    requester = kw.pop("requester", None) or ContactFactory(
        tenant=kw.pop("tenant"), email="li.na@example.cn", name="Li Na", user=None
    )
    return services.ticket_create(
        requester=requester, subject=subject, body_text=body, channel=Ticket.Channel.EMAIL, **kw
    )


def tag_names(ticket: Ticket) -> set[str]:
    from tickets.selectors import ticket_tag_names

    return set(ticket_tag_names(ticket))


def timeline(ticket: Ticket) -> list[str]:
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")
    return [event_text(e, {}, {}) for e in events]


# --- Events ------------------------------------------------------------------------------------


def test_each_event_fires_its_own_triggers(tenant_a, admin, agent):
    with tenant_context(tenant_a):
        for event in ("created", "updated", "customer_replied", "agent_replied", "status_changed"):
            trigger(admin, f"on {event}", event, [{"action": "add_tags", "value": [event]}])
        ticket = new_ticket(tenant=tenant_a)
        run_pending()
        assert tag_names(ticket) == {"created"}

        services.ticket_update(ticket=ticket, actor=agent, priority="high")
        run_pending()
        assert tag_names(ticket) == {"created", "updated"}  # not a status change

        services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="Any news?")
        services.ticket_reply(ticket=ticket, author=agent, body_text="On its way.")
        run_pending()
        assert tag_names(ticket) == {"created", "updated", "customer_replied", "agent_replied"}

        services.ticket_update(ticket=ticket, actor=agent, status="pending")
        run_pending()
        assert "status_changed" in tag_names(ticket)
        assert Trigger.objects.get(name="on updated").hits == 2


def test_tag_edits_single_and_bulk_fire_updated_triggers(tenant_a, admin, agent):
    with tenant_context(tenant_a):
        trigger(admin, "tagged", "updated", [{"action": "set_priority", "value": "high"}],
                conditions=[{"field": "tags", "op": "has_any", "value": ["vip"]}])  # fmt: skip
        one = new_ticket(tenant=tenant_a)
        two = new_ticket(requester=one.requester, subject="Broken")
        run_pending()
        services.ticket_set_tags(ticket=one, names=["vip"], actor=agent)
        services.tickets_bulk_update(tickets=[two], actor=agent, tags=["vip"])
        run_pending()
        one.refresh_from_db()
        two.refresh_from_db()
        assert (one.priority, two.priority) == ("high", "high")
        services.ticket_set_tags(ticket=one, names=["vip"], actor=agent)  # no change: no job
        assert not AutomationJob.objects.filter(done_at__isnull=True).exists()


def test_conditions_decide_and_the_timeline_says_why(tenant_a, admin):
    with tenant_context(tenant_a):
        trigger(
            admin,
            "Refunds are urgent",
            "created",
            [{"action": "set_priority", "value": "urgent"}],
            [{"field": "text", "op": "contains_any", "value": ["退款", "refund"]}],
        )
        quiet = new_ticket(tenant=tenant_a, subject="Hello", body="Just saying hi")
        loud = new_ticket(requester=quiet.requester, subject="申请退款", body="请尽快处理")
        run_pending()
        quiet.refresh_from_db()
        loud.refresh_from_db()
        assert (quiet.priority, loud.priority) == ("normal", "urgent")
        fired = TicketEvent.objects.get(ticket=loud, kind="trigger_fired")
        assert fired.data["name"] == "Refunds are urgent"
        assert fired.data["because"] == [{"field": "text", "op": "contains_any", "value": "退款"}]
        lines = timeline(loud)
        assert any("Trigger “Refunds are urgent” fired (keyword “退款”" in line for line in lines)
        assert any("→ set priority to Urgent" in line for line in lines), lines
        change = TicketEvent.objects.get(ticket=loud, kind="priority")
        assert change.reason == "trigger: Refunds are urgent" and change.actor is None


def test_triggers_run_in_position_order_and_see_earlier_changes(tenant_a, admin):
    with tenant_context(tenant_a):
        first = trigger(
            admin,
            "VIP words",
            "created",
            [{"action": "set_priority", "value": "urgent"}],
            [{"field": "subject", "op": "contains_any", "value": ["asap"]}],
        )
        second = trigger(
            admin,
            "Urgent gets a tag",
            "created",
            [{"action": "add_tags", "value": ["hot"]}],
            [{"field": "priority", "op": "in", "value": ["urgent"]}],
        )
        ticket = new_ticket(tenant=tenant_a, subject="Help ASAP")
        run_pending()
        assert "hot" in tag_names(ticket)
        # The other way round, the tag trigger looks before the priority is set.
        triggers.trigger_move(trigger=second, actor=admin, direction="up")
        assert list(Trigger.objects.order_by("position").values_list("pk", flat=True)) == [
            second.pk,
            first.pk,
        ]
        other = new_ticket(requester=ticket.requester, subject="Again ASAP")
        run_pending()
        other.refresh_from_db()
        assert other.priority == "urgent" and "hot" not in tag_names(other)


def test_inactive_triggers_do_nothing(tenant_a, admin):
    with tenant_context(tenant_a):
        item = trigger(admin, "Off", "created", [{"action": "add_tags", "value": ["x"]}])
        triggers.trigger_set_active(trigger=item, actor=admin, active=False)
        ticket = new_ticket(tenant=tenant_a)
        run_pending()
        assert tag_names(ticket) == set()


# --- The loop guard ----------------------------------------------------------------------------


def test_a_status_trigger_and_a_status_changed_trigger_do_not_ping_pong(tenant_a, admin, agent):
    with tenant_context(tenant_a):
        to_pending = trigger(
            admin,
            "Park it",
            "updated",
            [{"action": "set_status", "value": "pending"}],
            [{"field": "status", "op": "in", "value": ["new"]}],
        )
        back_open = trigger(
            admin,
            "Wake it",
            "status_changed",
            [{"action": "set_status", "value": "open"}],
            [{"field": "status", "op": "in", "value": ["pending"]}],
        )
        ticket = new_ticket(tenant=tenant_a)
        run_pending()
        services.ticket_update(ticket=ticket, actor=agent, priority="high")
        assert run_pending() == ["done"]
        ticket.refresh_from_db()
        # "Park it" changed the status, but its change is no event of its own: "Wake it" waits.
        assert ticket.status == "pending"
        assert not AutomationJob.objects.filter(done_at__isnull=True).exists()
        to_pending.refresh_from_db()
        back_open.refresh_from_db()
        assert (to_pending.hits, back_open.hits) == (1, 0)

        # An agent's status change is both "updated" and "status_changed": each fires once.
        services.ticket_update(ticket=ticket, actor=agent, status="on-hold")
        run_pending()
        services.ticket_update(ticket=ticket, actor=agent, status="pending")
        job = AutomationJob.objects.get(done_at__isnull=True)
        assert run_pending() == ["done"]
        assert not AutomationJob.objects.filter(done_at__isnull=True).exists()
        firings = TriggerFiring.objects.count()
        events = TicketEvent.objects.filter(ticket=ticket).count()
        # Running the same job again (a redelivered task, a sweep) fires nothing twice.
        AutomationJob.objects.filter(pk=job.pk).update(done_at=None)
        assert jobs.run(job.pk) == "done"
        assert TriggerFiring.objects.count() == firings
        assert TicketEvent.objects.filter(ticket=ticket).count() == events


def test_a_re_run_job_fires_nothing_twice(tenant_a, admin, agent):
    with tenant_context(tenant_a):
        trigger(
            admin,
            "Always",
            "customer_replied",
            [
                {"action": "add_tags", "value": ["replied"]},
                {"action": "notify", "value": {"to": "assignee", "via": "in_app"}},
                {"action": "notify", "value": {"to": "boss@alpha.example", "via": "email"}},
            ],
        )
        ticket = new_ticket(tenant=tenant_a, assignee=agent)
        services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="Hi")
        run_pending()
        job = AutomationJob.objects.get(event="customer_replied")
        counts = (
            Notification.objects.count(),
            Dispatch.objects.count(),
            TicketEvent.objects.filter(kind="trigger_fired").count(),
        )
        assert counts == (1, 1, 1)
        AutomationJob.objects.filter(pk=job.pk).update(done_at=None)
        assert jobs.run(job.pk) == "done"
        assert (
            Notification.objects.count(),
            Dispatch.objects.count(),
            TicketEvent.objects.filter(kind="trigger_fired").count(),
        ) == counts
        assert Trigger.objects.get().hits == 1


def test_the_hourly_cap_stops_triggers_and_says_so(tenant_a, admin, agent, monkeypatch):
    monkeypatch.setattr(triggers, "FIRINGS_PER_HOUR", 3)
    with tenant_context(tenant_a):
        trigger(admin, "Count", "updated", [{"action": "add_tags", "value": ["seen"]}])
        ticket = new_ticket(tenant=tenant_a)
        for priority in ("low", "high", "urgent", "normal", "low"):
            services.ticket_update(ticket=ticket, actor=agent, priority=priority)
        run_pending()
        assert TriggerFiring.objects.filter(ticket=ticket).count() == 3
        capped = TicketEvent.objects.filter(ticket=ticket, kind="trigger_capped")
        assert capped.count() == 1  # once an hour, not once per stopped firing
        assert "Triggers paused on this ticket: 3 firings" in timeline(ticket)[-1] or any(
            "Triggers paused" in line for line in timeline(ticket)
        )


# --- Idle ------------------------------------------------------------------------------------


def test_idle_trigger_fires_once_per_idle_period(tenant_a, admin, agent):
    with tenant_context(tenant_a):
        trigger(
            admin,
            "Nudge",
            "idle",
            [
                {"action": "add_tags", "value": ["stale"]},
                {"action": "notify", "value": {"to": "assignee", "via": "in_app"}},
            ],
            [{"field": "priority", "op": "in", "value": ["normal", "high"]}],
            idle_hours=4,
        )
        idle = new_ticket(tenant=tenant_a, assignee=agent)
        fresh = new_ticket(requester=idle.requester, subject="Fresh")
        ignored = new_ticket(requester=idle.requester, subject="Low one", priority="low")
        solved = new_ticket(requester=idle.requester, subject="Done")
        run_pending()
        services.ticket_update(ticket=solved, actor=agent, status="solved")
        run_pending()
        long_ago = timezone.now() - timedelta(hours=5)
        Ticket.objects.filter(pk__in=[idle.pk, ignored.pk, solved.pk]).update(
            last_activity_at=long_ago
        )
        Ticket.objects.filter(pk=fresh.pk).update(
            last_activity_at=timezone.now() - timedelta(hours=3)
        )

        assert triggers.run_idle() == 1
        assert tag_names(idle) == {"stale"}
        assert tag_names(fresh) == tag_names(ignored) == tag_names(solved) == set()
        note = Notification.objects.get(recipient=agent)
        assert note.ticket_id == idle.pk and note.url == f"/agent/tickets/{idle.number}/"
        assert triggers.run_idle() == 0  # the same idle period: nothing twice
        firing = TriggerFiring.objects.get(ticket=idle)
        assert firing.event_key == f"idle:{long_ago.isoformat()}"

        # Ten hours later: new activity, then idle again: a new period, fired again.
        TriggerFiring.objects.update(fired_at=F("fired_at") - timedelta(hours=10))
        services.ticket_add_inbound(ticket=idle, contact=idle.requester, body_text="Hello?")
        run_pending()
        Ticket.objects.filter(pk=idle.pk).update(
            last_activity_at=timezone.now() - timedelta(hours=6)
        )
        assert triggers.run_idle() == 1
        assert Notification.objects.filter(recipient=agent).count() == 2


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_idle_sweep_finds_tenants_across_the_wall(tenant_a, tenant_b, admin, monkeypatch):
    from tickets import tasks

    with tenant_context(tenant_a):
        trigger(admin, "Idle", "idle", [{"action": "add_tags", "value": ["x"]}], idle_hours=1)
    with tenant_context(tenant_b):
        Trigger.objects.create(
            name="Off",
            event="idle",
            idle_hours=1,
            is_active=False,
            actions=[{"action": "add_tags", "value": ["x"]}],
        )
    sent = []
    monkeypatch.setattr(tasks.run_idle_triggers, "delay", lambda tenant_id: sent.append(tenant_id))
    assert tasks.sweep_idle_triggers() == 1
    assert sent == [tenant_a.pk]
    ticket = None
    with tenant_context(tenant_a):
        ticket = new_ticket(tenant=tenant_a)
        Ticket.objects.filter(pk=ticket.pk).update(
            last_activity_at=timezone.now() - timedelta(hours=2)
        )
    assert tasks.run_idle_triggers(tenant_a.pk) == 1  # the task enters the tenant itself
    with tenant_context(tenant_a):
        assert tag_names(ticket) == {"x"}


# --- Actions: notify, reply, note, escalate -------------------------------------------------


def test_notify_in_the_app_and_by_email_after_commit(
    tenant_a, admin, agent, django_capture_on_commit_callbacks
):
    with tenant_context(tenant_a):
        colleague = MembershipFactory(tenant=tenant_a, user__email="wang@alpha.test").user
        team = Team.objects.create(name="Billing", tier=1)
        TeamMember.objects.create(team=team, user=agent)
        TeamMember.objects.create(team=team, user=colleague)
        trigger(
            admin,
            "Tell people",
            "customer_replied",
            [
                {
                    "action": "notify",
                    "value": {
                        "to": "team",
                        "via": "in_app",
                        "subject": "#{{ ticket.number }} {{ requester.name }} wrote",
                    },
                },
                {
                    "action": "notify",
                    "value": {
                        "to": "lead@alpha.example",
                        "via": "email",
                        "subject": "Customer replied on #{{ ticket.number }}",
                        "body": "{{ requester.name }}: {{ ticket.url }}",
                    },
                },
            ],
        )
        ticket = new_ticket(tenant=tenant_a, team=team)
        run_pending()
        services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="Any news?")
        with django_capture_on_commit_callbacks() as callbacks:
            run_pending()
        assert mail.outbox == []  # nothing is sent inside the transaction
        titles = dict(Notification.objects.values_list("recipient__email", "title"))
        assert titles == {
            "agent@alpha.test": f"#{ticket.number} Li Na wrote",
            "wang@alpha.test": f"#{ticket.number} Li Na wrote",
        }
        dispatch = Dispatch.objects.get()
        assert (dispatch.kind, dispatch.status, dispatch.target) == (
            "email",
            "pending",
            "lead@alpha.example",
        )
        assert len(callbacks) >= 1
        assert notifications.deliver(dispatch.pk) == "sent"
        assert notifications.deliver(dispatch.pk) == "skipped"  # once
        [sent] = mail.outbox
        assert sent.subject == f"Customer replied on #{ticket.number}"
        assert (
            sent.body == f"Li Na: http://alpha.localhost:8000/agent/tickets/{ticket.number}/"
            or (
                sent.body.startswith("Li Na: http")
                and sent.body.endswith(f"/agent/tickets/{ticket.number}/")
            )
        )
        assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
        line = next(t for t in timeline(ticket) if "Tell people" in t)
        assert "notify the team in the app (2)" in line
        assert "notify lead@alpha.example by email (1)" in line


def test_nobody_is_notified_about_their_own_change(tenant_a, admin, agent):
    with tenant_context(tenant_a):
        trigger(
            admin,
            "Tell the assignee",
            "updated",
            [{"action": "notify", "value": {"to": "assignee", "via": "in_app"}}],
        )
        ticket = new_ticket(tenant=tenant_a, assignee=agent)
        run_pending()
        services.ticket_update(ticket=ticket, actor=agent, priority="high")
        run_pending()
        assert not Notification.objects.exists()
        services.ticket_update(ticket=ticket, actor=admin, priority="low")
        run_pending()
        assert Notification.objects.get().recipient == agent


def test_followers_are_notified(tenant_a, admin, agent):
    with tenant_context(tenant_a):
        trigger(
            admin,
            "Followers",
            "customer_replied",
            [{"action": "notify", "value": {"to": "followers", "via": "in_app"}}],
        )
        ticket = new_ticket(tenant=tenant_a)
        TicketFollower.objects.create(ticket=ticket, user=admin)
        services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="Hi")
        run_pending()
        assert list(Notification.objects.values_list("recipient", flat=True)) == [admin.pk]


def test_send_reply_and_add_note_come_from_the_help_desk(
    tenant_a, admin, django_capture_on_commit_callbacks
):
    with tenant_context(tenant_a):
        trigger(
            admin,
            "Acknowledge",
            "created",
            [
                {
                    "action": "send_reply",
                    "value": {"body": "Dear {{ requester.name }}, we have #{{ ticket.number }}."},
                },
                {"action": "add_note", "value": {"body": "Acknowledged automatically."}},
            ],
        )
        ticket = new_ticket(tenant=tenant_a)
        with django_capture_on_commit_callbacks():
            run_pending()
        reply = Message.objects.get(ticket=ticket, kind="reply", direction="out")
        note = Message.objects.get(ticket=ticket, kind="note")
        assert reply.author_user is None and note.author_user is None
        assert reply.body_text == f"Dear Li Na, we have #{ticket.number}."
        assert reply.delivery_status == "pending"  # emailed once this commits
        # The help desk's own reply is no agent reply: no job, no first response.
        assert not AutomationJob.objects.filter(done_at__isnull=True).exists()
        ticket.refresh_from_db()
        assert ticket.first_response_at is None


def test_send_reply_never_answers_a_machine(tenant_a, admin):
    with tenant_context(tenant_a):
        trigger(
            admin,
            "Acknowledge",
            "created",
            [{"action": "send_reply", "value": {"body": "Thanks!"}}],
        )
        ticket = new_ticket(tenant=tenant_a, automation={"automatic": True})
        run_pending()
        assert not Message.objects.filter(ticket=ticket, direction="out").exists()
        assert any("no reply: the message came from a machine" in t for t in timeline(ticket))


def test_escalate_moves_to_the_next_tier_and_raises_priority(tenant_a, admin, agent):
    with tenant_context(tenant_a):
        first = Team.objects.create(name="Front desk", tier=1)
        TeamMember.objects.create(team=first, user=agent)
        Team.objects.create(name="Zeta experts", tier=2)
        experts = Team.objects.create(name="Alpha experts", tier=2)
        trigger(
            admin,
            "Escalate VIPs",
            "customer_replied",
            [{"action": "escalate", "value": {"tier": "next", "raise_priority": True}}],
        )
        ticket = new_ticket(tenant=tenant_a, team=first, assignee=agent, priority="high")
        run_pending()
        services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="Still?")
        run_pending()
        ticket.refresh_from_db()
        assert (ticket.team_id, ticket.tier, ticket.priority) == (experts.pk, 2, "urgent")
        assert ticket.assignee_id is None  # the tier-1 agent is not in the new team
        assert not AutomationJob.objects.filter(done_at__isnull=True).exists()


# --- Webhooks and the SSRF guard ----------------------------------------------------------------


class Hook(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", 0))
        Hook.received.append((self.path, dict(self.headers), json.loads(self.rfile.read(length))))
        self.send_response(Hook.status)
        if Hook.status in (301, 302):
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    Hook.received, Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_webhook_urls_to_internal_addresses_are_refused_when_saved(tenant_a):
    with tenant_context(tenant_a):
        for url, message in [
            ("https://127.0.0.1/hook", "public internet"),
            ("https://10.0.0.8/hook", "public internet"),
            ("https://169.254.169.254/latest/meta-data/", "public internet"),
            ("https://[::1]/hook", "public internet"),
            ("https://[::ffff:127.0.0.1]/hook", "public internet"),
            ("https://localhost:8000/hook", "public internet"),
            ("https://metadata.google.internal/", "public internet"),
            ("http://hooks.example.com/", "https://"),
            ("https://user:pw@hooks.example.com/", "user names"),
            ("file:///etc/passwd", "https://"),
        ]:
            with pytest.raises(RuleError, match=message):
                validate_actions([{"action": "webhook", "value": {"url": url}}])
        ok = validate_actions(
            [
                {
                    "action": "webhook",
                    "value": {"url": "https://hooks.example.com/x", "body": "#{{ ticket.number }}"},
                }
            ]
        )
        assert ok[0]["value"]["url"] == "https://hooks.example.com/x"


def test_webhook_to_a_local_server_is_refused_by_the_guard(tenant_a, admin, hook_server):
    with tenant_context(tenant_a):
        ticket = new_ticket(tenant=tenant_a)
        run_pending()
        # Stored past validation (e.g. saved when the name still resolved elsewhere): the
        # guard checks again when connecting, by name and by the address it resolves to.
        for url in (f"https://localhost:{hook_server}/hook", f"http://127.0.0.1:{hook_server}/"):
            dispatch = notifications.webhook(url=url, payload={"x": 1}, ticket=ticket)
            assert notifications.deliver(dispatch.pk) == "refused"
        with pytest.raises(notifications.WebhookRefused, match="not a public address"):
            notifications.checked_address("localhost", hook_server)
        assert Hook.received == []
        lines = timeline(ticket)
        assert any("The webhook call to localhost was refused" in line for line in lines)


def test_webhook_delivers_json_when_private_addresses_are_allowed(
    tenant_a, admin, hook_server, settings, django_capture_on_commit_callbacks
):
    settings.HELPDESK_WEBHOOK_ALLOW_PRIVATE = True  # tests only: a local server
    with tenant_context(tenant_a):
        trigger(
            admin,
            "Tell the CRM",
            "created",
            [
                {
                    "action": "webhook",
                    "value": {
                        "url": f"http://127.0.0.1:{hook_server}/hook",
                        "body": "New: {{ ticket.subject }}",
                    },
                }
            ],
        )
        ticket = new_ticket(tenant=tenant_a, subject="Broken screen")
        with django_capture_on_commit_callbacks():
            run_pending()
        assert Hook.received == []  # never from inside the job's transaction
        dispatch = Dispatch.objects.get(kind="webhook")
        assert notifications.deliver(dispatch.pk) == "sent"
        [(path, headers, body)] = Hook.received
        assert path == "/hook" and headers["X-Helpdesk-Delivery"] == str(dispatch.pk)
        assert body["event"] == "created" and body["message"] == "New: Broken screen"
        assert body["ticket"]["number"] == ticket.number
        assert body["ticket"]["requester"] == {"name": "Li Na", "email": "li.na@example.cn"}
        assert body["trigger"]["name"] == "Tell the CRM"

        Hook.status = 302  # a redirect is refused, not followed
        again = notifications.webhook(
            url=f"http://127.0.0.1:{hook_server}/x", payload={}, ticket=ticket
        )
        assert notifications.deliver(again.pk) == "refused"
        assert len(Hook.received) == 2
        Hook.status = 503  # a server error is retried
        flaky = notifications.webhook(url=f"http://127.0.0.1:{hook_server}/y", payload={})
        with pytest.raises(notifications.DispatchError):
            notifications.deliver(flaky.pk, final=False)
        assert Dispatch.objects.get(pk=flaky.pk).status == "failed"


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_lost_dispatches_are_sent_by_the_sweep(tenant_a, monkeypatch):
    from tickets import tasks

    with tenant_context(tenant_a):
        lost = notifications.email(to=["x@alpha.example"], subject="s", body="b")[0]
        Dispatch.objects.filter(pk=lost.pk).update(changed_at=timezone.now() - timedelta(hours=1))
        notifications.email(to=["fresh@alpha.example"], subject="s", body="b")
    sent = []
    monkeypatch.setattr(
        tasks.send_dispatch,
        "delay",
        lambda tenant_id, dispatch_id: sent.append((tenant_id, dispatch_id)),
    )
    assert notifications.sweep() == 1
    assert sent == [(tenant_a.pk, lost.pk)]


# --- Templates ---------------------------------------------------------------------------------


def test_templates_fill_only_the_allow_listed_placeholders(tenant_a, agent):
    with tenant_context(tenant_a):
        ticket = new_ticket(tenant=tenant_a, subject="Lost {{ password }}", assignee=agent)
        text = triggers.render_text(
            "#{{ticket.number}} {{ ticket.subject }} for {{ requester.name }} by {{ agent.name }}"
            " {{ ticket.requester.user.password }} {% load x %}",
            ticket=ticket,
            agent=agent,
        )
        assert text == (
            f"#{ticket.number} Lost {{{{ password }}}} for Li Na by "
            f"{agent.get_full_name()} {{{{ ticket.requester.user.password }}}} "
            "{% load x %}"
        )
        with pytest.raises(RuleError, match="unknown placeholder"):
            triggers.check_template("Hi {{ requester.password }}", where="Reply")

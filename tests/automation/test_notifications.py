"""Notifications: in-app rows (levels, keys, read, acknowledge), the bell and the notification
centre, each member seeing only their own; and, through a real Celery worker, a customer's
email that opens a ticket and a trigger that notifies in the app and by email."""

from __future__ import annotations

import time

import pytest

from helpdesk.tenancy.context import tenant_context
from tests.factories import MembershipFactory, make_ticket
from tests.helpers import sign_in
from tests.worker import celery_worker, smtp_sink
from tickets.automation import notifications, triggers
from tickets.automation.models import Dispatch, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(tenant_a):
    return MembershipFactory(tenant=tenant_a, user__email="wang@alpha.test").user


def test_notify_levels_keys_read_and_acknowledge(tenant_a, agent, colleague):
    with tenant_context(tenant_a):
        ticket = make_ticket(tenant_a)
        assert (
            notifications.notify(
                recipients=[agent, colleague.pk],
                title="SLA breached",
                level="critical",
                ticket=ticket,
                key="sla:1:breach",
            )
            == 2
        )
        # The same key again (a sweep coming round): nothing new.
        assert (
            notifications.notify(
                recipients=[agent], title="SLA breached", level="critical", key="sla:1:breach"
            )
            == 0
        )
        assert notifications.notify(recipients=[agent], title="FYI") == 1
        assert notifications.unread_count(agent) == 2
        critical = Notification.objects.get(recipient=agent, level="critical")
        assert critical.needs_acknowledgement
        assert not notifications.mark_read(
            user=colleague, notification_id=critical.pk
        )  # not theirs
        assert notifications.acknowledge(user=agent, notification_id=critical.pk)
        assert not notifications.acknowledge(user=agent, notification_id=critical.pk)  # once
        critical.refresh_from_db()
        assert critical.read_at and critical.acknowledged_at and not critical.needs_acknowledgement
        assert notifications.mark_all_read(user=agent) == 1
        assert notifications.unread_count(agent) == 0
        assert notifications.unread_count(colleague) == 1
        assert [n.title for n in notifications.notification_list(colleague, show="ack")] == [
            "SLA breached"
        ]


def test_the_bell_and_the_notification_centre(client, tenant_a, agent, colleague):
    with tenant_context(tenant_a):
        ticket = make_ticket(tenant_a, subject="Printer on fire")
        notifications.notify(
            recipients=[agent],
            title="Mine to read",
            ticket=ticket,
            url=f"/agent/tickets/{ticket.number}/",
        )
        notifications.notify(recipients=[agent], title="Mine to acknowledge", level="warning")
        notifications.notify(recipients=[colleague], title="Not for agent's eyes")
        mine = Notification.objects.get(title="Mine to read")
        warning = Notification.objects.get(title="Mine to acknowledge")
        theirs = Notification.objects.get(recipient=colleague)
    sign_in(client, agent, tenant_a)
    inbox = client.get("/agent/inbox/").content.decode()
    assert 'hx-get="/notifications/badge/"' in inbox and 'popovertarget="notif-menu"' in inbox
    badge = client.get("/notifications/badge/", HTTP_HX_REQUEST="true").content.decode()
    assert ">2<" in badge and "2 unread" in badge
    page = client.get("/notifications/").content.decode()
    assert "Mine to read" in page and "Mine to acknowledge" in page
    assert "Not for agent" not in page
    menu = client.get("/notifications/?menu=1", HTTP_HX_REQUEST="true").content.decode()
    assert "Mine to read" in menu and "Mark all read" in menu and "<html" not in menu
    # Someone else's notification: a 404, and it stays unread.
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.post(f"/notifications/{theirs.pk}/acknowledge/").status_code == 404
    # Open: marked read, then to the ticket.
    response = client.post(f"/notifications/{mine.pk}/read/", {"open": "1"})
    assert response.status_code == 302 and response.url == f"/agent/tickets/{ticket.number}/"
    response = client.post(
        f"/notifications/{warning.pk}/acknowledge/", {"show": "ack"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "notifications-changed" in response["HX-Trigger"]
    assert "Nothing to acknowledge" in response.content.decode()
    with tenant_context(tenant_a):
        assert notifications.unread_count(agent) == 0
        assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert "Unread" in client.get("/notifications/?show=unread").content.decode()


def test_opening_never_redirects_off_site(client, tenant_a, agent):
    with tenant_context(tenant_a):
        notifications.notify(recipients=[agent], title="Odd", url="//evil.example/phish")
        odd = Notification.objects.get()
    sign_in(client, agent, tenant_a)
    response = client.post(
        f"/notifications/{odd.pk}/read/", {"open": "1", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response.url == "/notifications/"


def test_mark_all_read_from_the_menu(client, tenant_a, agent):
    with tenant_context(tenant_a):
        notifications.notify(recipients=[agent], title="One")
        notifications.notify(recipients=[agent], title="Two")
    sign_in(client, agent, tenant_a)
    response = client.post("/notifications/read-all/", {"menu": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Nothing new" not in response.content.decode()
    with tenant_context(tenant_a):
        assert notifications.unread_count(agent) == 0


def test_notification_pages_are_paged(client, tenant_a, agent):
    with tenant_context(tenant_a):
        notifications.notify(recipients=[agent], title="Oldest")
        for n in range(30):
            notifications.notify(recipients=[agent], title=f"Note {n}")
    sign_in(client, agent, tenant_a)
    first = client.get("/notifications/").content.decode()
    assert "Note 29" in first and "Oldest" not in first and "before=" in first
    before = first.split("before=", 1)[1].split('"', 1)[0]
    second = client.get(f"/notifications/?show=all&before={before}").content.decode()
    assert "Oldest" in second and "Note 29" not in second


# --- Through a real worker ---------------------------------------------------------------------

RAW = (
    "From: Li Na <li.na@example.cn>\r\nTo: support@alpha.localhost\r\n"
    "Subject: 发票 needed for order 42\r\nMessage-ID: <worker-trigger-1@example.cn>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n请开发票，谢谢。\r\n"
).encode()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_a_customer_email_fires_a_trigger_that_notifies_through_a_real_worker(
    tenant_a, admin, agent
):
    from channels_in.email import receive_email

    with tenant_context(tenant_a):
        triggers.trigger_save(
            actor=admin,
            name="Invoices to Alex",
            event="created",
            conditions=[{"field": "text", "op": "contains_any", "value": ["发票", "invoice"]}],
            actions=[
                {"action": "assign_to", "value": agent.pk},
                {
                    "action": "notify",
                    "value": {
                        "to": "assignee",
                        "via": "in_app",
                        "subject": "#{{ ticket.number }} for you",
                    },
                },
                {
                    "action": "notify",
                    "value": {
                        "to": "finance@alpha.example",
                        "via": "email",
                        "subject": "Invoice request #{{ ticket.number }}",
                        "body": "From {{ requester.name }}",
                    },
                },
            ],
        )
    with smtp_sink() as (sink, port), celery_worker(port):
        with tenant_context(tenant_a):
            ticket = receive_email(RAW, via="smtp").ticket
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with tenant_context(tenant_a):
                if Notification.objects.filter(recipient=agent).exists():
                    break
            time.sleep(0.2)
        messages = sink.wait_for(1)
    with tenant_context(tenant_a):
        note = Notification.objects.get(recipient=agent)
        assert note.title == f"#{ticket.number} for you" and note.ticket_id == ticket.pk
        ticket.refresh_from_db()
        assert ticket.assignee_id == agent.pk
        assert Dispatch.objects.get().status == "sent"
    [mail] = [m for m in messages if m["To"] == "finance@alpha.example"]
    assert mail["Subject"] == f"Invoice request #{ticket.number}"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "From Li Na" in mail.get_payload(decode=True).decode()

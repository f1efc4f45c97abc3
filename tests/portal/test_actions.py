"""What a customer does on their request: reply (the inbound path: reopens, SLA next-response
clock, "customer replied" automation, the agent's unread inbox), attachments and their
limits, "this is solved", reopening within the tenant's window, closed requests read-only,
and the follow-up request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from sla.models import SLATimer
from tests.sla.factories import BusinessCalendarFactory, SLAPolicyFactory
from tickets import portal, selectors
from tickets.automation.models import AutomationJob
from tickets.models import Message, Ticket, TicketEvent, TicketLink
from tickets.services import ticket_mark_read, ticket_reply, ticket_update
from tickets.views.ticket import event_text

from .conftest import as_customer

pytestmark = pytest.mark.django_db


def kw(ticket) -> dict:
    return {"request_number": ticket.number}


def refreshed(cast, ticket) -> Ticket:
    with tenant_context(cast.tenant):
        return Ticket.objects.get(pk=ticket.pk)


def solve(cast, ticket, agent, *, days_ago: float = 0) -> None:
    with tenant_context(cast.tenant):
        ticket_update(ticket=ticket, actor=agent, status="solved")
        if days_ago:
            Ticket.objects.filter(pk=ticket.pk).update(
                solved_at=timezone.now() - timedelta(days=days_ago)
            )


def test_a_reply_goes_the_inbound_way_and_reopens_a_solved_request(client, cast, agent):
    with tenant_context(cast.tenant):
        BusinessCalendarFactory(tenant=cast.tenant, is_default=True, always_open=True)
        SLAPolicyFactory(
            tenant=cast.tenant, name="Std", business_hours=False, next_response_minutes=60
        )
        ticket_reply(ticket=cast.alices, author=agent, body_text="Which invoice?")
        ticket_update(ticket=cast.alices, actor=agent, assignee=agent, status="solved")
        ticket_mark_read(ticket=cast.alices, user=agent)
        selectors_before = AutomationJob.objects.filter(event="customer_replied").count()
    as_customer(client, cast.alice, cast.tenant)
    page = client.get(reverse("portal:request", kwargs=kw(cast.alices))).content.decode()
    token = page.split('name="token" value="')[1].split('"')[0]
    form = {"body": "Invoice <b>INV-7</b>, thanks", "token": token}
    response = client.post(reverse("portal:request_reply", kwargs=kw(cast.alices)), form)
    assert response.status_code == 302
    ticket = refreshed(cast, cast.alices)
    assert ticket.status == "open" and ticket.solved_at is None
    with tenant_context(cast.tenant):
        message = Message.objects.filter(ticket=ticket).latest("id")
        assert message.direction == "in" and message.author_contact_id == cast.alice.pk
        assert message.channel == "portal" and message.kind == "reply"
        assert "&lt;b&gt;INV-7&lt;/b&gt;" in message.body_html  # stored as text, escaped
        assert (
            AutomationJob.objects.filter(event="customer_replied").count() == selectors_before + 1
        )
        job = AutomationJob.objects.filter(event="customer_replied").latest("id")
        assert job.ticket_id == ticket.pk and job.message_id == message.pk
        assert SLATimer.objects.filter(
            ticket=ticket, kind="next_response", state="running"
        ).exists()
        kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
        assert "customer_replied" in kinds
        status = TicketEvent.objects.filter(ticket=ticket, kind="status").latest("id")
        assert status.data == {"old": "solved", "new": "open"}
        # The agent, who had read it, sees it unread at the top of the open inbox.
        (first, *_rest) = selectors.inbox_page(user=agent, filters=selectors.InboxFilters()).tickets
        assert first.pk == ticket.pk and first.is_read is False
    # The same form again (a refresh, a double click) adds nothing.
    client.post(reverse("portal:request_reply", kwargs=kw(cast.alices)), form)
    with tenant_context(cast.tenant):
        assert Message.objects.filter(ticket=ticket, author_contact=cast.alice).count() == 2


def test_a_reply_with_files_and_the_limits(client, cast):
    as_customer(client, cast.alice, cast.tenant)
    path = reverse("portal:request_reply", kwargs=kw(cast.alices))
    good = SimpleUploadedFile("screenshot.png", b"\x89PNG....", "image/png")
    assert client.post(path, {"body": "See file", "attachments": [good]}).status_code == 302
    with tenant_context(cast.tenant):
        latest = Message.objects.filter(ticket=cast.alices).latest("id")
        assert [a.filename for a in latest.attachments.all()] == ["screenshot.png"]
    bad = SimpleUploadedFile("setup.exe", b"MZ", "application/octet-stream")
    response = client.post(path, {"body": "run this", "attachments": [bad]})
    assert (
        response.status_code == 422
        and "this type of file is not accepted" in response.content.decode()
    )
    with override_settings(HELPDESK_ATTACHMENT_MAX_BYTES=1024 * 1024):
        big = SimpleUploadedFile("big.pdf", b"x" * (1024 * 1024 + 1), "application/pdf")
        response = client.post(path, {"body": "big", "attachments": [big]})
        assert response.status_code == 422 and "larger than 1 MB" in response.content.decode()
    many = [SimpleUploadedFile(f"f{i}.txt", b"x") for i in range(portal.MAX_FILES + 1)]
    assert client.post(path, {"body": "many", "attachments": many}).status_code == 422
    assert client.post(path, {"body": "   "}).status_code == 422
    with tenant_context(cast.tenant):
        assert Message.objects.filter(ticket=cast.alices).count() == 2  # first + the good one


def test_htmx_reply_swaps_the_conversation(client, cast):
    as_customer(client, cast.alice, cast.tenant)
    response = client.post(
        reverse("portal:request_reply", kwargs=kw(cast.alices)),
        {"body": "Through htmx"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="request-thread",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="request-thread"') and "Through htmx" in body
    refused = client.post(
        reverse("portal:request_reply", kwargs=kw(cast.alices)),
        {"body": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="request-thread",
    )
    assert (
        refused.status_code == 200
        and "Write a message before sending it." in refused.content.decode()
    )


def test_the_customer_marks_their_request_solved(client, cast, agent):
    as_customer(client, cast.alice, cast.tenant)
    response = client.post(reverse("portal:request_solve", kwargs=kw(cast.alices)))
    assert response.status_code == 302
    ticket = refreshed(cast, cast.alices)
    assert ticket.status == "solved" and ticket.solved_at is not None
    with tenant_context(cast.tenant):
        event = TicketEvent.objects.get(ticket=ticket, kind="customer_solved")
        assert event_text(event, {}, {}) == "Solved by the customer (portal)"
        assert AutomationJob.objects.filter(ticket=ticket, event="updated").exists()
        status = TicketEvent.objects.get(ticket=ticket, kind="status")
        assert event_text(status, {}, {}) == "The customer changed status from New to Solved"
    page = client.get(reverse("portal:request", kwargs=kw(ticket))).content.decode()
    assert "Solved by the customer" in page and "Reopen the request" in page
    # Solving twice is refused with a sentence, not an error page.
    again = client.post(reverse("portal:request_solve", kwargs=kw(ticket)), follow=True)
    assert "This request is not open." in again.content.decode()


def test_reopen_within_the_window_only(client, cast, agent):
    cast.tenant.portal_reopen_days = 7
    cast.tenant.save(update_fields=["portal_reopen_days"])
    solve(cast, cast.alices, agent, days_ago=6)
    as_customer(client, cast.alice, cast.tenant)
    assert client.post(reverse("portal:request_reopen", kwargs=kw(cast.alices))).status_code == 302
    ticket = refreshed(cast, cast.alices)
    assert ticket.status == "open"
    with tenant_context(cast.tenant):
        assert TicketEvent.objects.filter(ticket=ticket, kind="customer_reopened").exists()

    solve(cast, cast.alices, agent, days_ago=8)
    page = client.get(reverse("portal:request", kwargs=kw(cast.alices))).content.decode()
    assert "Reopen the request" not in page and "Open a follow-up request" in page
    assert 'name="body"' not in page  # no reply form past the window
    client.post(reverse("portal:request_reopen", kwargs=kw(cast.alices)))
    assert (
        client.post(
            reverse("portal:request_reply", kwargs=kw(cast.alices)), {"body": "hello?"}
        ).status_code
        == 422
    )
    assert refreshed(cast, cast.alices).status == "solved"


def test_the_window_moves_with_the_clock(cast, agent):
    solve(cast, cast.bobs, agent)
    with tenant_context(cast.tenant):
        ticket = Ticket.objects.get(pk=cast.bobs.pk)
        assert portal.can_reopen(ticket)
        try:
            clock.travel(minutes=7 * 24 * 60 + 1)
            assert not portal.can_reopen(ticket)
        finally:
            clock.reset()


def test_zero_days_means_never(cast, agent):
    cast.tenant.portal_reopen_days = 0
    cast.tenant.save(update_fields=["portal_reopen_days"])
    solve(cast, cast.alices, agent)
    with tenant_context(cast.tenant):
        ticket = Ticket.objects.get(pk=cast.alices.pk)
        assert not portal.can_reopen(ticket) and not portal.can_reply(ticket)
        with pytest.raises(portal.PortalError):
            portal.customer_reopen(ticket=ticket, contact=cast.alice)


def test_closed_requests_are_read_only_and_offer_a_linked_follow_up(client, cast, agent):
    solve(cast, cast.alices, agent)
    with tenant_context(cast.tenant):
        ticket_update(ticket=cast.alices, actor=agent, status="closed")
    as_customer(client, cast.alice, cast.tenant)
    page = client.get(reverse("portal:request", kwargs=kw(cast.alices))).content.decode()
    assert "Closed" in page and 'name="body"' not in page and "This is solved" not in page
    for name in ("portal:request_reply", "portal:request_solve", "portal:request_reopen"):
        client.post(reverse(name, kwargs=kw(cast.alices)), {"body": "still broken"})
    assert refreshed(cast, cast.alices).status == "closed"
    with tenant_context(cast.tenant):
        assert not Message.objects.filter(ticket=cast.alices, body_text="still broken").exists()

    form_page = client.get(reverse("portal:request_follow_up", kwargs=kw(cast.alices)))
    assert "Follow-up to #1: Invoice is wrong" in form_page.content.decode()
    token = form_page.content.decode().split('name="token" value="')[1].split('"')[0]
    data = {
        "subject": "Follow-up to #1: Invoice is wrong",
        "token": token,
        "description": "This follows up on my request #1.\n\nStill wrong.",
    }
    response = client.post(reverse("portal:request_follow_up", kwargs=kw(cast.alices)), data)
    assert response.status_code == 302
    again = client.post(reverse("portal:request_follow_up", kwargs=kw(cast.alices)), data)
    assert again["Location"] == response["Location"]  # the same token opens nothing new
    with tenant_context(cast.tenant):
        new = Ticket.objects.exclude(pk__in=[cast.alices.pk, cast.bobs.pk, cast.carols.pk]).get()
        assert new.requester_id == cast.alice.pk and new.channel == "portal"
        assert TicketLink.objects.filter(ticket=new, other=cast.alices).exists()
        assert "#1" in new.messages.get().body_text
    assert response["Location"] == reverse("portal:request", kwargs=kw(new))

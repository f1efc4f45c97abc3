"""Follow links: a signed, expiring, per-ticket grant for visitors without an account, and the
acknowledgement that carries one ({{ request_url }})."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from channels_in.webform import submit_request
from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from tests.factories import make_ticket
from tests.helpers import host_of
from tickets import portal
from tickets.automation import jobs
from tickets.automation.models import AutomationJob, AutoReply
from tickets.automation.routing_forms import DEFAULT_BODY
from tickets.models import Message
from tickets.outbound import build_email

pytestmark = pytest.mark.django_db


def link(cast, ticket) -> str:
    with tenant_context(ticket.tenant):
        return portal.follow_url(ticket)


def visitor(client, tenant):
    client.defaults["HTTP_HOST"] = host_of(tenant)
    return client


def test_a_follow_link_opens_that_ticket_and_lets_the_holder_reply(client, cast):
    visitor(client, cast.tenant)
    response = client.get(link(cast, cast.carols))
    assert response["Location"] == reverse("portal:request", kwargs={"request_number": 3})
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Password reset" in text and "Email me a sign-in link" in text  # Carol has a login
    reply = client.post(
        reverse("portal:request_reply", kwargs={"request_number": 3}), {"body": "Still locked out"}
    )
    assert reply.status_code == 302
    with tenant_context(cast.tenant):
        message = Message.objects.filter(ticket=cast.carols).latest("id")
        assert (
            message.body_text == "Still locked out" and message.author_contact_id == cast.carol.pk
        )
    # The grant is for that ticket only: the next number is the sign-in page, as for anyone.
    other = client.get(reverse("portal:request", kwargs={"request_number": 2}))
    assert other.status_code == 302 and "/accounts/login/" in other["Location"]
    assert client.get(reverse("portal:requests")).status_code == 302
    # Nor does it open anything on another tenant's host (bravo's ticket 3 there).
    for _n in range(2):
        make_ticket(cast.other, requester=cast.dmitri, subject="别的")
    elsewhere = client.get(
        reverse("portal:request", kwargs={"request_number": 3}), HTTP_HOST=host_of(cast.other)
    )
    assert elsewhere.status_code == 302 and "/accounts/login/" in elsewhere["Location"]


def test_a_token_opens_only_its_own_ticket_and_tenant(client, cast):
    good = link(cast, cast.alices)  # ticket 1 of alpha
    token = good.rstrip("/").rsplit("/", 1)[1]
    visitor(client, cast.tenant)
    for number in (2, 3, 99):  # the same token under another number
        path = reverse(
            "portal:request_follow", kwargs={"request_number": number, "follow_token": token}
        )
        assert client.get(path).status_code == 400
    # Bravo's ticket 1 has the same number: alpha's token opens nothing there.
    response = client.get(good, HTTP_HOST=host_of(cast.other))
    assert response.status_code == 400
    # Forged or cut tokens.
    for bad in (token[:-2] + "xx", "nonsense", token.split(":")[0]):
        path = reverse("portal:request_follow", kwargs={"request_number": 1, "follow_token": bad})
        assert client.get(path).status_code == 400
    assert "portal_follow" not in client.session


def test_a_follow_link_expires_after_thirty_days(client, cast):
    visitor(client, cast.tenant)
    old = link(cast, cast.bobs)
    try:
        clock.travel(minutes=29 * 24 * 60)
        assert client.get(old).status_code == 302
        clock.travel(minutes=2 * 24 * 60)
        assert client.get(old).status_code == 400
        # The grant remembered in the session has aged out as well.
        page = client.get(reverse("portal:request", kwargs={"request_number": 2}))
        assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    finally:
        clock.reset()
    with tenant_context(cast.tenant):
        assert portal.ticket_for_follow_token(2, old.rstrip("/").rsplit("/", 1)[1]) is not None


def test_a_signed_in_customer_can_use_a_link_too(client, cast):
    from .conftest import as_customer

    as_customer(client, cast.alice, cast.tenant)
    response = client.get(link(cast, cast.carols), follow=True)
    assert response.status_code == 200 and "Password reset" in response.content.decode()


def test_the_acknowledgement_carries_a_working_follow_link(client, cast):
    with tenant_context(cast.tenant):
        AutoReply.objects.create(
            name="Thanks", subject="[#{{ ticket.number }}] Received", body=str(DEFAULT_BODY)
        )
        result = submit_request(
            token="ack-1",
            subject="Broken charger",
            description="It sparks.",
            email="erin@example.test",
            name="Erin",
        )
        for pk in AutomationJob.objects.filter(done_at__isnull=True).values_list("pk", flat=True):
            jobs.run(pk)
        reply = Message.objects.get(ticket=result.ticket, direction="out")
        email = build_email(reply)
    assert email.to == ["Erin <erin@example.test>"]
    found = re.search(r"https?://\S+/portal/requests/(\d+)/follow/\S+/", email.body)
    assert found, email.body
    assert int(found.group(1)) == result.ticket.number
    address = urlsplit(found.group(0))
    assert address.hostname == host_of(cast.tenant)
    path = address.path
    visitor(client, cast.tenant)
    page = client.get(path, follow=True)
    assert page.status_code == 200 and "Broken charger" in page.content.decode()
    assert "Create a portal password" in page.content.decode()  # Erin has no login yet


def test_request_url_is_a_known_auto_reply_placeholder(cast):
    from tickets.automation.admin_services import PLACEHOLDERS, check_auto_reply_template

    assert "request_url" in PLACEHOLDERS
    assert check_auto_reply_template("Follow: {{ request_url }}", where="Body")
    with tenant_context(cast.tenant):
        ticket = make_ticket(cast.tenant, requester=cast.bob, subject="Again")
        template = AutoReply(name="t", subject="s", body="{{ request_url }}")
        from tickets.automation.autoreply import render

        _subject, body = render(template, ticket)
        token = body.rstrip("/").rsplit("/", 1)[1]
        assert portal.ticket_for_follow_token(ticket.number, token).pk == ticket.pk


def test_a_link_holder_can_open_a_follow_up_and_keep_following(client, cast, agent):
    from tickets.models import Ticket, TicketLink
    from tickets.services import ticket_update

    with tenant_context(cast.tenant):
        ticket_update(ticket=cast.carols, actor=agent, status="solved")
        ticket_update(ticket=cast.carols, actor=agent, status="closed")
    visitor(client, cast.tenant)
    client.get(link(cast, cast.carols))
    path = reverse("portal:request_follow_up", kwargs={"request_number": 3})
    response = client.post(path, {"subject": "Follow-up to #3: Password reset", "token": "fu-1",
                                  "description": "Locked out again."})  # fmt: skip
    assert response.status_code == 302
    with tenant_context(cast.tenant):
        new = Ticket.objects.get(subject="Follow-up to #3: Password reset")
        assert new.requester_id == cast.carol.pk
        assert TicketLink.objects.filter(ticket=new, other=cast.carols).exists()
    assert response["Location"] == reverse("portal:request", kwargs={"request_number": new.number})
    assert "Locked out again." in client.get(response["Location"]).content.decode()

"""Who sees which request in the portal: own, organization-shared on and off, another
contact's, another tenant's, signed out, staff. Anything not theirs is a 404 (never a 403),
the same as a number that does not exist."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from tests.factories import ContactFactory, make_ticket
from tests.helpers import host_of, sign_in
from tickets import portal
from tickets.models import Contact
from tickets.services import ticket_add_note

from .conftest import as_customer, share

pytestmark = pytest.mark.django_db


def url(ticket) -> str:
    return reverse("portal:request", kwargs={"request_number": ticket.number})


def actions(ticket) -> list[tuple[str, str]]:
    kw = {"request_number": ticket.number}
    return [
        ("get", url(ticket)),
        ("post", reverse("portal:request_reply", kwargs=kw)),
        ("post", reverse("portal:request_solve", kwargs=kw)),
        ("post", reverse("portal:request_reopen", kwargs=kw)),
        ("get", reverse("portal:request_follow_up", kwargs=kw)),
    ]


def test_own_request_is_visible_with_its_public_thread_only(client, cast, agent):
    with tenant_context(cast.tenant):
        ticket_add_note(ticket=cast.alices, author=agent, body_text="Customer is on thin ice")
    as_customer(client, cast.alice, cast.tenant)
    response = client.get(url(cast.alices))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Invoice is wrong" in page and "It is on fire." in page
    assert "thin ice" not in page  # internal notes never reach the customer
    assert agent.email not in page


@pytest.mark.parametrize("shared", [False, True])
def test_organization_requests_follow_the_shared_flag(client, cast, shared):
    share(cast, shared)
    as_customer(client, cast.alice, cast.tenant)
    for method, path in actions(cast.bobs):
        status = getattr(client, method)(path).status_code
        assert (status != 404) is shared, (path, status)  # shared: 200, 302 or 422 (empty)
    listing = client.get(reverse("portal:requests") + "?scope=organization&status=all")
    assert ("Delivery late" in listing.content.decode()) is shared
    with tenant_context(cast.tenant):
        alice = Contact.objects.get(pk=cast.alice.pk)
        visible = set(portal.visible_requests(alice).values_list("number", flat=True))
    assert visible == ({1, 2} if shared else {1})


def test_another_contact_s_request_is_a_404_for_every_action(client, cast):
    share(cast, True)  # Carol is not in Globex: sharing changes nothing for her tickets
    as_customer(client, cast.alice, cast.tenant)
    for method, path in actions(cast.carols):
        assert getattr(client, method)(path).status_code == 404, path
    with tenant_context(cast.tenant):
        assert portal.request_for(cast.alice, cast.carols.number) is None


def test_other_tenant_numbers_and_hosts(client, cast):
    for _n in range(3):  # bravo gets numbers alpha does not have
        make_ticket(cast.other, requester=cast.dmitri, subject="更多")
    as_customer(client, cast.alice, cast.tenant)
    assert client.get(reverse("portal:request", kwargs={"request_number": 4})).status_code == 404
    # Alice's session means nothing on bravo's host (a different tenant).
    response = client.get(url(cast.dmitris), HTTP_HOST=host_of(cast.other))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # Bravo's own customer sees ticket 1 of bravo, not Alice's ticket 1.
    client.logout()
    sign_in(client, cast.dmitri.user, cast.other)
    page = client.get(url(cast.dmitris)).content.decode()
    assert "退款" in page and "Invoice is wrong" not in page


def test_signed_out_visitors_are_sent_to_sign_in_whatever_the_number(client, cast):
    client.defaults["HTTP_HOST"] = host_of(cast.tenant)
    for number in (cast.alices.number, 999):
        response = client.get(reverse("portal:request", kwargs={"request_number": number}))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.get(reverse("portal:requests"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_staff_go_to_the_agent_side(client, cast, agent):
    sign_in(client, agent, cast.tenant)
    assert client.get(reverse("portal:home"))["Location"] == reverse("agent:home")
    assert client.get(reverse("portal:requests"))["Location"] == reverse("agent:home")
    # A request's portal pages are its customer's: staff get the same 404 as a stranger.
    for method, path in actions(cast.alices):
        assert getattr(client, method)(path).status_code == 404, path


def test_a_signed_in_user_unknown_in_this_tenant_gets_404(client, cast):
    sign_in(client, cast.dmitri.user, cast.tenant)  # customer of bravo only
    assert client.get(reverse("portal:requests")).status_code == 404


def test_tickets_of_a_merged_away_contact_count_as_the_survivor_s(client, cast):
    old = ContactFactory(tenant=cast.tenant, name="Alice (old)", email="a.ng@old.test", user=None)
    ticket = make_ticket(cast.tenant, requester=old, subject="Old address issue")
    with tenant_context(cast.tenant):
        # A contact pointing at Alice whose ticket was not moved (a merge in progress).
        Contact.objects.filter(pk=old.pk).update(merged_into=cast.alice)
        assert portal.request_for(cast.alice, ticket.number) is not None
        assert portal.request_for(cast.bob, ticket.number) is None
    as_customer(client, cast.alice, cast.tenant)
    assert client.get(url(ticket)).status_code == 200


def test_attachments_are_served_only_from_visible_public_messages(client, cast, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with tenant_context(cast.tenant):
        note = ticket_add_note(
            ticket=cast.alices,
            author=agent,
            body_text="secret",
            attachments=[SimpleUploadedFile("internal.txt", b"x")],
        )
        reply = portal.customer_reply(
            ticket=cast.carols,
            contact=cast.carol,
            body_text="here",
            attachments=[SimpleUploadedFile("carol.txt", b"c")],
        )
        mine = portal.customer_reply(
            ticket=cast.alices,
            contact=cast.alice,
            body_text="see file",
            attachments=[SimpleUploadedFile("mine.html", b"<b>x</b>", "text/html")],
        )
        files = {
            name: m.attachments.get()
            for name, m in (("note", note), ("carol", reply), ("mine", mine))
        }
    as_customer(client, cast.alice, cast.tenant)

    def fetch(ticket, attachment):
        return client.get(
            reverse(
                "portal:attachment",
                kwargs={"request_number": ticket.number, "attachment_id": attachment.pk},
            )
        )

    ok = fetch(cast.alices, files["mine"])
    assert ok.status_code == 200
    assert ok["Content-Disposition"].startswith("attachment;")
    assert ok["Content-Type"] == "application/octet-stream"  # HTML is never rendered
    assert ok["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(ok.streaming_content) == b"<b>x</b>"
    assert fetch(cast.alices, files["note"]).status_code == 404  # a note's file
    assert fetch(cast.alices, files["carol"]).status_code == 404  # Carol's, via mine
    assert fetch(cast.carols, files["carol"]).status_code == 404  # Carol's ticket

"""The requests list: customer-facing statuses, filters, search by subject or number, bounded
pages, the organization tab, and what "last activity" may reveal."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from tests.factories import make_ticket
from tests.helpers import sign_in
from tickets import portal
from tickets.models import Organization, Ticket
from tickets.services import ticket_add_note, ticket_update

from .conftest import as_customer, share

pytestmark = pytest.mark.django_db


def listing(client, query: str = "") -> str:
    response = client.get(reverse("portal:requests") + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("new", "Open"),
        ("open", "Open"),
        ("on-hold", "Open"),
        ("pending", "Awaiting your reply"),
        ("solved", "Solved"),
        ("closed", "Closed"),
    ],
)
def test_customer_facing_statuses(status, label):
    assert portal.customer_status(Ticket(status=status))[1] == label


def test_filters_and_search(client, cast, agent):
    with tenant_context(cast.tenant):
        ticket_update(ticket=cast.alices, actor=agent, status="pending")
    solved = make_ticket(cast.tenant, requester=cast.alice, subject="Refund request")
    with tenant_context(cast.tenant):
        ticket_update(ticket=solved, actor=agent, status="solved")
    as_customer(client, cast.alice, cast.tenant)
    page = listing(client)  # open ones by default
    assert "Invoice is wrong" in page and "Awaiting your reply" in page
    assert "Refund request" not in page
    page = listing(client, "?status=solved")
    assert "Refund request" in page and "Invoice is wrong" not in page
    page = listing(client, "?status=all&q=refund")
    assert "Refund request" in page and "Invoice is wrong" not in page
    page = listing(client, f"?status=all&q=%23{cast.alices.number}")
    assert "Invoice is wrong" in page and "Refund request" not in page
    # Unknown values fall back to the defaults instead of choosing lookups.
    page = listing(client, "?status=requester__user__password&scope=everything&page=abc")
    assert "Invoice is wrong" in page
    assert "Delivery late" not in listing(client, "?status=all")  # Bob's, not shared
    # portal:home is the same list.
    assert "Invoice is wrong" in client.get(reverse("portal:home")).content.decode()


def test_pages_are_bounded(client, cast, django_assert_max_num_queries):
    for n in range(portal.PAGE_SIZE + 5):
        make_ticket(cast.tenant, requester=cast.alice, subject=f"Question {n:02d}")
    as_customer(client, cast.alice, cast.tenant)
    first = listing(client)
    assert first.count('class="request-row"') == portal.PAGE_SIZE
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = listing(client, "?status=open&page=2")
    assert second.count('class="request-row"') == 6  # 25 new + Alice's first
    with django_assert_max_num_queries(25):
        client.get(reverse("portal:requests"))


def test_organization_tab_only_when_shared(client, cast):
    as_customer(client, cast.alice, cast.tenant)
    assert "Requests of" not in listing(client)
    assert "Delivery late" not in listing(client, "?scope=organization&status=all")
    share(cast, True)
    page = listing(client)
    assert "Requests of </span>Globex" in page and "Delivery late" not in page  # "mine" by default
    page = listing(client, "?scope=organization&status=all")
    assert "Delivery late" in page and "Invoice is wrong" in page and "Bob Li" in page
    assert "Password reset" not in page  # Carol is not in Globex


def test_last_activity_never_reveals_internal_notes(cast, agent):
    with tenant_context(cast.tenant):
        before = Ticket.objects.get(pk=cast.alices.pk)
        ticket_add_note(ticket=before, author=agent, body_text="internal")
        (row,) = portal.request_list(cast.alice, status="all")
        assert row.last_activity_at > before.last_activity_at  # the note moved the ticket …
        assert row.last_public_at < row.last_activity_at  # … not what the customer sees


def test_htmx_asks_for_the_list_fragment(client, cast):
    as_customer(client, cast.alice, cast.tenant)
    response = client.get(
        reverse("portal:requests") + "?status=all",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="request-list",
    )
    body = response.content.decode().lstrip()
    assert body.startswith('<section id="request-list"') and "Invoice is wrong" in body


def test_agents_switch_the_organization_s_sharing_on_the_contact_page(client, cast, agent):
    sign_in(client, agent, cast.tenant)
    path = reverse("tickets:contact_edit", kwargs={"contact_id": cast.alice.pk})
    form = {
        "profile-name": "Alice Ng",
        "profile-email": "alice@globex.test",
        "profile-organization": "Globex",
        "profile-tier": "standard",
        "profile-language": "",
        "profile-shared_requests": "on",
    }
    assert client.post(path, form).status_code == 302
    with tenant_context(cast.tenant):
        assert Organization.objects.get(pk=cast.globex.pk).shared_requests is True
    page = client.get(reverse("tickets:contact", kwargs={"contact_id": cast.alice.pk}))
    (box,) = re.findall(r'<input[^>]*name="profile-shared_requests"[^>]*>', page.content.decode())
    assert "checked" in box
    form.pop("profile-shared_requests")
    client.post(path, form)
    with tenant_context(cast.tenant):
        assert Organization.objects.get(pk=cast.globex.pk).shared_requests is False


def test_the_request_page_costs_the_same_for_a_long_thread(
    client, cast, agent, django_assert_max_num_queries
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tickets.services import ticket_reply

    with tenant_context(cast.tenant):
        for n in range(15):
            ticket_reply(ticket=cast.alices, author=agent, body_text=f"Answer {n}",
                         attachments=[SimpleUploadedFile(f"a{n}.txt", b"x")])  # fmt: skip
            portal.customer_reply(ticket=cast.alices, contact=cast.alice, body_text=f"Q {n}")
    as_customer(client, cast.alice, cast.tenant)
    path = reverse("portal:request", kwargs={"request_number": cast.alices.number})
    with django_assert_max_num_queries(15):  # 13 today, whatever the length
        page = client.get(path).content.decode()
    assert page.count('class="thread-msg ') == 31 and "a14.txt" in page

"""The JSON API at /api/v1/: tokens, tickets, messages, contacts, schema and errors.

Real Postgres (RLS in force), real services; requests go through the whole middleware stack on
the tenant's host with `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.accounts.services import api_token_create, api_token_revoke
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.resolve import forget_host_cache
from tests.factories import ContactFactory, MembershipFactory, make_ticket
from tests.helpers import host_of, sign_in, task_callbacks
from tickets import services
from tickets.models import Contact, ContactIdentity, Message, Team, Ticket, TicketEvent


@pytest.fixture(autouse=True)
def _media_and_hosts(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    forget_host_cache()


def token_for(user, tenant) -> str:
    with tenant_context(tenant):
        _token, secret = api_token_create(user=user, name="test")
    return secret


class Api:
    """A test client speaking JSON to one tenant's /api/v1/ with one bearer token."""

    def __init__(self, client, tenant, secret: str | None):
        self.client, self.tenant, self.secret = client, tenant, secret

    def _headers(self) -> dict:
        headers = {"HTTP_HOST": host_of(self.tenant)}
        if self.secret:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.secret}"
        return headers

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"/api/v1{path}", params or {}, **self._headers())

    def send(self, method: str, path: str, body) -> object:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(
            f"/api/v1{path}", data, content_type="application/json", **self._headers()
        )

    def post(self, path: str, body):
        return self.send("post", path, body)

    def patch(self, path: str, body):
        return self.send("patch", path, body)


@pytest.fixture
def api(client, tenant_a, agent):
    return Api(client, tenant_a, token_for(agent, tenant_a))


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert b"<html" not in response.content.lower()
    assert b"Traceback" not in response.content
    return body


# --- Authentication --------------------------------------------------------------------------


def test_missing_malformed_and_unknown_tokens_are_401_json(client, tenant_a, agent):
    make_ticket(tenant_a)
    for secret in (None, "hd_not-a-real-token", "not-even-our-prefix"):
        response = Api(client, tenant_a, secret).get("/tickets")
        assert_json_error(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    basic = client.get(
        "/api/v1/tickets", HTTP_HOST=host_of(tenant_a), HTTP_AUTHORIZATION="Basic dXNlcjpwdw=="
    )
    assert_json_error(basic, 401)


def test_revoked_token_is_401(client, tenant_a, agent):
    secret = token_for(agent, tenant_a)
    api = Api(client, tenant_a, secret)
    assert api.get("/tickets").status_code == 200
    with tenant_context(tenant_a):
        token = agent.api_tokens.get()
        api_token_revoke(token=token, actor=agent)
    assert_json_error(api.get("/tickets"), 401)


def test_token_of_another_tenant_is_401_here(client, tenant_a, tenant_b, outsider):
    make_ticket(tenant_a, subject="Alpha's secret")
    secret = token_for(outsider, tenant_b)
    assert Api(client, tenant_b, secret).get("/tickets").status_code == 200
    response = Api(client, tenant_a, secret).get("/tickets")
    assert_json_error(response, 401)
    assert b"secret" not in response.content.lower()


def test_token_of_removed_member_is_401(client, tenant_a, agent):
    api = Api(client, tenant_a, token_for(agent, tenant_a))
    with tenant_context(tenant_a):
        Membership.objects.filter(user=agent).update(is_active=False)
    assert_json_error(api.get("/tickets"), 401)


def test_a_browser_session_is_not_an_api_credential(client, tenant_a, agent):
    sign_in(client, agent, tenant_a)
    assert_json_error(client.get("/api/v1/tickets"), 401)


# --- Listing ---------------------------------------------------------------------------------


def test_list_filters_and_returns_ticket_fields(api, tenant_a, agent):
    urgent = make_ticket(tenant_a, subject="Server down", priority="urgent", tags=["outage"])
    make_ticket(tenant_a, subject="Question about invoices", priority="low")
    with tenant_context(tenant_a):
        services.ticket_update(ticket=urgent, actor=agent, assignee=agent, status="open")

    response = api.get("/tickets", {"priority": "urgent,high"})
    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert row["number"] == urgent.number
    assert row["subject"] == "Server down"
    assert (row["status"], row["priority"], row["channel"]) == ("open", "urgent", "web")
    assert row["tags"] == ["outage"]
    assert row["assignee"] == {"id": agent.pk, "name": agent.get_full_name(), "email": agent.email}
    assert row["requester"]["email"] == urgent.requester.email
    assert row["version"] == 2
    assert response.json()["next_cursor"] is None

    assert [r["number"] for r in api.get("/tickets", {"view": "mine"}).json()["results"]] == [
        urgent.number
    ]
    assert [r["subject"] for r in api.get("/tickets", {"q": "invoices"}).json()["results"]] == [
        "Question about invoices"
    ]
    assert api.get("/tickets", {"tag": "outage", "assignee": "none"}).json()["results"] == []


def test_list_pages_by_cursor_cover_everything_once(api, tenant_a):
    for i in range(7):
        make_ticket(tenant_a, subject=f"Ticket {i}")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, "sort": "oldest"} | ({"cursor": cursor} if cursor else {})
        body = api.get("/tickets", params).json()
        seen += [row["number"] for row in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    assert pages == 3


def test_unknown_filters_and_values_are_a_400_listing_them(api, tenant_a):
    make_ticket(tenant_a)
    response = api.get(
        "/tickets", {"status": "open,bogus", "sort": "assignee__password", "colour": "red"}
    )
    body = assert_json_error(response, 400)
    assert set(body["invalid"]) == {
        "status=bogus",
        "sort=assignee__password",
        "colour (unknown parameter)",
    }
    assert "status=bogus" in body["error"]
    assert (
        "cursor=garbage"
        in assert_json_error(api.get("/tickets", {"cursor": "garbage"}), 400)["invalid"]
    )


def test_limit_is_capped_at_100(api, tenant_a):
    body = assert_json_error(api.get("/tickets", {"limit": 500}), 422)
    assert body["details"][0]["loc"][-1] == "limit"
    assert api.get("/tickets", {"limit": 100}).status_code == 200


def test_list_query_count_is_small_and_constant(
    api, tenant_a, agent, django_assert_max_num_queries
):
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Billing", tier=2)
    for i in range(30):
        make_ticket(tenant_a, subject=f"Ticket {i}", tags=["a", f"t{i}"], team=team, assignee=agent)
    with django_assert_max_num_queries(10):
        response = api.get("/tickets", {"limit": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 30
    assert all(
        len(row["tags"]) == 2 and row["team"]["name"] == "Billing"
        for row in response.json()["results"]
    )


# --- Create, retrieve, update ----------------------------------------------------------------


def test_create_makes_a_contact_and_a_ticket(api, tenant_a, agent):
    response = api.post(
        "/tickets",
        {
            "requester_email": "New.Person@Customer.test",
            "requester_name": "New Person",
            "subject": "Cannot log in",
            "body": "Since this morning.",
            "priority": "high",
            "tags": ["Login", "web "],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == 1
    assert (body["channel"], body["priority"], body["status"]) == ("api", "high", "new")
    assert body["tags"] == ["login", "web"]
    assert body["requester"]["email"] == "new.person@customer.test"
    [message] = body["messages"]
    assert message["direction"] == "in" and message["body_text"] == "Since this morning."
    assert message["author"]["type"] == "contact"
    with tenant_context(tenant_a):
        contact = Contact.objects.get(email="new.person@customer.test")
        assert contact.name == "New Person"
        event = TicketEvent.objects.get(ticket__number=1, kind="created")
        assert event.actor == agent


def test_create_reuses_the_contact_with_that_email_or_identity(api, tenant_a):
    known = ContactFactory(tenant=tenant_a, email="alice@customer.test", user=None)
    other = ContactFactory(tenant=tenant_a, email="bob@customer.test", user=None)
    with tenant_context(tenant_a):
        ContactIdentity.objects.create(contact=other, kind="email", value="bob@home.test")
    for email, contact in (("ALICE@customer.test", known), ("bob@home.test", other)):
        response = api.post(
            "/tickets", {"requester_email": email, "subject": "Hi", "body": "Hello"}
        )
        assert response.status_code == 201, response.content
        assert response.json()["requester"]["id"] == contact.pk
    with tenant_context(tenant_a):
        assert Contact.objects.count() == 2


def test_create_validation_errors_are_422_with_details(api, tenant_a):
    cases = [
        {"requester_email": "not-an-email", "subject": "x", "body": "y"},
        {"requester_email": "a@b.test", "subject": "x"},
        {"requester_email": "a@b.test", "subject": "x", "body": "y", "priority": "extreme"},
        {"requester_email": "a@b.test", "subject": "", "body": "y"},
    ]
    for payload in cases:
        body = assert_json_error(api.post("/tickets", payload), 422)
        assert body["details"], payload
    with tenant_context(tenant_a):
        assert not Ticket.objects.exists()


def test_create_with_another_tenants_member_writes_nothing(api, tenant_a, outsider):
    response = api.post(
        "/tickets",
        {
            "requester_email": "new@customer.test",
            "subject": "x",
            "body": "y",
            "assignee_id": outsider.pk,
        },
    )
    assert "member" in assert_json_error(response, 400)["error"]
    with tenant_context(tenant_a):
        assert not Contact.objects.exists()  # the contact made on the way was rolled back
        assert not Ticket.objects.exists()


def test_retrieve_has_messages_notes_tags_and_attachments(api, tenant_a, agent):
    ticket = make_ticket(tenant_a, subject="Broken", body="It broke.", tags=["hw"])
    with tenant_context(tenant_a):
        services.ticket_add_note(
            ticket=ticket,
            author=agent,
            body_text="Customer is VIP",
            attachments=[SimpleUploadedFile("log.txt", b"line 1\n", "text/plain")],
        )
        services.ticket_reply(ticket=ticket, author=agent, body_text="Looking into it")
    response = api.get(f"/tickets/{ticket.number}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tags"] == ["hw"]
    assert [(m["kind"], m["direction"]) for m in body["messages"]] == [
        ("reply", "in"),
        ("note", "out"),
        ("reply", "out"),
    ]
    note = body["messages"][1]
    assert note["body_text"] == "Customer is VIP"
    assert note["author"] == {
        "type": "user",
        "id": agent.pk,
        "name": agent.get_full_name(),
        "email": agent.email,
    }
    assert note["attachments"] == [
        {
            "id": note["attachments"][0]["id"],
            "filename": "log.txt",
            "content_type": "text/plain",
            "size": 7,
        }
    ]
    assert body["status"] == "open" and body["merged_into"] is None


def test_other_tenants_tickets_and_unknown_numbers_are_404(api, tenant_a, tenant_b):
    theirs = make_ticket(tenant_b, subject="Bravo secret")
    assert theirs.number == 1
    for response in (
        api.get("/tickets/1"),
        api.patch("/tickets/1", {"priority": "low"}),
        api.post("/tickets/1/messages", {"body_text": "hi"}),
        api.get("/tickets/999"),
    ):
        assert_json_error(response, 404)
        assert b"secret" not in response.content.lower()
    with tenant_context(tenant_b):
        theirs.refresh_from_db()
        assert (theirs.priority, theirs.version, theirs.messages.count()) == ("normal", 1, 1)


def test_update_properties_and_tags(api, tenant_a, agent):
    ticket = make_ticket(tenant_a, tags=["old"])
    colleague = MembershipFactory(tenant=tenant_a, user__email="colleague@alpha.test").user
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Tier 2", tier=2)
    response = api.patch(
        f"/tickets/{ticket.number}",
        {
            "status": "pending",
            "priority": "high",
            "assignee_id": colleague.pk,
            "team_id": team.pk,
            "tags": ["new", "Billing"],
            "version": 1,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"]) == ("pending", "high")
    assert body["assignee"]["id"] == colleague.pk
    assert (body["team"]["id"], body["tier"]) == (team.pk, 2)
    assert body["tags"] == ["billing", "new"]
    with tenant_context(tenant_a):
        kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
        assert {"status", "priority", "assignee", "team", "tags"} <= kinds
    unassigned = api.patch(f"/tickets/{ticket.number}", {"assignee_id": None}).json()
    assert unassigned["assignee"] is None and unassigned["team"]["id"] == team.pk


def test_stale_version_is_a_409_with_current_values(api, client, tenant_a, admin):
    ticket = make_ticket(tenant_a, tags=["x"])
    with tenant_context(tenant_a):
        services.ticket_update(ticket=ticket, actor=admin, version=1, priority="urgent")
    response = api.patch(
        f"/tickets/{ticket.number}", {"priority": "low", "tags": ["y"], "version": 1}
    )
    body = assert_json_error(response, 409)
    assert body["fields"] == ["priority"]
    assert body["current"] == {
        "status": "new",
        "priority": "urgent",
        "type": "question",
        "category": "inquiry",
        "assignee_id": None,
        "team_id": None,
        "tags": ["x"],
        "version": 2,
    }
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        assert (ticket.priority, ticket.version) == ("urgent", 2)
    assert api.get(f"/tickets/{ticket.number}").json()["tags"] == ["x"]


def test_update_refusals(api, tenant_a, tenant_b, outsider):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_b):
        their_team = Team.objects.create(name="Bravo team")
    path = f"/tickets/{ticket.number}"
    assert "Solve" in assert_json_error(api.patch(path, {"status": "closed"}), 400)["error"]
    assert_json_error(api.patch(path, {"assignee_id": outsider.pk}), 400)
    assert_json_error(api.patch(path, {"team_id": their_team.pk}), 400)
    assert_json_error(api.patch(path, {"status": None}), 422)
    assert_json_error(api.patch(path, {"priority": "whenever"}), 422)
    assert_json_error(api.patch(path, "{not json"), 400)
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        assert (ticket.version, ticket.status, ticket.assignee_id) == (1, "new", None)


# --- Messages --------------------------------------------------------------------------------


def test_reply_is_queued_for_delivery_and_can_set_status(
    api, tenant_a, agent, django_capture_on_commit_callbacks
):
    ticket = make_ticket(tenant_a, channel=Ticket.Channel.EMAIL)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(
            f"/tickets/{ticket.number}/messages",
            {
                "kind": "reply",
                "body_html": "<p>Fixed <script>x()</script>now</p>",
                "status": "solved",
            },
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["direction"], body["delivery_status"]) == ("reply", "out", "pending")
    assert "script" not in body["body_html"]
    assert body["author"]["id"] == agent.pk
    assert len(task_callbacks(callbacks)) == 1  # the delivery task, enqueued on commit
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        assert ticket.status == "solved" and ticket.first_response_at is not None


def test_note_is_internal_and_never_sent(api, tenant_a, django_capture_on_commit_callbacks):
    ticket = make_ticket(tenant_a, channel=Ticket.Channel.EMAIL)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(
            f"/tickets/{ticket.number}/messages", {"kind": "note", "body_html": "<b>VIP</b>"}
        )
    assert response.status_code == 201, response.content
    assert (response.json()["kind"], response.json()["body_text"]) == ("note", "VIP")
    assert callbacks == []
    with tenant_context(tenant_a):
        note = Message.objects.get(kind="note")
        assert note.delivery_status == ""


def test_empty_or_odd_messages_are_refused(api, tenant_a):
    ticket = make_ticket(tenant_a)
    path = f"/tickets/{ticket.number}/messages"
    assert_json_error(api.post(path, {"kind": "reply", "body_text": "   "}), 400)
    assert_json_error(api.post(path, {"kind": "note", "body_text": ""}), 400)
    assert_json_error(api.post(path, {"kind": "shout", "body_text": "x"}), 422)
    assert_json_error(api.post(path, {"kind": "note", "body_text": "x", "status": "open"}), 422)
    with tenant_context(tenant_a):
        assert Message.objects.count() == 1


# --- Contacts --------------------------------------------------------------------------------


def test_contacts_list_pages_and_search(api, tenant_a, tenant_b):
    for i in range(5):
        ContactFactory(tenant=tenant_a, name=f"Person {i}", user=None)
    ContactFactory(tenant=tenant_a, name="王小明", email="xm@example.cn", user=None)
    ContactFactory(tenant=tenant_b, name="Bravo customer", user=None)
    seen, cursor = [], None
    while True:
        body = api.get("/contacts", {"limit": 4} | ({"cursor": cursor} if cursor else {})).json()
        seen += [row["name"] for row in body["results"]]
        if not (cursor := body["next_cursor"]):
            break
    assert sorted(seen) == sorted([f"Person {i}" for i in range(5)] + ["王小明"])
    found = api.get("/contacts", {"q": "example.cn"}).json()["results"]
    assert [c["name"] for c in found] == ["王小明"]
    assert api.get("/contacts", {"q": "Bravo"}).json()["results"] == []
    assert_json_error(api.get("/contacts", {"cursor": "x"}), 400)


def test_contact_detail_create_and_duplicates(api, tenant_a, tenant_b):
    theirs = ContactFactory(tenant=tenant_b, email="shared@customer.test", user=None)
    response = api.post(
        "/contacts", {"name": "Dana", "email": "Shared@Customer.test", "phone": "+44 20 1234"}
    )
    assert response.status_code == 201, response.content
    contact_id = response.json()["id"]
    assert contact_id != theirs.pk
    with tenant_context(tenant_a):
        dana = Contact.objects.get(pk=contact_id)
    ticket = make_ticket(tenant_a, requester=dana, subject="Dana's ticket")
    detail = api.get(f"/contacts/{contact_id}").json()
    assert (detail["email"], detail["phone"]) == ("shared@customer.test", "+44 20 1234")
    assert [t["number"] for t in detail["recent_tickets"]] == [ticket.number]
    assert detail["identities"] == [] and detail["organization"] is None
    duplicate = api.post("/contacts", {"name": "Dana again", "email": "shared@customer.test"})
    assert assert_json_error(duplicate, 409)["id"] == contact_id
    assert_json_error(api.post("/contacts", {"phone": "123"}), 422)
    assert_json_error(api.get(f"/contacts/{theirs.pk}"), 404)


# --- Schema and errors -----------------------------------------------------------------------


def test_openapi_schema_is_served_and_lists_the_paths(client, tenant_a):
    response = client.get("/api/v1/openapi.json", HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["version"] == "1"
    assert {
        "/api/v1/tickets",
        "/api/v1/tickets/{number}",
        "/api/v1/tickets/{number}/messages",
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/tickets/{number}"]) == {"get", "patch"}
    [scheme] = schema["components"]["securitySchemes"].values()
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert client.get("/api/v1/docs", HTTP_HOST=host_of(tenant_a)).status_code == 404
    assert_json_error(client.post("/api/v1/openapi.json", HTTP_HOST=host_of(tenant_a)), 405)


def test_errors_are_json_never_html(api, client, tenant_a):
    assert_json_error(api.get("/no-such-thing"), 404)
    assert_json_error(api.get("/tickets/not-a-number"), 404)
    assert_json_error(api.get("/"), 404)
    response = api.send("delete", "/tickets", {})
    assert_json_error(response, 405)
    assert "GET" in response["Allow"]
    assert_json_error(client.get("/api/v1/tickets", HTTP_HOST="nobody.localhost"), 404)


def test_an_oversized_body_is_413_json(api, tenant_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    ticket = make_ticket(tenant_a)
    response = api.post(f"/tickets/{ticket.number}/messages", {"body_text": "x" * 2000})
    assert_json_error(response, 413)
    with tenant_context(tenant_a):
        assert Message.objects.count() == 1


def test_an_unexpected_failure_is_a_logged_500_without_details(api, tenant_a, caplog):
    ticket = make_ticket(tenant_a, subject="Corrupt")
    with tenant_context(tenant_a):  # a value the API does not know (e.g. a bad data import)
        Ticket.objects.filter(pk=ticket.pk).update(status="legacy-status")
    with caplog.at_level(logging.ERROR, logger="helpdesk.api"):
        response = api.get(f"/tickets/{ticket.number}")
    assert assert_json_error(response, 500) == {"error": "Internal error"}
    assert "legacy-status" not in response.content.decode()
    assert any(r.name == "helpdesk.api" and r.exc_info for r in caplog.records)

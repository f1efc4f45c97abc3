"""The ticket page (/agent/tickets/<number>/) and its actions: thread, composer (reply, note,
canned responses, attachments, send-and-set-status), properties with conflict detection, tags,
take / follow, link / merge / split, delivery retry, presence, timeline, attachment downloads,
"new ticket", tenancy and the query budget."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.resolve import forget_host_cache
from tests.factories import ContactFactory, MembershipFactory, make_ticket
from tests.helpers import host_of, sign_in, task_callbacks
from tickets import presence, services
from tickets.models import (
    Attachment,
    CannedResponse,
    Contact,
    CustomerTier,
    Message,
    Organization,
    Team,
    Ticket,
    TicketEvent,
    TicketFollower,
    TicketLink,
    TicketRead,
)
from tickets.selectors import ticket_tag_names

HTMX = {"HTTP_HX_REQUEST": "true"}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def agent_client(client, tenant_a, agent):
    return sign_in(client, agent, tenant_a)


@pytest.fixture
def colleague(tenant_a):
    return MembershipFactory(
        tenant=tenant_a, user__email="ada@alpha.test", user__full_name="Ada Lovelace"
    ).user


def url(name: str, ticket: Ticket | None = None, **kwargs) -> str:
    if ticket is not None:
        kwargs["number"] = ticket.number
    return reverse(f"tickets:{name}", kwargs=kwargs)


def reload(tenant, ticket) -> Ticket:
    with tenant_context(tenant):
        return Ticket.objects.select_related("assignee", "merged_into").get(pk=ticket.pk)


def email_ticket(tenant, **kw) -> Ticket:
    requester = ContactFactory(tenant=tenant, name="Carla Customer", user=None)
    return make_ticket(tenant, requester=requester, channel=Ticket.Channel.EMAIL, **kw)


# --- Access ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, tenant_a):
    ticket = make_ticket(tenant_a)
    response = client.get(url("detail", ticket), HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_other_tenants_ticket_and_unknown_number_are_404(client, tenant_a, tenant_b, outsider):
    mine = make_ticket(tenant_b, subject="Bravo's own")
    theirs = make_ticket(tenant_a, subject="Alpha secret")
    theirs2 = make_ticket(tenant_a, subject="Alpha secret two")
    sign_in(client, outsider, tenant_b)
    assert client.get(url("detail", mine)).status_code == 200
    # number 2 exists in tenant A only
    assert client.get(url("detail", theirs2)).status_code == 404
    assert client.get(url("detail", number=999)).status_code == 404
    assert theirs.number == mine.number  # same number, different tenant: bravo's own opens
    assert b"Alpha secret" not in client.get(url("detail", mine)).content


def test_customer_gets_404(client, tenant_a, customer):
    ticket = make_ticket(tenant_a)
    sign_in(client, customer, tenant_a)
    assert client.get(url("detail", ticket)).status_code == 404


# --- The page -------------------------------------------------------------------------------


def test_page_shows_thread_notes_attachments_customer_and_marks_read(
    agent_client, tenant_a, agent, colleague, django_assert_max_num_queries
):
    org = None
    with tenant_context(tenant_a):
        org = Organization.objects.create(name="Globex", tier=CustomerTier.VIP)
    requester = ContactFactory(
        tenant=tenant_a, name="Vera Important", user=None, organization=org, notes="Prefers email."
    )
    ticket = make_ticket(tenant_a, requester=requester, subject="Printer on fire")
    older = make_ticket(tenant_a, requester=requester, subject="Earlier question",
                        channel=Ticket.Channel.CHAT)  # fmt: skip
    make_ticket(tenant_a, subject="Another customer's ticket")
    with tenant_context(tenant_a):
        for i in range(14):
            services.ticket_add_inbound(ticket=ticket, contact=requester, body_text=f"More {i}")
            services.ticket_reply(
                ticket=ticket, author=colleague, body_text=f"Answer {i}",
                attachments=[SimpleUploadedFile(f"shot{i}.png", PNG, "image/png"),
                             SimpleUploadedFile(f"log{i}.txt", b"log", "text/plain")],
            )  # fmt: skip
        services.ticket_add_note(ticket=ticket, author=colleague, body_text="Secret plan")
        services.ticket_set_tags(ticket=ticket, names=["hardware", "fire"], actor=agent)
        services.ticket_link(ticket=ticket, other=older, actor=agent)
        assert Message.objects.filter(ticket=ticket).count() == 30
    make_ticket(tenant_a)  # warm the host cache with another request first
    agent_client.get(url("detail", number=3))
    with django_assert_max_num_queries(15):
        response = agent_client.get(url("detail", ticket))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Printer on fire" in html and "Answer 13" in html and "More 13" in html
    assert html.count('class="msg msg-note"') == 1 and "Internal note" in html
    assert html.count("?inline=1") == 14  # images inline, through the download view
    assert html.count('class="file-chip"') == 14  # other files as downloads
    assert "Vera Important" in html and "Globex" in html and "Prefers email." in html
    assert "chip-tier-vip" in html
    assert "Earlier question" in html  # other tickets of the requester, across channels
    assert "Another customer" not in html
    assert "hardware" in html and 'data-shortcut="r"' in html and 'data-shortcut="n"' in html
    with tenant_context(tenant_a):
        assert TicketRead.objects.filter(ticket=ticket, user=agent).exists()
    # already read: the second visit does not write
    with django_assert_max_num_queries(11):
        agent_client.get(url("detail", ticket))


def test_message_html_is_rendered_as_stored_and_stays_sanitised(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_add_inbound(
            ticket=ticket, contact=ticket.requester,
            body_html='<p>Bold <b>move</b><script>alert("x")</script><img src="https://t.example/x.png"></p>',
        )  # fmt: skip
    html = agent_client.get(url("detail", ticket)).content.decode()
    assert "<b>move</b>" in html
    assert 'alert("x")' not in html and "t.example" not in html


def test_htmx_get_renders_the_page_partial(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    response = agent_client.get(url("detail", ticket), HTTP_HX_TARGET="ticket-page", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ticket-page"')
    assert "<html" not in html
    elsewhere = agent_client.get(url("detail", ticket), HTTP_HX_TARGET="main", **HTMX)
    assert '<main id="main"' in elsewhere.content.decode()  # the full page, for hx-select


def test_merged_ticket_shows_a_banner_to_the_target(agent_client, tenant_a, agent):
    source = make_ticket(tenant_a, subject="Dup")
    target = make_ticket(tenant_a, subject="Original")
    with tenant_context(tenant_a):
        services.ticket_merge(source=source, target=target, actor=agent)
    html = agent_client.get(url("detail", source)).content.decode()
    assert "This ticket was merged." in html
    assert f'href="{url("detail", target)}"' in html
    assert 'id="composer"' not in html


# --- Composer -------------------------------------------------------------------------------


def test_reply_with_status_redirects_and_is_queued_for_email(
    agent_client, tenant_a, agent, django_capture_on_commit_callbacks
):
    ticket = email_ticket(tenant_a)
    with django_capture_on_commit_callbacks() as callbacks:
        response = agent_client.post(
            url("reply", ticket),
            {"kind": "reply", "body": "We are on it.", "set_status": "pending", "token": "t1"},
        )
    assert response.status_code == 302 and response.url == url("detail", ticket)
    assert len(task_callbacks(callbacks)) == 1  # the delivery task, on commit
    with tenant_context(tenant_a):
        reply = Message.objects.filter(ticket=ticket, direction="out").get()
        assert reply.body_text == "We are on it." and reply.author_user == agent
        assert reply.delivery_status == Message.Delivery.PENDING
    assert reload(tenant_a, ticket).status == Ticket.Status.PENDING
    page = agent_client.get(url("detail", ticket)).content.decode()
    assert "Queued" in page


def test_reply_with_htmx_returns_the_refreshed_page(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(
        url("reply", ticket), {"kind": "reply", "body": "Hello there", "set_status": "solved"},
        HTTP_HX_TARGET="ticket-page", **HTMX,
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="ticket-page"')
    assert "Hello there" in html and "chip-status-solved" in html
    assert "ticket-changed" in response.headers["HX-Trigger"]


def test_note_is_internal_and_never_delivered(agent_client, tenant_a, agent):
    ticket = email_ticket(tenant_a)
    agent_client.post(url("reply", ticket), {"kind": "note", "body": "Customer is grumpy"})
    with tenant_context(tenant_a):
        note = Message.objects.get(ticket=ticket, kind=Message.Kind.NOTE)
    assert note.delivery_status == "" and note.body_text == "Customer is grumpy"


def test_empty_reply_is_a_clear_error_next_to_the_field(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(url("reply", ticket), {"kind": "reply", "body": "   "}, **HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#composer"
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert "Write a reply before sending it." in response.content.decode()
    full = agent_client.post(url("reply", ticket), {"kind": "note", "body": ""})
    assert full.status_code == 400 and "Write a note before saving it." in full.content.decode()
    with tenant_context(tenant_a):
        assert Message.objects.filter(ticket=ticket).count() == 1


def test_bad_attachment_is_refused_and_the_text_is_kept(agent_client, tenant_a, settings):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 1024
    ticket = make_ticket(tenant_a)
    response = agent_client.post(
        url("reply", ticket),
        {"kind": "reply", "body": "Here is the fix",
         "attachments": [SimpleUploadedFile("setup.exe", b"MZ", "application/octet-stream"),
                         SimpleUploadedFile("big.pdf", b"x" * 2048, "application/pdf")]},
        **HTMX,
    )  # fmt: skip
    html = response.content.decode()
    assert "setup.exe: this type of file is not accepted." in html
    assert "big.pdf is larger than" in html
    assert "Here is the fix</textarea>" in html
    with tenant_context(tenant_a):
        assert Message.objects.filter(ticket=ticket).count() == 1


def test_reply_with_attachments_stores_them(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    agent_client.post(
        url("reply", ticket),
        {"kind": "reply", "body": "",
         "attachments": [SimpleUploadedFile("a.png", PNG, "image/png"),
                         SimpleUploadedFile("b.pdf", b"%PDF", "application/pdf")]},
    )  # fmt: skip
    with tenant_context(tenant_a):
        names = set(Attachment.objects.values_list("filename", flat=True))
    assert names == {"a.png", "b.pdf"}


def test_a_double_submit_sends_one_reply(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    data = {"kind": "reply", "body": "Once only", "token": "same-token-123"}
    agent_client.post(url("reply", ticket), data)
    agent_client.post(url("reply", ticket), data)
    with tenant_context(tenant_a):
        assert Message.objects.filter(ticket=ticket, body_text="Once only").count() == 1


# --- Canned responses -----------------------------------------------------------------------


def test_canned_search_lists_shared_and_own_in_the_tickets_language_first(
    agent_client, tenant_a, agent, colleague
):
    ticket = make_ticket(tenant_a, language="zh-hans")
    with tenant_context(tenant_a):
        CannedResponse.objects.create(title="Refund EN", body="Your refund", language="en")
        CannedResponse.objects.create(title="Refund ZH", body="退款已处理", language="zh-hans")
        CannedResponse.objects.create(title="Refund mine", body="x", owner=agent)
        CannedResponse.objects.create(title="Refund theirs", body="x", owner=colleague)
        CannedResponse.objects.create(title="Shipping", body="On its way")
    response = agent_client.get(url("canned", ticket), {"q": "refund"}, **HTMX)
    titles = re.findall(r'class="canned-title">([^<]+)', response.content.decode())
    assert [t.strip() for t in titles] == ["Refund ZH", "Refund mine", "Refund EN"]
    by_body = agent_client.get(url("canned", ticket), {"q": "its way"}, **HTMX).content.decode()
    assert "Shipping" in by_body and "Refund" not in by_body


def test_choosing_a_canned_response_fills_in_the_textarea(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        canned = CannedResponse.objects.create(
            title="Hi", body="Hello {{ contact.name }}, about #{{ ticket.number }}."
        )
    response = agent_client.get(
        url("canned", ticket), {"use": canned.pk, "body": "Typed first"}, **HTMX
    )
    html = response.content.decode()
    assert html.startswith("<textarea") and 'id="composer-body"' in html
    assert f"Typed first\n\nHello {ticket.requester.name}, about #{ticket.number}." in html
    # without JavaScript: back to the page with the reply started
    plain = agent_client.get(url("canned", ticket), {"use": canned.pk})
    assert plain.status_code == 302
    page = agent_client.get(plain.url).content.decode()
    assert f"about #{ticket.number}.</textarea>" in page


def test_someone_elses_personal_canned_response_is_404(agent_client, tenant_a, colleague):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        private = CannedResponse.objects.create(title="Mine", body="x", owner=colleague)
    response = agent_client.get(url("canned", ticket), {"use": private.pk}, **HTMX)
    assert response.status_code == 404


# --- Properties and conflicts ---------------------------------------------------------------


def props(ticket: Ticket, **changes) -> dict:
    data = {
        "version": ticket.version, "status": ticket.status, "priority": ticket.priority,
        "type": ticket.type, "category": ticket.category,
        "assignee": str(ticket.assignee_id or "none"), "team": str(ticket.team_id or "none"),
    }  # fmt: skip
    import json

    data["seen"] = json.dumps({k: v for k, v in data.items() if k != "version"})
    data.update(changes)
    return data


def test_one_select_saves_in_place_and_refreshes_the_version(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Tier 2 Technical", tier=2)
    response = agent_client.post(
        url("properties", ticket), props(ticket, priority="urgent", team=str(team.pk)),
        HTTP_HX_TRIGGER_NAME="priority", HTTP_HX_TARGET="ticket-properties", **HTMX,
    )  # fmt: skip
    html = response.content.decode()
    after = reload(tenant_a, ticket)
    assert after.priority == "urgent" and after.team_id is None  # only the select that changed
    assert after.version == ticket.version + 1
    # the form stays as the agent is using it; its version and the header move on
    assert response.headers["HX-Reswap"] == "none"
    assert 'id="ticket-properties"' not in html
    assert f'id="prop-version" value="{after.version}" hx-swap-oob="true"' in html
    assert 'id="ticket-header" class="page-header ticket-header" hx-swap-oob="true"' in html
    assert "chip-priority-urgent" in html and "Saved" in html
    # the next select, posted with the refreshed version, saves too (no false conflict)
    agent_client.post(
        url("properties", ticket), props(after, status="pending"),
        HTTP_HX_TRIGGER_NAME="status", **HTMX,
    )  # fmt: skip
    assert reload(tenant_a, ticket).status == "pending"


def test_tag_change_refreshes_the_properties_version(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(
        url("tags", ticket), {"version": "1", "seen": "", "tags": "vip"}, **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="ticket-tags"')
    assert 'id="prop-version" value="2" hx-swap-oob="true"' in html


def test_full_form_applies_every_edit(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(
        url("properties", ticket), props(ticket, status="open", assignee=str(agent.pk))
    )
    assert response.status_code == 302
    after = reload(tenant_a, ticket)
    assert (after.status, after.assignee_id) == ("open", agent.pk)
    with tenant_context(tenant_a):
        kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {"status", "assignee"} <= kinds


def test_stale_edit_shows_a_conflict_and_can_be_reapplied(agent_client, tenant_a, agent, colleague):
    ticket = make_ticket(tenant_a)
    stale = reload(tenant_a, ticket)
    with tenant_context(tenant_a):  # Ada changes the priority meanwhile
        services.ticket_update(
            ticket=reload(tenant_a, ticket), actor=colleague, version=1, priority="urgent"
        )
    response = agent_client.post(
        url("properties", ticket), props(stale, priority="low"),
        HTTP_HX_TRIGGER_NAME="priority", **HTMX,
    )  # fmt: skip
    html = response.content.decode()
    assert reload(tenant_a, ticket).priority == "urgent"  # never silently overwritten
    assert "Ada Lovelace changed this ticket while you were editing it." in html
    assert re.search(r"<th scope=\"row\">Priority</th><td>Urgent</td><td>Low</td>", html)
    assert 'name="version" value="2"' in html and 'name="priority" value="low"' in html
    # Re-apply: post exactly what the notice's button posts.
    again = agent_client.post(
        url("properties", ticket), {"version": "2", "priority": "low"}, **HTMX
    )
    assert "changed this ticket" not in again.content.decode()
    assert reload(tenant_a, ticket).priority == "low"


def test_stale_full_form_does_not_revert_someone_elses_other_change(
    agent_client, tenant_a, agent, colleague
):
    ticket = make_ticket(tenant_a)
    stale = reload(tenant_a, ticket)
    with tenant_context(tenant_a):
        services.ticket_update(
            ticket=reload(tenant_a, ticket), actor=colleague, version=1, status="pending"
        )
    response = agent_client.post(url("properties", ticket), props(stale, priority="high"))
    assert response.status_code == 409  # the page, with the notice
    html = response.content.decode()
    assert '<th scope="row">Priority</th>' in html and '<th scope="row">Status</th>' not in html
    agent_client.post(url("properties", ticket), {"version": "2", "priority": "high"})
    after = reload(tenant_a, ticket)
    assert (after.status, after.priority) == ("pending", "high")


def test_closing_an_unsolved_ticket_is_refused_with_a_message(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(
        url("properties", ticket), props(ticket, status="closed"),
        HTTP_HX_TRIGGER_NAME="status", **HTMX,
    )  # fmt: skip
    assert "Solve a ticket before closing it." in response.content.decode()
    assert reload(tenant_a, ticket).status == "new"


def test_assignee_must_be_staff_of_this_tenant(agent_client, tenant_a, outsider):
    ticket = make_ticket(tenant_a)
    agent_client.post(url("properties", ticket), props(ticket, assignee=str(outsider.pk)))
    assert reload(tenant_a, ticket).assignee_id is None


def test_custom_fields_are_editable(agent_client, tenant_a, agent, monkeypatch):
    from tickets.models import CustomField

    # The lead adds "custom_fields" to services.EDITABLE_FIELDS; until then the panel shows the
    # values read-only, and this test enables the edit the way that change will.
    if "custom_fields" not in services.EDITABLE_FIELDS:
        monkeypatch.setattr(
            services, "EDITABLE_FIELDS", (*services.EDITABLE_FIELDS, "custom_fields")
        )
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        CustomField.objects.create(key="order", label="Order number", kind="text")
        CustomField.objects.create(key="units", label="Units", kind="number")
        CustomField.objects.create(key="plan", label="Plan", kind="choice", choices=["Pro", "Team"])
    page = agent_client.get(url("detail", ticket)).content.decode()
    assert 'name="cf_order"' in page and 'name="cf_plan"' in page
    agent_client.post(
        url("properties", ticket), props(ticket, cf_order="A-123", cf_units="3", cf_plan="Pro"),
        HTTP_HX_TRIGGER_NAME="cf_order", **HTMX,
    )  # fmt: skip
    assert reload(tenant_a, ticket).custom_fields == {"order": "A-123"}
    full = props(reload(tenant_a, ticket), cf_units="3", cf_plan="Team")
    full["seen"] = full["seen"][:-1] + ', "cf_order": "A-123", "cf_units": "", "cf_plan": ""}'
    agent_client.post(url("properties", ticket), {**full, "cf_order": "A-123"})
    assert reload(tenant_a, ticket).custom_fields == {"order": "A-123", "units": 3, "plan": "Team"}
    with tenant_context(tenant_a):
        assert TicketEvent.objects.filter(ticket=ticket, kind="custom_fields").count() == 2


def test_tags_are_saved_and_a_stale_tag_edit_is_a_conflict(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a, tags=["billing"])
    response = agent_client.post(
        url("tags", ticket),
        {"version": ticket.version, "seen": "billing", "tags": "billing, VIP，refund"}, **HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    with tenant_context(tenant_a):
        assert ticket_tag_names(ticket) == ["billing", "refund", "vip"]
    # a second agent's form still says "billing" only, on the old version
    stale = agent_client.post(
        url("tags", ticket), {"version": ticket.version, "seen": "billing", "tags": "billing"},
        **HTMX,
    )  # fmt: skip
    assert "Someone else changed the tags" in stale.content.decode()
    with tenant_context(tenant_a):
        assert ticket_tag_names(ticket) == ["billing", "refund", "vip"]


def test_take_assigns_to_me_and_opens(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(url("take", ticket), {"version": ticket.version}, **HTMX)
    after = reload(tenant_a, ticket)
    assert (after.assignee_id, after.status) == (agent.pk, "open")
    assert "Assigned to you" in response.content.decode()


def test_take_on_a_stale_page_is_a_conflict(agent_client, tenant_a, agent, colleague):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_update(ticket=reload(tenant_a, ticket), actor=colleague, assignee=colleague)
    response = agent_client.post(url("take", ticket), {"version": "1"}, **HTMX)
    assert reload(tenant_a, ticket).assignee_id == colleague.pk
    html = response.content.decode()
    assert "changed this ticket while you were editing it" in html
    assert f'name="assignee" value="{agent.pk}"' in html  # "Apply my change" takes it after all
    agent_client.post(url("properties", ticket), {"version": "2", "assignee": str(agent.pk)})
    assert reload(tenant_a, ticket).assignee_id == agent.pk


def test_follow_and_unfollow(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(url("follow", ticket), {"follow": "1"}, **HTMX)
    assert 'name="follow" value="0"' in response.content.decode()  # the button now unfollows
    with tenant_context(tenant_a):
        assert TicketFollower.objects.filter(ticket=ticket, user=agent).exists()
    agent_client.post(url("follow", ticket), {"follow": "0"})
    with tenant_context(tenant_a):
        assert not TicketFollower.objects.filter(ticket=ticket, user=agent).exists()


# --- Link, merge, split ---------------------------------------------------------------------


def test_link_two_tickets_and_unknown_number_is_an_error(agent_client, tenant_a, tenant_b):
    a, b = make_ticket(tenant_a, subject="A"), make_ticket(tenant_a, subject="B")
    make_ticket(tenant_b)
    make_ticket(tenant_b)
    make_ticket(tenant_b)  # tenant B has a #3; tenant A does not
    response = agent_client.post(url("link", a), {"number": b.number}, **HTMX)
    assert f'href="{url("detail", b)}"' in response.content.decode()
    with tenant_context(tenant_a):
        assert TicketLink.objects.filter(ticket=a, other=b).exists()
    missing = agent_client.post(url("link", a), {"number": 3}, **HTMX)
    assert "There is no ticket #3." in missing.content.decode()


def test_merge_moves_to_the_target(agent_client, tenant_a):
    source, target = make_ticket(tenant_a, subject="Dup"), make_ticket(tenant_a, subject="Main")
    response = agent_client.post(url("merge", source), {"number": target.number}, **HTMX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == url("detail", target)
    assert reload(tenant_a, source).merged_into_id == target.pk
    into_self = agent_client.post(url("merge", target), {"number": target.number}, **HTMX)
    assert "cannot be merged into itself" in into_self.content.decode()


def test_split_a_customer_message_into_a_new_ticket(agent_client, tenant_a):
    ticket = make_ticket(tenant_a, subject="Two problems")
    with tenant_context(tenant_a):
        second = services.ticket_add_inbound(
            ticket=ticket, contact=ticket.requester, body_text="Also my invoice is wrong"
        )
    response = agent_client.post(url("split", ticket, message_id=second.pk))
    with tenant_context(tenant_a):
        new = Ticket.objects.exclude(pk=ticket.pk).get()
        assert Message.objects.get(pk=second.pk).ticket_id == new.pk
    assert response.url == url("detail", new)


def test_split_of_another_tickets_message_is_404(agent_client, tenant_a):
    a, b = make_ticket(tenant_a), make_ticket(tenant_a)
    with tenant_context(tenant_a):
        foreign = Message.objects.get(ticket=b)
    assert agent_client.post(url("split", a, message_id=foreign.pk)).status_code == 404


# --- Delivery -------------------------------------------------------------------------------


def test_failed_reply_shows_the_error_and_retry_requeues_it(
    agent_client, tenant_a, agent, django_capture_on_commit_callbacks
):
    ticket = email_ticket(tenant_a)
    with tenant_context(tenant_a):
        reply = services.ticket_reply(ticket=ticket, author=agent, body_text="Hi")
        Message.objects.filter(pk=reply.pk).update(
            delivery_status="failed", delivery_error="SMTPConnectError: refused",
            delivery_attempts=3,
        )  # fmt: skip
    page = agent_client.get(url("detail", ticket)).content.decode()
    assert "Not delivered." in page and "SMTPConnectError: refused" in page
    assert url("retry_delivery", ticket, message_id=reply.pk) in page
    with django_capture_on_commit_callbacks() as callbacks:
        response = agent_client.post(url("retry_delivery", ticket, message_id=reply.pk), **HTMX)
    assert len(task_callbacks(callbacks)) == 1
    html = response.content.decode()
    assert f'<article id="message-{reply.pk}"' in html and "Queued" in html
    with tenant_context(tenant_a):
        assert Message.objects.get(pk=reply.pk).delivery_status == "pending"
        assert TicketEvent.objects.filter(ticket=ticket, kind="delivery_retried").exists()
    again = agent_client.post(url("retry_delivery", ticket, message_id=reply.pk))
    assert again.status_code == 302  # nothing to retry now: a message, no second task


# --- Presence -------------------------------------------------------------------------------


def test_presence_shows_who_else_is_viewing_or_typing(
    client, agent_client, tenant_a, agent, colleague
):
    ticket = make_ticket(tenant_a)
    try:
        first = agent_client.post(url("presence", ticket), **HTMX)
        assert first.status_code == 200 and "viewing" not in first.content.decode()
        ada = sign_in(type(client)(), colleague, tenant_a)
        ada.post(url("presence", ticket), {"typing": "1"}, **HTMX)
        seen = agent_client.post(url("presence", ticket), **HTMX).content.decode()
        assert "Ada Lovelace is typing a reply" in seen
        shown = re.search(r'name="shown" value="([^"]+)"', seen).group(1)
        same = agent_client.post(url("presence", ticket), {"shown": shown}, **HTMX)
        assert same.status_code == 204  # unchanged: nothing to swap
        page = agent_client.get(url("detail", ticket)).content.decode()
        assert "Ada Lovelace is typing a reply" in page
    finally:
        presence.presence_leave(ticket=ticket, user=agent)
        presence.presence_leave(ticket=ticket, user=colleague)


# --- Timeline -------------------------------------------------------------------------------


def test_timeline_is_human_readable_and_shows_reasons(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_update(ticket=ticket, actor=agent, priority="high")
        services.ticket_update(ticket=ticket, actor=None, reason="Rule “VIP first”",
                               assignee=agent)  # fmt: skip
    response = agent_client.get(
        url("detail", ticket), {"timeline": "1"}, HTTP_HX_TARGET="timeline-events", **HTMX
    )
    html = response.content.decode()
    assert f"{agent.get_full_name()} changed priority from Normal to High" in html
    assert f"Automation set assignee to {agent.get_full_name()}" in html
    assert "Why: Rule “VIP first”" in html
    assert "opened the ticket" in html


def test_timeline_lines_are_translated(tenant_a, agent):
    from django.utils import translation

    from tickets.views.ticket import event_text

    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        services.ticket_update(ticket=ticket, actor=agent, priority="high")
        event = TicketEvent.objects.get(ticket=ticket, kind="priority")
    with translation.override("zh-hans"):
        text = event_text(event, {}, {})
    assert "优先级" in text and "高" in text and "High" not in text


# --- Attachment downloads -------------------------------------------------------------------


def _note_with(tenant, ticket, author, *files) -> list[Attachment]:
    with tenant_context(tenant):
        note = services.ticket_add_note(
            ticket=ticket, author=author, body_text="files", attachments=list(files)
        )
        return list(note.attachments.all())


def test_download_is_an_attachment_with_strict_headers(agent_client, tenant_a, agent):
    ticket = make_ticket(tenant_a)
    [pdf, svg, html, png] = _note_with(
        tenant_a, ticket, agent,
        SimpleUploadedFile("报告 final.pdf", b"%PDF-1.4", "application/pdf"),
        SimpleUploadedFile("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml"),
        SimpleUploadedFile("page.html", b"<script>alert(1)</script>", "text/html"),
        SimpleUploadedFile("shot.png", PNG, "image/png"),
    )  # fmt: skip
    response = agent_client.get(url("attachment", attachment_id=pdf.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%8A%A5%E5%91%8A%20final.pdf" in disposition
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    for risky in (svg, html):  # never inline, never as an HTML/SVG document
        response = agent_client.get(url("attachment", attachment_id=risky.pk), {"inline": "1"})
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Type"] == "application/octet-stream"
    image = agent_client.get(url("attachment", attachment_id=png.pk), {"inline": "1"})
    assert image["Content-Disposition"].startswith("inline;")
    assert image["Content-Type"] == "image/png"
    assert agent_client.get(url("attachment", attachment_id=png.pk))[
        "Content-Disposition"
    ].startswith("attachment;")


def test_download_of_another_tenants_attachment_is_404(client, tenant_a, tenant_b, agent, outsider):
    ticket = make_ticket(tenant_a)
    [secret] = _note_with(tenant_a, ticket, agent, SimpleUploadedFile("s.txt", b"secret"))
    sign_in(client, outsider, tenant_b)
    forget_host_cache()
    response = client.get(url("attachment", attachment_id=secret.pk))
    assert response.status_code == 404 and b"secret" not in response.content


# --- New ticket -----------------------------------------------------------------------------


def test_agent_opens_a_ticket_for_a_new_customer_once(agent_client, tenant_a, agent):
    page = agent_client.get(url("create"))
    token = page.context["form"].initial["token"]
    data = {
        "requester_email": "New.Person@Customer.test", "requester_name": "New Person",
        "subject": "Called about a refund", "body": "Wants the money back.",
        "channel": "phone", "priority": "high", "token": token,
    }  # fmt: skip
    first = agent_client.post(url("create"), data)
    second = agent_client.post(url("create"), data)  # a refresh / double click
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get()
        contact = Contact.objects.get()
        message = Message.objects.get()
    assert first.url == second.url == url("detail", ticket)
    assert (contact.email, contact.name) == ("new.person@customer.test", "New Person")
    assert (ticket.priority, ticket.channel, ticket.requester_id) == ("high", "phone", contact.pk)
    assert message.direction == "out" and message.author_user == agent


def test_new_ticket_reuses_a_known_customer_and_validates(agent_client, tenant_a):
    known = ContactFactory(tenant=tenant_a, email="known@customer.test", user=None)
    response = agent_client.post(
        url("create"),
        {"requester_email": "known@customer.test", "subject": "Hi", "body": "Hello",
         "channel": "email", "priority": "normal"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert Ticket.objects.get().requester_id == known.pk
    bad = agent_client.post(url("create"), {"requester_email": "nope", "subject": " ", "body": ""})
    assert bad.status_code == 400
    assert "Enter a valid email address." in bad.content.decode()


def test_huge_numbers_are_404_not_500(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    huge = "99999999999999999999999"
    assert agent_client.get(f"/agent/tickets/{huge}/").status_code == 404
    assert agent_client.get(f"/agent/attachments/{huge}/").status_code == 404
    assert agent_client.get(url("detail", ticket), {"canned": huge}).status_code == 200
    assert agent_client.get(url("canned", ticket), {"use": huge}, **HTMX).status_code == 404
    assert agent_client.post(url("link", ticket), {"number": huge}, **HTMX).status_code == 200
    assert agent_client.post(url("split", ticket, message_id=huge)).status_code == 404

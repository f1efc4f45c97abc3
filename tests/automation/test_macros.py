"""Macros: applying them (now, or with the composer's edited text), every change on the
timeline with "macro: <name>", the uses counter, personal macros invisible to other agents,
who may edit what, and the composer's macro menu and settings pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from tests.factories import MembershipFactory, make_ticket
from tests.helpers import sign_in
from tickets.automation import macros
from tickets.automation.models import AutomationJob, Macro
from tickets.models import Message, Ticket, TicketEvent
from tickets.selectors import ticket_tag_names

pytestmark = pytest.mark.django_db

REFUND = [
    {"action": "set_priority", "value": "high"},
    {"action": "add_tags", "value": ["refund", "退款"]},
    {"action": "set_status", "value": "pending"},
]


@pytest.fixture
def colleague(tenant_a):
    return MembershipFactory(
        tenant=tenant_a, user__email="wang@alpha.test", user__full_name="Wang Fang"
    ).user


@pytest.fixture
def ticket(tenant_a):
    return make_ticket(tenant_a, subject="I want my money back", body="Order 77")


def shared_macro(admin, **kw) -> Macro:
    kw.setdefault("name", "Refund")
    kw.setdefault("actions", REFUND)
    kw.setdefault("reply_text", "Hello {{ requester.name }}, #{{ ticket.number }} is refunded.")
    return macros.macro_create(actor=admin, shared=True, **kw)


def test_apply_now_makes_the_changes_and_posts_the_reply(tenant_a, admin, agent, ticket):
    with tenant_context(tenant_a):
        macro = shared_macro(admin)
        AutomationJob.objects.update(done_at="2000-01-01T00:00Z")
        result = macros.macro_apply(macro=macro, ticket=ticket, actor=agent)
        ticket.refresh_from_db()
        assert (ticket.priority, ticket.status) == ("high", "pending")
        assert set(ticket_tag_names(ticket)) == {"refund", "退款"}
        reply = result.message
        assert reply.author_user == agent and reply.kind == Message.Kind.REPLY
        name = ticket.requester.name
        assert reply.body_text == f"Hello {name}, #{ticket.number} is refunded."
        events = TicketEvent.objects.filter(ticket=ticket, actor=agent)
        reasons = dict(events.exclude(kind="replied").values_list("kind", "reason"))
        assert reasons == {
            "priority": "macro: Refund",
            "status": "macro: Refund",
            "tags": "macro: Refund",
            "macro_applied": "macro: Refund",
        }
        macro.refresh_from_db()
        assert macro.uses == 1
        # The agent's own change: it starts automation like any edit (triggers on "updated").
        assert set(
            AutomationJob.objects.filter(done_at__isnull=True).values_list("event", flat=True)
        ) == {"updated", "agent_replied"}


def test_send_with_the_edited_text_as_a_note(tenant_a, admin, agent, ticket):
    with tenant_context(tenant_a):
        macro = shared_macro(admin)
        macros.macro_apply(
            macro=macro, ticket=ticket, actor=agent, body="Refund approved.", kind="note"
        )
        note = Message.objects.get(ticket=ticket, kind=Message.Kind.NOTE)
        assert note.body_text == "Refund approved."
        assert not Message.objects.filter(ticket=ticket, direction="out", kind="reply").exists()
        applied = TicketEvent.objects.get(ticket=ticket, kind="macro_applied")
        assert applied.data["message_id"] == note.pk


def test_macro_actions_are_limited_and_placeholders_checked(tenant_a, admin):
    with tenant_context(tenant_a):
        with pytest.raises(macros.MacroError, match="unknown action"):
            macros.macro_create(
                actor=admin,
                name="Loud",
                shared=True,
                actions=[{"action": "notify", "value": {"to": "team", "via": "in_app"}}],
            )
        with pytest.raises(macros.MacroError, match="unknown placeholder"):
            macros.macro_create(
                actor=admin,
                name="Bad",
                shared=True,
                reply_text="{{ ticket.requester.user.password }}",
            )
        with pytest.raises(macros.MacroError, match="at least one action or a reply"):
            macros.macro_create(actor=admin, name="Empty", shared=True)


def test_personal_macros_are_invisible_to_other_agents(client, tenant_a, agent, colleague, ticket):
    with tenant_context(tenant_a):
        mine = macros.macro_create(
            actor=agent, name="My secret shortcut", actions=[{"action": "add_tags", "value": ["x"]}]
        )
        assert list(macros.macros_for(colleague)) == []
        with pytest.raises(PermissionDenied):
            macros.macro_apply(macro=mine, ticket=ticket, actor=colleague)
    sign_in(client, colleague, tenant_a)
    assert b"My secret shortcut" not in client.get("/settings/macros/").content
    menu = client.get(f"/agent/tickets/{ticket.number}/macros/", HTTP_HX_REQUEST="true")
    assert b"My secret shortcut" not in menu.content
    for url in (
        f"/settings/macros/{mine.pk}/",
        f"/agent/tickets/{ticket.number}/macros/{mine.pk}/",
    ):
        assert client.get(url).status_code == 404
    for url in (
        f"/settings/macros/{mine.pk}/delete/",
        f"/agent/tickets/{ticket.number}/macros/{mine.pk}/apply/",
    ):
        assert client.post(url).status_code == 404
    with tenant_context(tenant_a):
        assert Macro.objects.filter(pk=mine.pk).exists()
        assert ticket_tag_names(ticket) == []


def test_agents_manage_their_own_macros_but_not_shared_ones_or_triggers(
    client, tenant_a, admin, agent
):
    with tenant_context(tenant_a):
        shared = shared_macro(admin)
        with pytest.raises(PermissionDenied):
            macros.macro_create(actor=agent, name="Mine for all", shared=True, reply_text="x")
    sign_in(client, agent, tenant_a)
    page = client.get("/settings/macros/")
    assert page.status_code == 200 and b"Refund" in page.content
    assert f"/settings/macros/{shared.pk}/".encode() not in page.content  # no edit link
    assert client.get(f"/settings/macros/{shared.pk}/").status_code == 403
    assert client.post(f"/settings/macros/{shared.pk}/", {"name": "Hijacked"}).status_code == 403
    assert client.post(f"/settings/macros/{shared.pk}/delete/").status_code == 403
    assert b'name="shared"' not in client.get("/settings/macros/new/").content
    for url in ("/settings/triggers/", "/settings/triggers/new/"):
        assert client.get(url).status_code == 403
    # Their own, through the form (a "shared" tick from a forged form is ignored).
    response = client.post(
        "/settings/macros/new/",
        {
            "name": "Chase up",
            "reply_kind": "reply",
            "reply_text": "Any news, {{ requester.name }}?",
            "shared": "on",
            "act-0-action": "set_status",
            "act-0-value": "pending",
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        made = Macro.objects.get(name="Chase up")
        assert made.owner == agent
        assert made.actions == [{"action": "set_status", "value": "pending"}]
        assert Macro.objects.get(pk=shared.pk).name == "Refund"


def test_admins_edit_shared_macros_with_the_builder(client, tenant_a, admin):
    with tenant_context(tenant_a):
        macro = shared_macro(admin)
    sign_in(client, admin, tenant_a)
    data = {
        "name": "Refund v2",
        "reply_kind": "note",
        "reply_text": "Refunded.",
        "shared": "on",
        "act-0-action": "set_priority",
        "act-0-value": "urgent",
        "act-3-action": "add_tags",
        "act-3-value": "refund， vip",
        "act-5-action": "",
    }
    # Without JavaScript, "add an action" re-renders the form with a new row, saving nothing.
    response = client.post(f"/settings/macros/{macro.pk}/", {**data, "builder-add": "act"})
    assert response.status_code == 200 and b'name="act-6-action"' in response.content
    response = client.post(f"/settings/macros/{macro.pk}/", {**data, "builder-remove": "act-3"})
    assert b'name="act-3-action"' not in response.content
    with tenant_context(tenant_a):
        assert Macro.objects.get(pk=macro.pk).name == "Refund"
    assert client.post(f"/settings/macros/{macro.pk}/", data).status_code == 302
    with tenant_context(tenant_a):
        macro.refresh_from_db()
        assert (macro.name, macro.reply_kind, macro.owner_id) == ("Refund v2", "note", None)
        assert macro.actions == [
            {"action": "set_priority", "value": "urgent"},
            {"action": "add_tags", "value": ["refund", "vip"]},
        ]
    # Unticking "shared" makes it the administrator's own.
    unshared = {k: v for k, v in data.items() if k != "shared"}
    assert client.post(f"/settings/macros/{macro.pk}/", unshared).status_code == 302
    with tenant_context(tenant_a):
        assert Macro.objects.get(pk=macro.pk).owner == admin


# --- The composer ------------------------------------------------------------------------------


def test_preview_puts_the_text_in_the_composer_and_send_applies_the_macro(
    client, tenant_a, admin, agent, ticket
):
    with tenant_context(tenant_a):
        macro = shared_macro(admin)
    sign_in(client, agent, tenant_a)
    page = client.get(f"/agent/tickets/{ticket.number}/")
    assert b'hx-get="/agent/tickets/%d/macros/"' % ticket.number in page.content
    menu = client.get(f"/agent/tickets/{ticket.number}/macros/", HTTP_HX_REQUEST="true")
    assert b"Refund" in menu.content and b"Apply now" in menu.content
    preview = client.get(
        f"/agent/tickets/{ticket.number}/macros/{macro.pk}/",
        {"body": "Dear customer,"},
        HTTP_HX_REQUEST="true",
    )
    html = preview.content.decode()
    assert 'id="composer"' in html and "Send with the macro" in html
    assert f"Dear customer,\n\nHello {ticket.requester.name}, #{ticket.number}" in html
    assert f"/agent/tickets/{ticket.number}/macros/{macro.pk}/send/" in html
    response = client.post(
        f"/agent/tickets/{ticket.number}/macros/{macro.pk}/send/",
        {"kind": "reply", "body": "Edited: refunded.", "token": "t-1"},
    )
    assert response.status_code == 302
    again = client.post(
        f"/agent/tickets/{ticket.number}/macros/{macro.pk}/send/",
        {"kind": "reply", "body": "Edited: refunded.", "token": "t-1"},
    )
    assert again.status_code == 302  # a double click sends nothing twice
    with tenant_context(tenant_a):
        ticket.refresh_from_db()
        assert ticket.priority == "high"
        replies = Message.objects.filter(ticket=ticket, direction="out", kind="reply")
        assert list(replies.values_list("body_text", flat=True)) == ["Edited: refunded."]
        assert Macro.objects.get(pk=macro.pk).uses == 1


def test_apply_now_from_the_composer_keeps_the_draft(client, tenant_a, admin, agent, ticket):
    with tenant_context(tenant_a):
        macro = shared_macro(admin, reply_kind="note", reply_text="Refund booked.")
    sign_in(client, agent, tenant_a)
    response = client.post(
        f"/agent/tickets/{ticket.number}/macros/{macro.pk}/apply/",
        {"body": "My half-written reply", "token": "abc"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ticket-page"' in html and "My half-written reply" in html
    assert "Applied “Refund”." in html
    with tenant_context(tenant_a):
        assert Message.objects.get(ticket=ticket, kind="note").body_text == "Refund booked."
        assert Ticket.objects.get(pk=ticket.pk).status == "pending"


def test_macro_pages_work_without_javascript(client, tenant_a, admin, agent, ticket):
    with tenant_context(tenant_a):
        macro = shared_macro(admin)
    sign_in(client, agent, tenant_a)
    listing = client.get(f"/agent/tickets/{ticket.number}/macros/")
    assert listing.status_code == 200 and b'name="token"' in listing.content
    preview = client.get(f"/agent/tickets/{ticket.number}/macros/{macro.pk}/")
    assert preview.status_code == 200 and b"Send with the macro" in preview.content
    assert b'name="body"' in preview.content


def test_the_timeline_explains_a_macro(tenant_a, admin, agent, ticket):
    from tickets.views.ticket import event_text

    with tenant_context(tenant_a):
        macro = shared_macro(admin)
        macros.macro_apply(macro=macro, ticket=ticket, actor=agent)
        event = TicketEvent.objects.select_related("actor").get(kind="macro_applied")
        text = event_text(event, {}, {})
    assert text.startswith(f"{agent.get_full_name()} applied the macro “Refund”")
    assert "set priority to High" in text and "add tags refund, 退款" in text


def test_inactive_members_are_not_assigned_by_a_macro(tenant_a, admin, agent, colleague, ticket):
    with tenant_context(tenant_a):
        macro = macros.macro_create(
            actor=admin,
            name="To Wang",
            shared=True,
            actions=[{"action": "assign_to", "value": colleague.pk}],
        )
        Membership.objects.filter(user=colleague).update(is_active=False)
        macros.macro_apply(macro=macro, ticket=ticket, actor=agent)
        ticket.refresh_from_db()
        assert ticket.assignee_id is None

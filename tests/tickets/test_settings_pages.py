"""Settings › canned responses, teams, custom fields (administrators), and the agents' own
canned responses at /agent/canned/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent, Membership
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import sign_in
from tickets import admin_services
from tickets.models import CannedResponse, CustomField, Team, TeamMember


@pytest.fixture
def objs(tenant_a, admin):
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Billing", tier=1, skills=["refunds"])
        return {
            "canned": CannedResponse.objects.create(title="Welcome", body="Hi {{ contact.name }}"),
            "team": team,
            "member": TeamMember.objects.create(team=team, user=admin),
            "field": CustomField.objects.create(key="order", label="Order number"),
        }


def _urls(objs) -> list[str]:
    canned, team, member, field = objs["canned"], objs["team"], objs["member"], objs["field"]
    return [
        reverse("settings:canned"),
        reverse("settings:canned_edit", kwargs={"canned_id": canned.pk}),
        reverse("settings:canned_delete", kwargs={"canned_id": canned.pk}),
        reverse("settings:teams"),
        reverse("settings:team_edit", kwargs={"team_id": team.pk}),
        reverse("settings:team_member_remove", kwargs={"team_id": team.pk, "member_id": member.pk}),
        reverse("settings:fields"),
        reverse("settings:field_edit", kwargs={"field_id": field.pk}),
    ]


def _audits(tenant, prefix: str) -> list[str]:
    with tenant_context(tenant):
        return list(
            AuditEvent.objects.filter(action__startswith=prefix)
            .order_by("id")
            .values_list("action", flat=True)
        )


@pytest.mark.parametrize("role", [Membership.Role.AGENT, Membership.Role.MANAGER])
def test_agents_and_managers_get_403_everywhere(client, tenant_a, objs, role):
    user = MembershipFactory(tenant=tenant_a, role=role).user
    sign_in(client, user, tenant_a)
    for url in _urls(objs):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x", "title": "x", "body": "x"}).status_code == 403, url
    with tenant_context(tenant_a):
        assert CannedResponse.objects.count() == 1 and TeamMember.objects.count() == 1


def test_other_tenants_admin_gets_404_for_our_ids(client, tenant_b, outsider, objs):
    sign_in(client, outsider, tenant_b)
    for url in _urls(objs)[1:3] + _urls(objs)[4:6] + _urls(objs)[7:]:
        assert client.get(url).status_code in {404, 405}, url
        assert client.post(url).status_code == 404, url


def test_admin_pages_render_in_few_queries(
    client, tenant_a, admin, objs, django_assert_max_num_queries
):
    sign_in(client, admin, tenant_a)
    for url in _urls(objs):
        if "delete" in url or "remove" in url:
            continue
        with django_assert_max_num_queries(12):
            response = client.get(url)
        assert response.status_code == 200, url


# --- Canned responses -----------------------------------------------------------------------


def test_canned_create_edit_delete_with_audit(client, tenant_a, admin):
    sign_in(client, admin, tenant_a)
    url = reverse("settings:canned")
    page = client.get(url)
    assert "{{ ticket.number }}" in page.text  # the placeholder help
    response = client.post(
        url,
        {"title": "Refund", "body": "Dear {{ contact.first_name }}, #{{ ticket.number }}",
         "language": "zh-hans", "shared": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        canned = CannedResponse.objects.get(title="Refund")
    assert canned.owner_id is None and canned.language == "zh-hans"
    edit = reverse("settings:canned_edit", kwargs={"canned_id": canned.pk})
    response = client.post(edit, {"title": "Refund (personal)", "body": "Hello", "language": ""})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        canned.refresh_from_db()
    assert (canned.title, canned.owner_id, canned.language) == (
        "Refund (personal)",
        admin.pk,
        "",
    )
    delete = reverse("settings:canned_delete", kwargs={"canned_id": canned.pk})
    assert client.post(delete).status_code == 302
    with tenant_context(tenant_a):
        assert not CannedResponse.objects.filter(pk=canned.pk).exists()
    assert _audits(tenant_a, "canned.") == ["canned.created", "canned.updated", "canned.deleted"]


def test_unknown_placeholder_is_refused(client, tenant_a, admin):
    sign_in(client, admin, tenant_a)
    response = client.post(
        reverse("settings:canned"), {"title": "Oops", "body": "Hi {{ contact.phone }}"}
    )
    assert response.status_code == 422
    assert "Unknown placeholder" in response.text and "{{ contact.phone }}" in response.text
    with tenant_context(tenant_a):
        assert not CannedResponse.objects.exists()


def test_personal_canned_stays_private(client, tenant_a, admin, agent):
    with tenant_context(tenant_a):
        theirs = admin_services.canned_create(
            actor=agent, title="Agent's own", body="x", shared=False
        )
        shared = admin_services.canned_create(
            actor=admin, title="Shared one", body="y", shared=True
        )
        with pytest.raises(admin_services.PermissionDenied):
            admin_services.canned_create(actor=agent, title="Sneaky", body="z", shared=True)
        with pytest.raises(admin_services.PermissionDenied):
            admin_services.canned_update(
                canned=shared, actor=agent, title="Mine now", body="y", shared=False
            )
    sign_in(client, admin, tenant_a)
    listing = client.get(reverse("settings:canned"))
    assert "Shared one" in listing.text and "Agent&#x27;s own" not in listing.text
    assert (
        client.get(reverse("settings:canned_edit", kwargs={"canned_id": theirs.pk})).status_code
        == 404
    )

    # The agent manages their own at /agent/canned/ and only those.
    client.logout()
    sign_in(client, agent, tenant_a)
    mine = client.get(reverse("tickets:my_canned"))
    assert mine.status_code == 200
    assert "Agent&#x27;s own" in mine.text and "Shared one" in mine.text
    assert 'name="shared"' not in mine.text
    created = client.post(reverse("tickets:my_canned"), {"title": "Sign-off", "body": "Cheers"})
    assert created.status_code == 302
    with tenant_context(tenant_a):
        assert CannedResponse.objects.get(title="Sign-off").owner == agent
    own_edit = reverse("tickets:my_canned_edit", kwargs={"canned_id": theirs.pk})
    assert client.post(own_edit, {"title": "Renamed", "body": "x"}).status_code == 302
    shared_edit = reverse("tickets:my_canned_edit", kwargs={"canned_id": shared.pk})
    assert client.get(shared_edit).status_code == 404
    shared_delete = reverse("tickets:my_canned_delete", kwargs={"canned_id": shared.pk})
    assert client.post(shared_delete).status_code == 404
    with tenant_context(tenant_a):
        assert CannedResponse.objects.filter(pk=shared.pk).exists()


# --- Teams ----------------------------------------------------------------------------------


def test_team_create_edit_members(client, tenant_a, admin, agent, tenant_b, outsider):
    stranger = UserFactory(email="stranger@example.test")  # no membership here
    sign_in(client, admin, tenant_a)
    url = reverse("settings:teams")
    response = client.post(
        url,
        {"name": "Escalations", "tier": "2", "skills": "Billing, 退款,billing, ",
         "description": "Hard cases"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        team = Team.objects.get(name="Escalations")
    assert (team.tier, team.skills) == (2, ["billing", "退款"])
    duplicate = client.post(url, {"name": "escalations", "tier": "1"})
    assert duplicate.status_code == 422 and "already a team" in duplicate.text

    edit = reverse("settings:team_edit", kwargs={"team_id": team.pk})
    page = client.get(edit)
    choices = dict(page.context["member_form"].fields["user"].choices)
    assert agent.pk in choices and stranger.pk not in choices and outsider.pk not in choices
    for user in (stranger, outsider):
        refused = client.post(edit, {"action": "add_member", "user": user.pk})
        assert refused.status_code == 422
    assert client.post(edit, {"action": "add_member", "user": agent.pk}).status_code == 302
    with tenant_context(tenant_a):
        member = TeamMember.objects.get(team=team)
    assert member.user == agent
    assert client.post(edit, {"name": "Tier 3 escalations", "tier": "3"}).status_code == 302
    remove = reverse(
        "settings:team_member_remove", kwargs={"team_id": team.pk, "member_id": member.pk}
    )
    assert client.post(remove).status_code == 302
    with tenant_context(tenant_a):
        team.refresh_from_db()
        assert team.tier == 3 and not TeamMember.objects.filter(team=team).exists()
    assert _audits(tenant_a, "team.") == [
        "team.created",
        "team.member_added",
        "team.updated",
        "team.member_removed",
    ]


def test_member_of_another_team_cannot_be_removed_through_this_one(client, tenant_a, admin, objs):
    with tenant_context(tenant_a):
        other = Team.objects.create(name="Other")
    sign_in(client, admin, tenant_a)
    url = reverse(
        "settings:team_member_remove", kwargs={"team_id": other.pk, "member_id": objs["member"].pk}
    )
    assert client.post(url).status_code == 404
    with tenant_context(tenant_a):
        assert TeamMember.objects.filter(pk=objs["member"].pk).exists()


# --- Custom fields --------------------------------------------------------------------------


def test_custom_fields(client, tenant_a, admin, objs):
    sign_in(client, admin, tenant_a)
    url = reverse("settings:fields")
    no_choices = client.post(url, {"label": "Product", "key": "product", "kind": "choice"})
    assert no_choices.status_code == 422 and "at least one choice" in no_choices.text
    taken = client.post(url, {"label": "Order", "key": "order", "kind": "text"})
    assert taken.status_code == 422 and "already a field" in taken.text
    bad_key = client.post(url, {"label": "X", "key": "Has Spaces", "kind": "text"})
    assert bad_key.status_code == 422
    created = client.post(
        url,
        {"label": "Product", "key": "product", "kind": "choice",
         "choices": "Router\nSwitch\n\nrouter\n", "position": "2"},
    )  # fmt: skip
    assert created.status_code == 302
    with tenant_context(tenant_a):
        field = CustomField.objects.get(key="product")
    assert (field.choices, field.position) == (["Router", "Switch"], 2)
    edit = reverse("settings:field_edit", kwargs={"field_id": field.pk})
    response = client.post(edit, {"label": "Device", "key": "hacked", "kind": "text"})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        field.refresh_from_db()
    assert (field.label, field.key, field.kind, field.choices) == ("Device", "product", "text", [])
    assert _audits(tenant_a, "custom_field.") == ["custom_field.created", "custom_field.updated"]

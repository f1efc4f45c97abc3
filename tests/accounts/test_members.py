from __future__ import annotations

import pytest

from helpdesk.accounts.services import AccountError, member_change_role, member_deactivate
from helpdesk.accounts.tasks import send_member_invitation
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent, Membership
from tests.helpers import sign_in


def test_admin_invites_a_member(client, admin, tenant_a, django_capture_on_commit_callbacks):
    sign_in(client, admin, tenant_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/settings/users/",
            {"email": "New.Person@Alpha.test", "full_name": "New Person", "role": "agent"},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1
    with tenant_context(tenant_a):
        membership = Membership.objects.get(user__email="new.person@alpha.test")
        assert membership.role == "agent"
        assert AuditEvent.objects.filter(action="member.invited").exists()
    page = client.get("/settings/users/")
    assert "new.person@alpha.test" in page.content.decode()


def test_invitation_is_sent_once(admin, tenant_a, mailoutbox):
    from helpdesk.accounts.services import member_invite

    with tenant_context(tenant_a):
        membership = member_invite(email="x@alpha.test", full_name="", role="agent", actor=admin)
    assert send_member_invitation(tenant_a.pk, membership_id=membership.pk) is True
    assert send_member_invitation(tenant_a.pk, membership_id=membership.pk) is False
    assert len(mailoutbox) == 1
    assert "/accounts/reset/" in mailoutbox[0].body


def test_inviting_an_existing_member_is_refused(client, admin, agent, tenant_a):
    sign_in(client, admin, tenant_a)
    response = client.post(
        "/settings/users/", {"email": "agent@alpha.test", "full_name": "", "role": "agent"}
    )
    assert response.status_code == 200
    assert "already a member" in response.content.decode()


def test_members_search_htmx_returns_fragment(client, admin, agent, tenant_a):
    sign_in(client, admin, tenant_a)
    response = client.get("/settings/users/?q=agent@", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="member-list"' in body
    assert "<html" not in body
    assert "agent@alpha.test" in body
    assert "admin@alpha.test" not in body


def test_agents_cannot_open_settings(client, agent, tenant_a):
    sign_in(client, agent, tenant_a)
    assert client.get("/settings/users/").status_code == 403


def test_last_admin_cannot_be_demoted_or_removed(admin, agent, tenant_a):
    with tenant_context(tenant_a):
        membership = Membership.objects.get(user=admin)
        with pytest.raises(AccountError):
            member_change_role(membership=membership, role="agent", actor=admin)
        agent_membership = Membership.objects.get(user=agent)
        with pytest.raises(AccountError):
            member_deactivate(membership=membership, actor=admin)  # yourself
        member_deactivate(membership=agent_membership, actor=admin)
        agent_membership.refresh_from_db()
        assert not agent_membership.is_active


def test_removed_member_can_no_longer_sign_in(client, admin, agent, tenant_a):
    with tenant_context(tenant_a):
        member_deactivate(membership=Membership.objects.get(user=agent), actor=admin)
    response = client.post(
        "/accounts/login/",
        {"username": "agent@alpha.test", "password": "correct-horse-battery"},
        HTTP_HOST="alpha.localhost",
    )
    assert response.status_code == 200

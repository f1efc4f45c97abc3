from __future__ import annotations

from django.core.management import call_command

from helpdesk.accounts.models import ApiToken
from helpdesk.accounts.services import api_token_authenticate
from helpdesk.tenancy.context import tenant_context
from tests.helpers import sign_in


def test_token_is_shown_once_and_stored_hashed(client, agent, tenant_a):
    sign_in(client, agent, tenant_a)
    response = client.post("/accounts/tokens/", {"name": "CRM sync"})
    secret = response.context["new_secret"]
    assert secret.startswith("hd_")
    with tenant_context(tenant_a):
        token = ApiToken.objects.get(name="CRM sync")
        assert secret not in (token.key_hash, token.key_prefix)
        assert api_token_authenticate(secret) == token
    assert secret not in client.get("/accounts/tokens/").content.decode()


def test_token_only_works_in_its_own_tenant(agent, tenant_a, tenant_b, capsys):
    call_command("create_api_token", "agent@alpha.test", tenant="alpha")
    secret = capsys.readouterr().out.strip()
    with tenant_context(tenant_a):
        assert api_token_authenticate(secret) is not None
    with tenant_context(tenant_b):
        assert api_token_authenticate(secret) is None


def test_revoked_token_stops_working(client, agent, tenant_a):
    sign_in(client, agent, tenant_a)
    response = client.post("/accounts/tokens/", {"name": "tmp"})
    secret = response.context["new_secret"]
    with tenant_context(tenant_a):
        token = ApiToken.objects.get(name="tmp")
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    with tenant_context(tenant_a):
        assert api_token_authenticate(secret) is None

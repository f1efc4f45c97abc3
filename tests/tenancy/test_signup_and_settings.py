from __future__ import annotations

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent, Membership, Tenant
from tests.factories import PASSWORD
from tests.helpers import host_of, sign_in

SIGNUP = {
    "name": "Delta Care",
    "slug": "delta",
    "admin_name": "Dana Admin",
    "admin_email": "dana@delta.test",
    "password": "a-long-enough-pass-9",
    "language": "zh-hans",
    "timezone": "Asia/Shanghai",
}


def test_signup_creates_tenant_and_first_admin(client, db):
    response = client.post("/signup/", SIGNUP, HTTP_HOST="localhost")
    assert response.status_code == 302
    assert response.url == "http://delta.localhost/accounts/login/"
    tenant = Tenant.objects.get(slug="delta")
    assert tenant.default_language == "zh-hans"
    with tenant_context(tenant):
        membership = Membership.objects.get()
        assert membership.role == Membership.Role.ADMIN
        assert membership.user.email == "dana@delta.test"
    login = client.post(
        "/accounts/login/",
        {"username": "dana@delta.test", "password": SIGNUP["password"]},
        HTTP_HOST=host_of(tenant),
    )
    assert login.url == "/agent/"


def test_signup_rejects_taken_reserved_and_malformed_addresses(client, tenant_a):
    for slug, message in [
        ("alpha", "That address is taken"),
        ("www", "is reserved"),
        ("Bad_Slug!", "lowercase letters"),
    ]:
        response = client.post("/signup/", {**SIGNUP, "slug": slug}, HTTP_HOST="localhost")
        assert response.status_code == 200
        assert message in response.content.decode(), slug
    assert not Tenant.objects.filter(slug__in=["www"]).exists()


def test_signup_with_an_existing_account_needs_its_password(client, agent):
    response = client.post(
        "/signup/", {**SIGNUP, "admin_email": "agent@alpha.test"}, HTTP_HOST="localhost"
    )
    assert response.status_code == 200
    assert "already has an account" in response.content.decode()
    assert not Tenant.objects.filter(slug="delta").exists()
    ok = client.post(
        "/signup/",
        {**SIGNUP, "admin_email": "agent@alpha.test", "password": PASSWORD},
        HTTP_HOST="localhost",
    )
    assert ok.status_code == 302
    assert User.objects.filter(email="agent@alpha.test").count() == 1


def test_admin_changes_general_settings_with_audit(client, admin, tenant_a):
    sign_in(client, admin, tenant_a)
    data = {
        "name": "Alpha Care",
        "default_language": "zh-hans",
        "timezone": "Asia/Shanghai",
        "accent_color": "#123456",
    }
    assert client.post("/settings/general/", data).status_code == 302
    tenant_a.refresh_from_db()
    assert (tenant_a.name, tenant_a.timezone, tenant_a.accent_color) == (
        "Alpha Care",
        "Asia/Shanghai",
        "#123456",
    )
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="tenant.updated", actor=admin).exists()
    page = client.get("/settings/security/")
    assert "tenant.updated" in page.content.decode()


def test_bad_settings_are_refused_with_messages(client, admin, tenant_a):
    sign_in(client, admin, tenant_a)
    data = {"name": "", "default_language": "xx", "timezone": "Mars/Base", "accent_color": "red"}
    response = client.post("/settings/general/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"name", "default_language", "timezone", "accent_color"}
    tenant_a.refresh_from_db()
    assert tenant_a.name == "Alpha Support"


def test_language_switcher_sets_the_language(client, tenant_a):
    host = host_of(tenant_a)
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"}, HTTP_HOST=host)
    assert response.status_code == 302
    page = client.get("/", HTTP_HOST=host)
    assert page["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans"' in page.content.decode()

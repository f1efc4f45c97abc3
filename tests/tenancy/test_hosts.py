from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.middleware import TenantLocaleMiddleware
from helpdesk.tenancy.models import TenantDomain
from helpdesk.tenancy.resolve import forget_host_cache
from tests.helpers import host_of


def test_unknown_host_is_a_clear_404(client, db):
    response = client.get("/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert b"unknown" in response.content.lower() or b"not" in response.content.lower()
    assert b"Traceback" not in response.content


def test_unknown_host_api_answers_json(client, db):
    response = client.get("/api/v1/tickets/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert "error" in response.json()


def test_bare_domain_shows_landing_with_signup(client, db):
    response = client.get("/", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert b'href="/signup/"' in response.content


def test_tenant_subdomain_serves_its_home(client, tenant_a):
    response = client.get("/", HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 200
    assert tenant_a.name.encode() in response.content


def test_custom_domain_serves_the_tenant(client, tenant_a):
    with tenant_context(tenant_a):
        TenantDomain.objects.create(tenant=tenant_a, domain="Help.Example.COM")
    forget_host_cache()
    response = client.get("/", HTTP_HOST="help.example.com")
    assert response.status_code == 200
    assert tenant_a.name.encode() in response.content


def test_inactive_tenant_is_unknown(client, tenant_a):
    tenant_a.is_active = False
    tenant_a.save()
    forget_host_cache()
    assert client.get("/", HTTP_HOST=host_of(tenant_a)).status_code == 404


def test_health_endpoints_need_no_tenant(client, db):
    assert client.get("/healthz", HTTP_HOST="10.0.0.5").json() == {"status": "ok"}
    ready = client.get("/readyz", HTTP_HOST="10.0.0.5")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_tenant_default_language_applies(client, tenant_b):
    response = client.get("/", HTTP_HOST=host_of(tenant_b))
    assert response["Content-Language"] == "zh-hans"
    client.cookies["django_language"] = "en"
    response = client.get("/", HTTP_HOST=host_of(tenant_b))
    assert response["Content-Language"] == "en"


def test_pages_use_the_tenants_time_zone(tenant_a, tenant_b):
    seen = {}

    def view(request):
        seen[request.tenant.slug] = timezone.get_current_timezone_name()
        return HttpResponse("ok")

    tenant_b.timezone = "Asia/Shanghai"
    tenant_b.save()
    for tenant in (tenant_a, tenant_b):
        request = RequestFactory().get("/")
        request.tenant = tenant
        TenantLocaleMiddleware(view)(request)
    assert seen == {"alpha": "Europe/London", "bravo": "Asia/Shanghai"}
    assert timezone.get_current_timezone_name() == "UTC"

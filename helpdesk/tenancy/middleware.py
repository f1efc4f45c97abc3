from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject

from .context import activate_tenant, deactivate_tenant
from .resolve import UnknownHost, is_base_domain, tenant_for_host

SESSION_TENANT_KEY = "_tenant_id"
# Served on any host (load balancers probe by IP), touching no tenant data.
HOST_FREE_PREFIXES = ("/healthz", "/readyz", settings.STATIC_URL)


class TenantMiddleware:
    """Resolve the tenant from the Host header and make it current for the whole request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        if request.path.startswith(HOST_FREE_PREFIXES):
            return self.get_response(request)
        host = request.get_host()
        if is_base_domain(host):
            request.urlconf = settings.PUBLIC_URLCONF
            return self.get_response(request)
        try:
            tenant = tenant_for_host(host)
        except UnknownHost:
            return unknown_host_response(request)
        request.tenant = tenant
        token = activate_tenant(tenant)
        try:
            return self.get_response(request)
        finally:
            deactivate_tenant(token)


def unknown_host_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "Unknown help desk address."}, status=404)
    html = render_to_string("errors/unknown_host.html", {"host": request.get_host()}, request)
    return HttpResponse(html, status=404)


class TenantAccessMiddleware:
    """Who the signed-in user is *in this tenant*: request.membership (staff) and
    request.contact (portal customer). A session made on another tenant's host is dropped."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from helpdesk.accounts.selectors import contact_for_user, membership_for_user

        tenant = request.tenant
        user = request.user
        bound_elsewhere = request.session.get(SESSION_TENANT_KEY) != getattr(tenant, "pk", None)
        if tenant is not None and user.is_authenticated and bound_elsewhere:
            logout(request)
        request.membership = SimpleLazyObject(lambda: membership_for_user(request.user))
        request.contact = SimpleLazyObject(lambda: contact_for_user(request.user))
        return self.get_response(request)


class TenantLocaleMiddleware:
    """Language: the visitor's explicit choice (cookie), else the user's saved preference, else
    the tenant's default, else the browser's Accept-Language. Times show in the tenant's zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self.pick(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            timezone.activate(zoneinfo.ZoneInfo(tenant.timezone))
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
            translation.deactivate()
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        return response

    @staticmethod
    def pick(request: HttpRequest) -> str:
        supported = {code for code, _ in settings.LANGUAGES}
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen in supported:
            return chosen
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language in supported:
            return user.language
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.default_language in supported:
            return tenant.default_language
        return translation.get_language_from_request(request)

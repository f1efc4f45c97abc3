"""Host name -> tenant. Cached briefly per process; the registry tables are global by design."""

from __future__ import annotations

import time

from django.conf import settings
from django.db.models.functions import Lower

from .models import Tenant, TenantDomain

_TTL_SECONDS = 30.0
_cache: dict[str, tuple[float, int | None]] = {}


class UnknownHost(Exception):
    pass


def normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.split(":")[0]


def is_base_domain(host: str) -> bool:
    return normalise_host(host) in {settings.HELPDESK_BASE_DOMAIN, "127.0.0.1", "[::1]"}


def tenant_for_host(host: str) -> Tenant:
    """The active tenant served at `host`; raises UnknownHost."""
    host = normalise_host(host)
    now = time.monotonic()
    cached = _cache.get(host)
    fresh = cached is None or cached[0] <= now
    tenant_id = _lookup(host) if fresh else cached[1]
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first() if tenant_id else None
    if tenant is None and not fresh:  # the cached answer went stale: ask once more
        tenant_id = _lookup(host)
        tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first() if tenant_id else None
    _cache[host] = (now + _TTL_SECONDS, tenant_id)
    if tenant is None:
        raise UnknownHost(host)
    return tenant


def _lookup(host: str) -> int | None:
    suffix = "." + settings.HELPDESK_BASE_DOMAIN
    if host.endswith(suffix):
        slug = host.removesuffix(suffix)
        if "." not in slug:
            return Tenant.objects.filter(slug=slug).values_list("pk", flat=True).first()
    return (
        TenantDomain.objects.annotate(d=Lower("domain"))
        .filter(d=host)
        .values_list("tenant_id", flat=True)
        .first()
    )


def forget_host_cache() -> None:
    _cache.clear()


def tenant_base_url(tenant: Tenant, scheme: str | None = None, port: str | None = None) -> str:
    """Absolute base URL of a tenant's help desk, for links in mail and redirects."""
    scheme = scheme or settings.HELPDESK_PUBLIC_SCHEME
    port = settings.HELPDESK_PUBLIC_PORT if port is None else port
    host = f"{tenant.slug}.{settings.HELPDESK_BASE_DOMAIN}"
    return f"{scheme}://{host}{':' + port if port and port not in {'80', '443'} else ''}"

"""The current tenant: one context variable, set by the host middleware, task base and commands.

Nothing reads a tenant from anywhere else. The database backend copies it into Postgres
(`app.tenant_id`) before each query, and the scoped manager filters by it and raises without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Tenant

_current_tenant: ContextVar[Tenant | None] = ContextVar("current_tenant", default=None)


class TenantNotSetError(RuntimeError):
    """Tenant-owned data was touched outside any tenant context."""


class CrossTenantWriteError(RuntimeError):
    """A row of one tenant was about to be written inside another tenant's context."""


def get_current_tenant() -> Tenant | None:
    return _current_tenant.get()


def require_current_tenant() -> Tenant:
    tenant = _current_tenant.get()
    if tenant is None:
        raise TenantNotSetError(
            "No tenant is set. Wrap the code in tenant_context(tenant), or use an explicit "
            "cross-tenant call such as Model.objects.all_tenants()."
        )
    return tenant


def current_tenant_id() -> int | None:
    tenant = _current_tenant.get()
    return tenant.pk if tenant is not None else None


@contextmanager
def tenant_context(tenant: Tenant | None) -> Iterator[Tenant | None]:
    """Run a block as `tenant` (or as no tenant at all, with None). Nests and restores."""
    token = _current_tenant.set(tenant)
    try:
        yield tenant
    finally:
        _current_tenant.reset(token)


def activate_tenant(tenant: Tenant | None):
    """Set the tenant for the rest of a request; returns the token for `deactivate_tenant`."""
    return _current_tenant.set(tenant)


def deactivate_tenant(token) -> None:
    _current_tenant.reset(token)

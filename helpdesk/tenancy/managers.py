from __future__ import annotations

from django.db import models

from .context import current_tenant_id, require_current_tenant
from .routers import OWNER_DB


class TenantQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)  # may be a generator: read it once, here
        tenant_id = require_current_tenant().pk
        for obj in objs:
            if obj.tenant_id is None:
                obj.tenant_id = tenant_id
        return super().bulk_create(objs, *args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of every tenant-owned model: always filtered to the current tenant.

    Without a tenant it raises TenantNotSetError instead of returning everybody's rows.
    """

    def get_queryset(self) -> TenantQuerySet:
        tenant = require_current_tenant()
        return super().get_queryset().filter(tenant_id=tenant.pk)

    def all_tenants(self) -> models.QuerySet:
        """Every tenant's rows, through the owner connection. The one cross-tenant door:
        grep for `all_tenants(` to audit who opens it (beat sweeps, platform tooling)."""
        return models.QuerySet(self.model, using=OWNER_DB)

    def current_tenant_id(self) -> int | None:
        return current_tenant_id()

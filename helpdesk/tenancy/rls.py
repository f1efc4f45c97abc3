"""Row-level security and tenant-safe foreign keys, applied by `migrate` to every tenant model.

Run after each `migrate` on the owner connection (post_migrate), idempotently:
- ENABLE ROW LEVEL SECURITY with one policy: a row is visible and writable only when its
  tenant_id equals the session setting app.tenant_id (kept current by helpdesk.tenancy.backend);
- a unique (tenant_id, id) index on each tenant table and, for every foreign key between two
  tenant tables, a composite foreign key (tenant_id, fk) -> (tenant_id, id): Postgres checks
  foreign keys without RLS, so this is what stops a row pointing at another tenant's parent;
- grants for the runtime role (rows only: no TRUNCATE, no DDL, nothing it owns).
A model gets all of it by inheriting TenantModel; nobody has to remember a migration.
"""

from __future__ import annotations

import hashlib

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.backends.utils import truncate_name

from .models import TenantModel
from .routers import OWNER_DB

POLICY = "tenant_isolation"
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def tenant_models() -> list[type[TenantModel]]:
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if issubclass(m, TenantModel) and not m._meta.proxy and m._meta.managed
    ]


def runtime_role() -> str | None:
    """The role web and workers connect as (DATABASE_URL), if it differs from the owner."""
    runtime = settings.DATABASES["default"].get("USER")
    owner = settings.DATABASES["owner"].get("USER")
    return runtime if runtime and runtime != owner else None


def _name(*parts: str) -> str:
    digest = hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest()[:8]
    return truncate_name(f"{parts[0]}_{parts[-1]}_{digest}", 63)


def statements_for(model: type[TenantModel], existing_constraints: set[str]) -> list[str]:
    table = model._meta.db_table
    sql = [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
        f'CREATE POLICY {POLICY} ON "{table}" USING ({TENANT_PREDICATE}) '
        f"WITH CHECK ({TENANT_PREDICATE})",
        f'CREATE UNIQUE INDEX IF NOT EXISTS "{_name(table, "tenant_pk")}" '
        f'ON "{table}" (tenant_id, "{model._meta.pk.column}")',
    ]
    for field in model._meta.concrete_fields:
        target = field.related_model if field.is_relation and field.many_to_one else None
        if target is None or field.name == "tenant" or not issubclass(target, TenantModel):
            continue
        name = _name(table, field.column, "tenant_fk")
        if name in existing_constraints:
            continue
        # The parent's unique (tenant_id, id) index must exist before the reference to it.
        parent = target._meta.db_table
        sql.append(
            f'CREATE UNIQUE INDEX IF NOT EXISTS "{_name(parent, "tenant_pk")}" '
            f'ON "{parent}" (tenant_id, "{target._meta.pk.column}")'
        )
        sql.append(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" '
            f'FOREIGN KEY (tenant_id, "{field.column}") '
            f'REFERENCES "{parent}" (tenant_id, "{target._meta.pk.column}") '
            "DEFERRABLE INITIALLY DEFERRED"
        )
    return sql


def sync(using: str) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint")
        existing = {row[0] for row in cursor.fetchall()}
        for model in tenant_models():
            for statement in statements_for(model, existing):
                cursor.execute(statement)
        role = runtime_role()
        if role:
            quoted = connection.ops.quote_name(role)
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"
            )
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")


def sync_after_migrate(sender, using: str, plan=None, **kwargs) -> None:
    # post_migrate also fires after a test flush on the runtime connection, which owns nothing
    # and may alter nothing: the schema is the owner's business only.
    if using == OWNER_DB:
        sync(using)

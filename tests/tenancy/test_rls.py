"""The second wall: Postgres row-level security, seen through the runtime role's own connection."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from helpdesk.tenancy.checks import runtime_role_problems
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import TenantModel
from helpdesk.tenancy.rls import POLICY, tenant_models
from tests.factories import ContactFactory, MembershipFactory, UserFactory

# Tables that are global by design (no tenant_id): the tenant registry, people, framework tables.
GLOBAL_TABLES = {
    "django_migrations",
    "django_content_type",
    "django_session",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
    "accounts_user",
    "accounts_user_groups",
    "accounts_user_user_permissions",
    "tenancy_tenant",
    "tenancy_tenantdomain",
}


def count(table: str, where: str = "", params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}" {where}', params)
        return cursor.fetchone()[0]


@pytest.fixture
def two_tenants(tenant_a, tenant_b):
    MembershipFactory.create_batch(3, tenant=tenant_a)
    MembershipFactory.create_batch(2, tenant=tenant_b)
    ContactFactory(tenant=tenant_a)
    ContactFactory(tenant=tenant_b)
    return tenant_a, tenant_b


def test_runtime_role_cannot_bypass_rls(db):
    assert runtime_role_problems() == []


def test_raw_select_without_tenant_returns_no_rows(two_tenants):
    for model in tenant_models():
        assert count(model._meta.db_table) == 0, model


def test_raw_select_inside_b_never_sees_a(two_tenants):
    tenant_a, tenant_b = two_tenants
    with tenant_context(tenant_b):
        assert count("tenancy_membership") == 2
        assert count("tenancy_membership", "WHERE tenant_id = %s", [tenant_a.pk]) == 0
        assert count("tickets_contact", "WHERE tenant_id <> %s", [tenant_b.pk]) == 0
    with tenant_context(tenant_a):
        assert count("tenancy_membership") == 3


def test_raw_insert_into_another_tenant_is_refused(two_tenants):
    tenant_a, tenant_b = two_tenants
    user = UserFactory()
    with (
        tenant_context(tenant_b),
        pytest.raises(DatabaseError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO tenancy_membership (tenant_id, user_id, role, is_active, created_at)"
            " VALUES (%s, %s, 'admin', true, now())",
            [tenant_a.pk, user.pk],
        )


def test_setting_is_reapplied_after_a_rollback(two_tenants):
    tenant_a, tenant_b = two_tenants
    with tenant_context(tenant_a):
        try:
            with transaction.atomic():
                assert count("tenancy_membership") == 3  # set_config happens in the savepoint
                raise RuntimeError
        except RuntimeError:
            pass
        assert count("tenancy_membership") == 3
    assert count("tenancy_membership") == 0


def test_every_table_is_tenant_owned_or_declared_global(db):
    tenant_tables = {m._meta.db_table for m in tenant_models()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = {row[0] for row in cursor.fetchall()}
    unexplained = tables - tenant_tables - GLOBAL_TABLES
    assert not unexplained, (
        f"tables with neither tenant_id nor a reason to be global: {unexplained}"
    )


def test_every_tenant_table_has_rls_and_policy(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname "
            "WHERE c.relrowsecurity AND p.policyname = %s",
            [POLICY],
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert {m._meta.db_table for m in tenant_models()} <= protected


def test_tenant_foreign_keys_are_composite(db):
    """Every FK between two tenant tables is backed by a (tenant_id, fk) constraint."""
    expected = []
    for model in tenant_models():
        for field in model._meta.concrete_fields:
            if (
                field.many_to_one
                and field.name != "tenant"
                and issubclass(field.related_model, TenantModel)
            ):
                expected.append((model._meta.db_table, field.column))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f'"
        )
        definitions = cursor.fetchall()
    for table, column in expected:
        assert any(
            t == table and d.startswith(f"FOREIGN KEY (tenant_id, {column})")
            for t, d in definitions
        ), (table, column)


def test_all_models_with_tenant_column_inherit_tenant_model():
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if "tenant" in names and model._meta.db_table not in GLOBAL_TABLES:
            assert issubclass(model, TenantModel), model


@pytest.mark.django_db(databases=["default", "owner"])
def test_role_check_flags_a_role_that_owns_the_tables():
    from helpdesk.tenancy.checks import runtime_role_problems

    problems = runtime_role_problems("owner")
    assert any("owns" in p for p in problems), problems

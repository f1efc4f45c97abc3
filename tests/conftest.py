"""Test set-up: real Postgres (as the same two roles production uses) and real Redis.

The test database is created and migrated by the owner role, exactly like `migrate`; the tests
then talk to it through the runtime role, so row-level security is in force in every test.
"""

from __future__ import annotations

import os

import pytest

from tests.browser import _live_server_on_ipv4, browser, page  # noqa: F401 - fixtures for all

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API + live_server

# Several test runs may share one machine: HELPDESK_TEST_DB_SUFFIX (or PYTEST_XDIST_WORKER set by
# hand) gives this run a test database of its own, through pytest-django's per-env suffix.
_suffix = os.environ.get("HELPDESK_TEST_DB_SUFFIX") or os.environ.get("PYTEST_XDIST_WORKER")
if _suffix:
    os.environ.setdefault("TOX_PARALLEL_ENV", _suffix)


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_modify_db_settings,
):
    from django.db import connections
    from django.test.utils import setup_databases

    from helpdesk.tenancy.rls import runtime_role

    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=django_db_keepdb,
            aliases={"owner"},
        )
        runtime = connections["default"]
        runtime.close()
        runtime.settings_dict["NAME"] = connections["owner"].settings_dict["NAME"]
        role = runtime_role()
        if role:
            # Only here: TransactionTestCase flushes tables between tests with TRUNCATE.
            with connections["owner"].cursor() as cursor:
                cursor.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{role}"')
    yield
    with django_db_blocker.unblock():
        _teardown(config, request.config.option.verbose, django_db_keepdb)


def _teardown(config, verbosity: int, keepdb: bool) -> None:
    """Drop the test database once the live server's request threads have let go of it."""
    import time

    from django.db import OperationalError, connections
    from django.test.utils import teardown_databases

    for attempt in range(40):
        for connection in connections.all():
            connection.close()
        try:
            teardown_databases(config, verbosity=verbosity, keepdb=keepdb)
            return
        except OperationalError:
            if attempt == 39:
                raise
            time.sleep(0.25)


@pytest.fixture(autouse=True)
def _no_tenant_leaks():
    """Every test starts and ends with no current tenant."""
    from helpdesk.tenancy.context import get_current_tenant

    assert get_current_tenant() is None
    yield
    assert get_current_tenant() is None, "a test left a tenant context open"


@pytest.fixture
def tenant_a(db):
    from tests.factories import TenantFactory

    return TenantFactory(slug="alpha", name="Alpha Support", default_language="en")


@pytest.fixture
def tenant_b(db):
    from tests.factories import TenantFactory

    return TenantFactory(slug="bravo", name="Bravo 客服", default_language="zh-hans")


@pytest.fixture
def agent(tenant_a):
    from tests.factories import MembershipFactory

    return MembershipFactory(tenant=tenant_a, user__email="agent@alpha.test").user


@pytest.fixture
def admin(tenant_a):
    from helpdesk.tenancy.models import Membership
    from tests.factories import MembershipFactory

    return MembershipFactory(
        tenant=tenant_a, user__email="admin@alpha.test", role=Membership.Role.ADMIN
    ).user


@pytest.fixture
def outsider(tenant_b):
    """An administrator of the other tenant."""
    from helpdesk.tenancy.models import Membership
    from tests.factories import MembershipFactory

    return MembershipFactory(
        tenant=tenant_b, user__email="admin@bravo.test", role=Membership.Role.ADMIN
    ).user


@pytest.fixture
def customer(tenant_a):
    from tests.factories import ContactFactory

    return ContactFactory(tenant=tenant_a, email="carol@customer.test").user

from __future__ import annotations

import pytest

from helpdesk.tenancy.models import Membership
from tests.e2e.conftest import tenant_url
from tests.factories import PASSWORD, MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support", default_language="en")
    MembershipFactory(
        tenant=tenant, user__email="agent1@acme.test", user__full_name="Alex Agent",
        role=Membership.Role.AGENT,
    )  # fmt: skip
    return tenant


def test_agent_signs_in_and_sees_the_agent_home(page, live_server, acme):
    page.goto(tenant_url(live_server, acme, "/accounts/login/"))
    page.get_by_label("Email").fill("agent1@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/agent/")
    assert page.get_by_role("heading", name="Hello, Alex").is_visible()
    assert page.get_by_role("navigation").first.is_visible()


def test_wrong_password_shows_a_message_not_a_traceback(page, live_server, acme):
    page.goto(tenant_url(live_server, acme, "/accounts/login/"))
    page.get_by_label("Email").fill("agent1@acme.test")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("do not match an account here").is_visible()

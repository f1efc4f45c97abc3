from __future__ import annotations

from django.core import mail
from django.urls import reverse

from helpdesk.accounts.tasks import send_password_reset
from tests.factories import PASSWORD
from tests.helpers import host_of

LOGIN = "/accounts/login/"


def post_login(client, tenant, email, password=PASSWORD):
    return client.post(LOGIN, {"username": email, "password": password}, HTTP_HOST=host_of(tenant))


def test_login_page_has_the_contract_fields(client, tenant_a):
    response = client.get(LOGIN, HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_staff_land_in_agent_app(client, agent, tenant_a):
    response = post_login(client, tenant_a, "AGENT@alpha.test")
    assert response.status_code == 302
    assert response.url == "/agent/"
    assert client.get("/agent/", HTTP_HOST=host_of(tenant_a)).status_code == 200


def test_customers_land_in_portal(client, customer, tenant_a):
    response = post_login(client, tenant_a, "carol@customer.test")
    assert response.url == "/portal/"
    page = client.get("/portal/", HTTP_HOST=host_of(tenant_a))
    assert page.status_code == 200
    # A customer is not staff: the agent app does not exist for them.
    assert client.get("/agent/", HTTP_HOST=host_of(tenant_a)).status_code == 404


def test_wrong_password_is_a_clear_message(client, agent, tenant_a):
    response = post_login(client, tenant_a, "agent@alpha.test", "nope")
    assert response.status_code == 200
    assert "do not match an account here" in response.content.decode()


def test_member_of_another_tenant_cannot_sign_in_here(client, outsider, tenant_a):
    response = post_login(client, tenant_a, "admin@bravo.test")
    assert response.status_code == 200
    assert "do not match an account here" in response.content.decode()


def test_session_is_valid_on_its_own_tenant_only(client, agent, tenant_a, tenant_b):
    # Someone who is staff in both tenants signs in on A...
    from tests.factories import MembershipFactory

    MembershipFactory(tenant=tenant_b, user=agent)
    post_login(client, tenant_a, "agent@alpha.test")
    assert client.get("/agent/", HTTP_HOST=host_of(tenant_a)).status_code == 200
    # ...and the same session cookie presented to B's host is not a B session.
    response = client.get("/agent/", HTTP_HOST=host_of(tenant_b))
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_logout(client, agent, tenant_a):
    post_login(client, tenant_a, "agent@alpha.test")
    response = client.post("/accounts/logout/", HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 200
    assert client.get("/agent/", HTTP_HOST=host_of(tenant_a)).status_code == 302


def test_password_reset_mails_a_link_on_the_tenant_host(
    client, agent, tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/accounts/password-reset/", {"email": "agent@alpha.test"}, HTTP_HOST=host_of(tenant_a)
        )
    assert response.url == reverse("accounts:password_reset_done")
    assert len(callbacks) == 1
    send_password_reset(tenant_a.pk, user_id=agent.pk)  # what the worker runs
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/accounts/reset/" in line)
    assert f"//{host_of(tenant_a)}" in link
    path = link.split(host_of(tenant_a), 1)[1].split(":8000", 1)[-1]
    path = path[path.index("/accounts/") :]
    confirm = client.get(path, HTTP_HOST=host_of(tenant_a), follow=True)
    assert b'name="new_password1"' in confirm.content
    done = client.post(
        confirm.redirect_chain[-1][0],
        {"new_password1": "a-new-long-pass-42", "new_password2": "a-new-long-pass-42"},
        HTTP_HOST=host_of(tenant_a),
    )
    assert done.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password("a-new-long-pass-42")


def test_password_reset_for_unknown_address_reveals_nothing(
    client, tenant_a, outsider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/accounts/password-reset/", {"email": "admin@bravo.test"}, HTTP_HOST=host_of(tenant_a)
        )
    assert response.url == reverse("accounts:password_reset_done")
    assert callbacks == []


def test_expired_or_bad_reset_link_says_so(client, agent, tenant_a):
    response = client.get("/accounts/reset/MQ/bad-token/", HTTP_HOST=host_of(tenant_a), follow=True)
    assert response.status_code == 200
    assert "This link has expired" in response.content.decode()


def test_customer_signup_links_contact_and_mails_a_password_link(
    client, tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/accounts/signup/",
            {"name": "Dee", "email": "dee@customer.test"},
            HTTP_HOST=host_of(tenant_a),
        )
    assert response.status_code == 302
    assert len(callbacks) == 1
    from helpdesk.tenancy.context import tenant_context
    from tickets.models import Contact

    with tenant_context(tenant_a):
        contact = Contact.objects.get(email="dee@customer.test")
    assert contact.user is not None
    assert not contact.user.has_usable_password()


def test_customer_signs_in_with_a_one_time_link(
    client, customer, tenant_a, django_capture_on_commit_callbacks
):
    from helpdesk.accounts.tasks import send_login_link

    host = host_of(tenant_a)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post("/accounts/login/link/", {"email": "carol@customer.test"}, HTTP_HOST=host)
    assert len(callbacks) == 1
    send_login_link(tenant_a.pk, user_id=customer.pk)
    link = next(line for line in mail.outbox[0].body.splitlines() if "/login/link/" in line)
    path = link[link.index("/accounts/") :]
    assert client.get(path, HTTP_HOST=host).status_code == 200  # a button, not a sign-in
    assert client.get("/portal/", HTTP_HOST=host).status_code == 302
    response = client.post(path, HTTP_HOST=host)
    assert response.url == "/portal/"
    assert client.get("/portal/", HTTP_HOST=host).status_code == 200
    client.post("/accounts/logout/", HTTP_HOST=host)
    assert client.post(path, HTTP_HOST=host).status_code == 400  # spent


def test_login_link_is_not_for_staff(client, agent, tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            "/accounts/login/link/", {"email": "agent@alpha.test"}, HTTP_HOST=host_of(tenant_a)
        )
    assert callbacks == []


def test_login_page_is_branded_with_the_tenant_name(client, tenant_a):
    response = client.get(LOGIN, HTTP_HOST=host_of(tenant_a))
    assert response.context["site_name"] == "Alpha Support"
    assert "alpha.localhost" not in response.content.decode().split("<main")[0]

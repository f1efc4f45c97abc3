"""The public request form (/ and /portal/requests/new/): tickets, idempotency, honeypot,
rate limits, signed-in customers, attachments."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from tests.helpers import host_of, sign_in
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
NEW = "/portal/requests/new/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def form_data(**extra) -> dict:
    return {"name": "Li Na", "email": "li.na@example.cn", "subject": "Order 8841 never came",
            "description": "Ordered on Monday, still nothing.", "token": uuid.uuid4().hex,
            "website": "", **extra}  # fmt: skip


def post(client, tenant, data, ip="192.0.2.10", **kw):
    return client.post(NEW, data, HTTP_HOST=host_of(tenant), REMOTE_ADDR=ip, **kw)


def test_home_page_offers_the_form(client, tenant_a):
    page = client.get("/", HTTP_HOST=host_of(tenant_a)).content.decode()
    assert 'action="/portal/requests/new/"' in page and 'name="subject"' in page


def test_visitor_request_becomes_a_web_ticket_and_the_number_is_confirmed(client, tenant_a):
    response = post(client, tenant_a, form_data(), follow=True)
    assert response.status_code == 200
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get()
        assert ticket.channel == Ticket.Channel.WEB
        assert (ticket.subject, ticket.requester.email) == ("Order 8841 never came",
                                                            "li.na@example.cn")  # fmt: skip
    html = response.content.decode()
    assert f"#{ticket.number}" in html and "li.na@example.cn" in html


def test_a_resubmitted_form_does_not_open_a_second_ticket(client, tenant_a):
    data = form_data()
    post(client, tenant_a, data)
    second = post(client, tenant_a, data, follow=True)
    with tenant_context(tenant_a):
        assert Ticket.objects.count() == 1
        number = Ticket.objects.get().number
    assert f"#{number}" in second.content.decode()


def test_honeypot_answers_like_success_and_keeps_nothing(client, tenant_a):
    response = post(client, tenant_a, form_data(website="http://spam.example"), follow=True)
    assert response.status_code == 200 and "we have your request" in response.content.decode()
    with tenant_context(tenant_a):
        assert not Ticket.objects.exists()


def test_missing_fields_are_explained(client, tenant_a):
    response = post(client, tenant_a, form_data(subject="", email="not-an-address"))
    assert response.status_code == 422
    assert {"subject", "email"} <= set(response.context["form"].errors)


def test_rate_limit_per_ip(client, tenant_a):
    ip = f"198.51.100.{uuid.uuid4().int % 250}"
    for i in range(10):
        assert post(client, tenant_a, form_data(email=f"p{i}@example.cn"), ip=ip).status_code == 302
    blocked = post(client, tenant_a, form_data(email="p99@example.cn"), ip=ip)
    assert blocked.status_code == 429 and "Too many requests" in blocked.content.decode()


def test_rate_limit_per_address(client, tenant_a):
    address = f"{uuid.uuid4().hex[:8]}@example.cn"
    for i in range(5):
        ok = post(client, tenant_a, form_data(email=address), ip=f"203.0.113.{i}")
        assert ok.status_code == 302
    assert post(client, tenant_a, form_data(email=address), ip="203.0.113.77").status_code == 429


def test_signed_in_customer_skips_name_and_email(client, tenant_a, customer):
    sign_in(client, customer, tenant_a)
    page = client.get(NEW).content.decode()
    assert 'name="email"' not in page and 'name="subject"' in page
    data = form_data()
    del data["name"], data["email"]
    assert client.post(NEW, data, REMOTE_ADDR="192.0.2.55").status_code == 302
    with tenant_context(tenant_a):
        ticket = Ticket.objects.get()
        assert ticket.channel == Ticket.Channel.PORTAL
        assert ticket.requester.user_id == customer.pk


def test_attachments_are_kept_and_forbidden_ones_refused(client, tenant_a):
    good = SimpleUploadedFile("screenshot.png", b"\x89PNG fake", "image/png")
    post(client, tenant_a, form_data(attachments=[good]))
    with tenant_context(tenant_a):
        message = Ticket.objects.get().messages.get()
        assert [a.filename for a in message.attachments.all()] == ["screenshot.png"]
    bad = SimpleUploadedFile("invoice.exe", b"MZ", "application/octet-stream")
    refused = post(client, tenant_a, form_data(attachments=[bad]))
    assert refused.status_code == 422
    assert re.search(r"invoice\.exe", str(refused.context["form"].errors["attachments"]))


def test_thanks_page_without_a_submission_goes_to_the_form(client, tenant_a):
    response = client.get(reverse("portal:request_thanks"), HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 302 and response.url == NEW


def test_the_confirmation_links_a_visitor_to_follow_the_request(client, tenant_a):
    html = post(client, tenant_a, form_data(), follow=True).content.decode()
    with tenant_context(tenant_a):
        number = Ticket.objects.get().number
    [link] = re.findall(rf'href="(/portal/requests/{number}/follow/[^"]+/)"', html)
    client.cookies.clear()  # another browser holding the link (e.g. from the email)
    page = client.get(link, HTTP_HOST=host_of(tenant_a), follow=True)
    assert page.status_code == 200 and "Ordered on Monday, still nothing." in page.content.decode()


def test_the_confirmation_sends_a_signed_in_customer_to_the_portal_page(client, tenant_a,
                                                                        customer):  # fmt: skip
    sign_in(client, customer, tenant_a)
    html = post(client, tenant_a, form_data(), follow=True).content.decode()
    with tenant_context(tenant_a):
        number = Ticket.objects.get().number
    assert f'href="/portal/requests/{number}/"' in html and "/follow/" not in html

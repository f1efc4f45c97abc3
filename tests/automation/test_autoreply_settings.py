"""Settings › Auto-replies: templates with the placeholders of triggers plus
{{ sla.first_response }} and {{ kb.articles }}, a bad placeholder explained with nothing lost,
the live preview for the latest ticket (or a sample one) that writes nothing, templates that
another one hides, delete after asking, the audit log and who may."""

from __future__ import annotations

import re

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from tests.factories import ContactFactory, make_ticket
from tests.helpers import sign_in
from tickets.automation.admin_services import SettingsError, check_auto_reply_template
from tickets.automation.models import AutoReply
from tickets.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
FORM = {
    "name": "Email in Chinese",
    "is_active": "on",
    "channel": "email",
    "language": "zh-hans",
    "subject": "[#{{ ticket.number }}] 我们已收到：{{ ticket.subject }}",
    "body": "{{ requester.name }}，您好！\n\n{{ sla.first_response }}\n\n{{ kb.articles }}",
    "suggest_articles": "on",
}


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_validator_allows_the_auto_reply_placeholders_and_names_the_wrong_one():
    text = "{{ ticket.number }} {{sla.first_response}} {{ kb.articles }}"
    assert check_auto_reply_template(text, where="Message") == text
    with pytest.raises(SettingsError) as error:
        check_auto_reply_template("Hi {{ sla.promise }}", where="Message")
    message = str(error.value)
    assert message.startswith("Message: unknown placeholder {{ sla.promise }}")
    assert "{{ sla.first_response }}" in message and "{{ kb.articles }}" in message
    with pytest.raises(SettingsError, match="at most 200 characters"):
        check_auto_reply_template("x" * 201, where="Subject", limit=200)


def test_an_auto_reply_is_created_listed_edited_and_audited(admin_client, tenant_a):
    new = admin_client.get("/settings/auto-replies/new/")
    assert new.status_code == 200
    assert "{{ sla.first_response }}" in new.content.decode()  # a useful start, and the list
    response = admin_client.post("/settings/auto-replies/new/", FORM)
    assert response.status_code == 302, text_of(response)[:2000]
    with tenant_context(tenant_a):
        item = AutoReply.objects.get()
        assert (item.channel, item.language, item.is_active, item.suggest_articles) == (
            "email", "zh-hans", True, True)  # fmt: skip
        assert item.body == FORM["body"]
    page = text_of(admin_client.get("/settings/auto-replies/"))
    assert "Email in Chinese" in page and "Email" in page
    edited = {**FORM, "channel": "", "is_active": ""}
    assert admin_client.post(f"/settings/auto-replies/{item.pk}/", edited).status_code == 302
    with tenant_context(tenant_a):
        item.refresh_from_db()
        assert (item.channel, item.is_active) == ("", False)
        assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
            "auto_reply.create", "auto_reply.update"]  # fmt: skip


def test_a_bad_placeholder_is_explained_and_nothing_typed_is_lost(admin_client, tenant_a):
    bad = {**FORM, "body": "您好 {{ customer.name }}，我们已收到。"}
    response = admin_client.post("/settings/auto-replies/new/", bad)
    assert response.status_code == 422
    page = text_of(response)
    assert "unknown placeholder {{ customer.name }}" in page
    assert "您好 {{ customer.name }}，我们已收到。" in page and 'value="Email in Chinese"' in page
    assert (
        admin_client.post("/settings/auto-replies/new/", {**FORM, "channel": "fax"}).status_code
        == 422
    )
    with tenant_context(tenant_a):
        assert not AutoReply.objects.exists()


def test_the_live_preview_fills_in_the_latest_ticket_and_writes_nothing(admin_client, tenant_a):
    wang = ContactFactory(tenant=tenant_a, name="王芳", email="wang@example.cn", language="zh-hans")
    ticket = make_ticket(tenant_a, requester=wang, subject="退款申请", channel="email",
                         language="zh-hans")  # fmt: skip
    with tenant_context(tenant_a):
        before = (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count())
    response = admin_client.post("/settings/auto-replies/preview/", FORM, **HTMX)
    assert response.status_code == 200
    fragment = text_of(response)
    assert "<html" not in fragment and 'id="reply-preview"' in fragment
    assert f"[#{ticket.number}] 我们已收到：退款申请" in fragment
    assert "王芳，您好！" in fragment
    assert f"#{ticket.number}</a>" in fragment  # "for ticket #n", a link to it
    assert "no SLA policy promises this ticket a first answer" in fragment  # why it is empty
    with tenant_context(tenant_a):
        assert (Ticket.objects.count(), Message.objects.count(),
                TicketEvent.objects.count()) == before  # fmt: skip
    bad = admin_client.post("/settings/auto-replies/preview/", {**FORM, "subject": "{{ x.y }}"})
    assert "unknown placeholder {{ x.y }}" in text_of(bad)


def test_without_tickets_the_preview_uses_a_sample_and_without_js_a_button(admin_client):
    response = admin_client.post("/settings/auto-replies/preview/", FORM, **HTMX)
    assert "for a sample ticket" in text_of(response)
    assert "[#1042]" in text_of(response)
    page = admin_client.post("/settings/auto-replies/new/", {**FORM, "preview": "1"})
    assert page.status_code == 200 and "[#1042]" in text_of(page)  # previewed, not saved


def test_a_template_hidden_by_an_earlier_one_says_so(admin_client, tenant_a):
    with tenant_context(tenant_a):
        first = AutoReply.objects.create(name="First", subject="a", body="b", channel="email")
        AutoReply.objects.create(name="Second", subject="a", body="b", channel="email")
        AutoReply.objects.create(name="Other", subject="a", body="b", channel="web")
    page = text_of(admin_client.get("/settings/auto-replies/"))
    assert page.count("Not used") == 1 and "“First” is used instead" in page
    confirm = admin_client.get(f"/settings/auto-replies/{first.pk}/delete/")
    assert "Delete the auto-reply “First”?" in text_of(confirm)
    assert admin_client.post(f"/settings/auto-replies/{first.pk}/delete/").status_code == 302
    with tenant_context(tenant_a):
        assert list(AutoReply.objects.values_list("name", flat=True).order_by("name")) == [
            "Other", "Second"]  # fmt: skip
        assert AuditEvent.objects.filter(action="auto_reply.delete").count() == 1
    assert "Not used" not in text_of(admin_client.get("/settings/auto-replies/"))


def test_agents_get_403_and_another_tenants_admin_404(client, tenant_a, tenant_b, agent, outsider):
    with tenant_context(tenant_a):
        item = AutoReply.objects.create(name="Secret reply", subject="a", body="b")
    sign_in(client, agent, tenant_a)
    assert client.get("/settings/auto-replies/").status_code == 403
    assert client.post("/settings/auto-replies/preview/", FORM).status_code == 403
    sign_in(client, outsider, tenant_b)
    assert client.get(f"/settings/auto-replies/{item.pk}/").status_code == 404
    assert client.post(f"/settings/auto-replies/{item.pk}/delete/").status_code == 404
    with tenant_context(tenant_a):
        assert AutoReply.objects.filter(pk=item.pk).exists()

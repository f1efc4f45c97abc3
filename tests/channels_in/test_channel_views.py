"""Settings › Channels and the raw-MIME webhook, through the views."""

from __future__ import annotations

import pytest
from django.urls import reverse

from channels_in.email import receive_email
from channels_in.models import ChannelSettings, ChatSettings, InboundEmail, Mailbox
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from tests.helpers import host_of, sign_in
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

RAW = (
    b"From: Wang Fang <wang@example.cn>\r\nTo: help@alpha.example\r\n"
    b"Subject: Webhook mail\r\nMessage-ID: <hook-1@example.cn>\r\n"
    b"Date: Thu, 03 Dec 2026 10:00:00 +0800\r\n\r\nDelivered by a provider.\r\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


@pytest.fixture
def mailbox(tenant_a):
    with tenant_context(tenant_a):
        return Mailbox.objects.create(name="Help", address="help@alpha.example", kind="forward")


def test_admin_adds_a_forwarding_mailbox_and_it_is_audited(admin_client, tenant_a):
    response = admin_client.post(reverse("settings:channels"), {
        "add_mailbox": "1", "name": "Sales", "address": "Sales@Alpha.Example", "kind": "forward",
        "is_active": "on", "imap_port": "993", "imap_folder": "INBOX", "after_fetch": "seen",
    })  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        box = Mailbox.objects.get()
        assert box.address == "sales@alpha.example" and len(box.webhook_token) >= 30
        assert AuditEvent.objects.filter(action="mailbox.created").exists()
    page = admin_client.get(reverse("settings:channels")).content.decode()
    assert "sales@alpha.example" in page and "support@alpha." in page


def test_imap_mailbox_needs_server_user_and_password(admin_client):
    response = admin_client.post(reverse("settings:channels"), {
        "add_mailbox": "1", "name": "IMAP", "address": "imap@alpha.example", "kind": "imap",
        "imap_port": "993", "imap_folder": "INBOX", "after_fetch": "move",
    })  # fmt: skip
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert {"imap_host", "imap_username", "imap_password", "processed_folder"} <= set(errors)


def test_an_address_of_another_tenant_is_refused(admin_client, tenant_b):
    with tenant_context(tenant_b):
        Mailbox.objects.create(name="Theirs", address="taken@shared.example", kind="forward")
    response = admin_client.post(reverse("settings:channels"), {
        "add_mailbox": "1", "name": "Mine", "address": "taken@shared.example", "kind": "forward",
        "imap_port": "993", "imap_folder": "INBOX", "after_fetch": "seen",
    })  # fmt: skip
    assert response.status_code == 422
    assert "already used" in str(response.context["form"].errors["address"])


def test_saved_imap_password_is_kept_when_the_field_is_left_empty(admin_client, tenant_a):
    with tenant_context(tenant_a):
        box = Mailbox.objects.create(name="I", address="i@alpha.example", kind="imap",
                                     imap_host="imap.example", imap_username="u",
                                     imap_password="s3cret")  # fmt: skip
    url = reverse("settings:mailbox_edit", kwargs={"mailbox_id": box.pk})
    page = admin_client.get(url).content.decode()
    assert "s3cret" not in page
    response = admin_client.post(url, {
        "name": "Renamed", "address": "i@alpha.example", "kind": "imap", "is_active": "on",
        "imap_host": "imap.example", "imap_port": "993", "imap_username": "u",
        "imap_password": "", "imap_folder": "INBOX", "after_fetch": "seen",
    })  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        box.refresh_from_db()
        assert (box.name, box.imap_password) == ("Renamed", "s3cret")


def test_inbound_settings_are_saved(admin_client, tenant_a):
    response = admin_client.post(reverse("settings:channels"), {
        "save_settings": "1", "closed_reply": "reopen", "max_attachment_mb": "5",
    })  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        saved = ChannelSettings.objects.get()
        assert (saved.closed_reply, saved.max_attachment_mb) == ("reopen", 5)


def test_agents_may_not_configure_channels(client, tenant_a, agent):
    sign_in(client, agent, tenant_a)
    assert client.get(reverse("settings:channels")).status_code == 403


def test_unprocessed_mail_is_listed_downloadable_and_retried(admin_client, tenant_a):
    with tenant_context(tenant_a):
        broken = receive_email(b"Subject: no sender at all\r\n\r\nbody", via="command")
    assert broken.status == InboundEmail.Status.FAILED
    page = admin_client.get(reverse("settings:unprocessed")).content.decode()
    assert "no sender at all" in page and "EmailParseError" in page
    raw = admin_client.get(reverse("settings:inbound_raw", kwargs={"inbound_id": broken.pk}))
    assert raw["Content-Disposition"].startswith("attachment;")
    assert raw["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert raw.content == b"Subject: no sender at all\r\n\r\nbody"
    with tenant_context(tenant_a):  # say an admin fixed what broke it
        InboundEmail.objects.filter(pk=broken.pk).update(raw=RAW)
    response = admin_client.post(
        reverse("settings:inbound_retry", kwargs={"inbound_id": broken.pk}), follow=True
    )
    assert "Processed onto ticket" in response.content.decode()
    with tenant_context(tenant_a):
        assert InboundEmail.objects.get(pk=broken.pk).status == InboundEmail.Status.RETRIED
        assert Ticket.objects.filter(subject="Webhook mail").exists()


# --- The webhook ----------------------------------------------------------------------------


def hook(mailbox) -> str:
    return reverse("channels:email_webhook", kwargs={"webhook_token": mailbox.webhook_token})


def test_webhook_raw_body_makes_a_ticket_and_a_retry_makes_nothing_more(client, tenant_a, mailbox):
    url, host = hook(mailbox), host_of(tenant_a)
    first = client.post(url, RAW, content_type="message/rfc822", HTTP_HOST=host)
    assert first.status_code == 202 and first.json()["status"] == "processed"
    again = client.post(url, RAW, content_type="message/rfc822", HTTP_HOST=host)
    assert again.status_code == 200 and again.json()["ticket"] == first.json()["ticket"]
    with tenant_context(tenant_a):
        assert Ticket.objects.count() == 1
        stored = InboundEmail.objects.get(pk=first.json()["inbound_id"])
        assert (stored.via, stored.mailbox_id) == ("webhook", mailbox.pk)


def test_webhook_takes_the_form_field_providers_use(client, tenant_a, mailbox):
    response = client.post(hook(mailbox), {"body-mime": RAW.decode()}, HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 202 and response.json()["ticket"]


def test_webhook_without_a_message_is_a_clear_400(client, tenant_a, mailbox):
    response = client.post(hook(mailbox), b"", content_type="message/rfc822",
                           HTTP_HOST=host_of(tenant_a))  # fmt: skip
    assert response.status_code == 400 and "body-mime" in response.json()["error"]


def test_webhook_token_of_another_tenant_is_a_404(client, tenant_a, tenant_b, mailbox):
    response = client.post(hook(mailbox), RAW, content_type="message/rfc822",
                           HTTP_HOST=host_of(tenant_b))  # fmt: skip
    assert response.status_code == 404
    with tenant_context(tenant_b):
        assert not InboundEmail.objects.exists() and not Ticket.objects.exists()


def test_webhook_of_a_paused_mailbox_is_a_404(client, tenant_a, mailbox):
    with tenant_context(tenant_a):
        Mailbox.objects.filter(pk=mailbox.pk).update(is_active=False)
    response = client.post(hook(mailbox), RAW, content_type="message/rfc822",
                           HTTP_HOST=host_of(tenant_a))  # fmt: skip
    assert response.status_code == 404


def test_admin_sets_chat_hours_and_allowed_sites(admin_client, tenant_a):
    response = admin_client.post(reverse("settings:channels"), {
        "save_chat": "1", "enabled": "on", "title": "Acme chat", "greeting": "Hi!",
        "chat_days": ["0", "2", "4"], "opens_at": "08:30", "closes_at": "17:00",
        "allowed_origins": "https://www.Shop.example/\nhttp://localhost:3000",
    })  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        chat = ChatSettings.objects.get()
        assert chat.days == "0,2,4" and chat.origins() == {"https://www.shop.example",
                                                            "http://localhost:3000"}  # fmt: skip
    bad = admin_client.post(reverse("settings:channels"), {
        "save_chat": "1", "opens_at": "18:00", "closes_at": "09:00",
        "allowed_origins": "javascript:alert(1)",
    })  # fmt: skip
    assert bad.status_code == 422
    assert {"closes_at", "allowed_origins"} <= set(bad.context["chat_form"].errors)
    page = admin_client.get(reverse("settings:channels")).content.decode()
    assert "widget.js" in page and 'data-tenant="alpha"' in page

"""Settings › Channels › Messaging apps, through the views: each provider's form shows the
fields its adapter reads; secrets are write-only (never in the HTML, kept when left empty);
the callback URL is the webhook on the tenant's host; pausing stops the webhook; removing asks
first; everything is audited; only administrators get in."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from channels_in.admin_services import messaging_channel_save
from channels_in.forms import MESSAGING_FIELDS, MessagingChannelForm
from channels_in.messaging.models import MessagingChannel, MessagingThread
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from tests.factories import make_ticket
from tests.helpers import host_of, sign_in
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

PAYLOADS = Path(__file__).parent / "payloads"
CREDENTIALS = ["app_id", "app_secret", "token", "encoding_aes_key", "bot_token", "access_token",
               "verify_token", "account_id"]  # fmt: skip
EXPECTED_FIELDS = {
    "wechat": ["app_id", "app_secret", "token", "encoding_aes_key"],
    "wechat_kf": ["app_id", "app_secret", "token", "encoding_aes_key", "account_id"],
    "wecom": ["app_id", "account_id", "app_secret", "token", "encoding_aes_key"],
    "dingtalk": ["app_id", "app_secret", "account_id"],
    "feishu": ["app_id", "app_secret", "token", "encoding_aes_key"],
    "whatsapp": ["account_id", "access_token", "app_secret", "verify_token"],
    "telegram": ["bot_token", "token"],
    "messenger": ["account_id", "access_token", "app_secret", "verify_token"],
}
BOT_TOKEN = "123456:ABC-DEF"


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


@pytest.fixture
def bot(tenant_a, admin):
    with tenant_context(tenant_a):
        return messaging_channel_save(
            channel=MessagingChannel(provider="telegram", name="Support bot"),
            actor=admin,
            secrets={"bot_token": BOT_TOKEN, "token": "tg-hook-secret"},
        )


def new_url(provider: str) -> str:
    return reverse("settings:messaging_new") + f"?provider={provider}"


def edit_url(channel) -> str:
    return reverse("settings:messaging_edit", kwargs={"channel_id": channel.pk})


def reload(tenant, channel) -> MessagingChannel:
    with tenant_context(tenant):
        return MessagingChannel.objects.get(pk=channel.pk)


def telegram_update(client, tenant, channel):
    return client.post(
        f"/channels/telegram/{channel.webhook_token}/",
        (PAYLOADS / "telegram_message.json").read_bytes(),
        content_type="application/json",
        HTTP_HOST=host_of(tenant),
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="tg-hook-secret",
    )


# --- The form per provider ----------------------------------------------------------------


def test_every_provider_has_a_field_list():
    assert set(MESSAGING_FIELDS) == set(MessagingChannel.Provider.values)


@pytest.mark.parametrize("provider", list(EXPECTED_FIELDS))
def test_the_form_has_only_the_fields_that_provider_uses(tenant_a, provider):
    with tenant_context(tenant_a):
        form = MessagingChannelForm(instance=MessagingChannel(provider=provider),
                                    provider=provider)  # fmt: skip
    assert list(form.fields) == ["name", *EXPECTED_FIELDS[provider]]
    for name in EXPECTED_FIELDS[provider]:
        model_help = str(MessagingChannel._meta.get_field(name).help_text)
        assert model_help and model_help in str(form.fields[name].help_text), (provider, name)


@pytest.mark.parametrize("provider", ["wechat", "wecom", "dingtalk", "feishu", "whatsapp",
                                      "telegram", "messenger", "wechat_kf"])  # fmt: skip
def test_the_new_page_shows_the_providers_fields_labelled(admin_client, provider):
    response = admin_client.get(new_url(provider))
    assert response.status_code == 200
    page = response.content.decode()
    for name in CREDENTIALS:
        present = f'name="{name}"' in page
        assert present == (name in EXPECTED_FIELDS[provider]), (provider, name)
        if present:
            assert f'<label for="id_{name}">' in page, (provider, name)
    assert 'name="api_base"' not in page and 'name="is_active"' not in page


def test_provider_specific_labels(admin_client):
    wecom = admin_client.get(new_url("wecom")).content.decode()
    assert "CorpID" in wecom and "AgentID" in wecom
    kf = admin_client.get(new_url("wechat_kf")).content.decode()
    assert "open_kfid" in kf and "WeChat Customer Service Secret" in kf
    meta = admin_client.get(new_url("whatsapp")).content.decode()
    assert "Phone number ID" in meta and "Meta App Secret" in meta


def test_without_a_provider_the_page_offers_every_app(admin_client):
    page = admin_client.get(reverse("settings:messaging_new")).content.decode()
    for provider in MessagingChannel.Provider.values:
        assert f"?provider={provider}" in page
    assert admin_client.get(new_url("icq")).status_code == 200  # unknown: the chooser again


# --- Create, edit, secrets ----------------------------------------------------------------


def test_admin_connects_a_telegram_bot_and_it_is_audited(admin_client, tenant_a):
    response = admin_client.post(new_url("telegram"), {
        "name": "Support bot", "bot_token": BOT_TOKEN, "token": "tg-hook-secret",
    })  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        channel = MessagingChannel.objects.get()
        event = AuditEvent.objects.get(action="messaging.created")
    assert (channel.provider, channel.name, channel.is_active) == ("telegram", "Support bot", True)
    assert (channel.bot_token, channel.token) == (BOT_TOKEN, "tg-hook-secret")
    assert response.url == edit_url(channel)
    assert event.data["channel"] == channel.pk and event.data["secrets_changed"] == [
        "bot_token", "token",
    ]  # fmt: skip
    assert BOT_TOKEN not in event.summary and "tg-hook-secret" not in str(event.data)


def test_required_credentials_are_asked_for(admin_client, tenant_a):
    response = admin_client.post(new_url("whatsapp"), {"name": "WhatsApp"})
    assert response.status_code == 422
    assert {"account_id", "access_token", "app_secret", "verify_token"} <= set(
        response.context["form"].errors
    )
    feishu = admin_client.post(new_url("feishu"), {"name": "F", "app_id": "cli_1",
                                                   "app_secret": "s"})  # fmt: skip
    assert "token" in feishu.context["form"].errors  # neither Verification Token nor Encrypt Key
    wecom = admin_client.post(new_url("wecom"), {
        "name": "W", "app_id": "ww1", "account_id": "not-a-number", "app_secret": "s",
        "token": "t", "encoding_aes_key": "too-short",
    })  # fmt: skip
    assert {"account_id", "encoding_aes_key"} <= set(wecom.context["form"].errors)
    with tenant_context(tenant_a):
        assert not MessagingChannel.objects.exists()


def test_typed_secrets_are_not_echoed_after_an_error(admin_client):
    response = admin_client.post(new_url("telegram"), {
        "name": "", "bot_token": BOT_TOKEN, "token": "typed-secret-token",
    })  # fmt: skip
    assert response.status_code == 422
    page = response.content.decode()
    assert BOT_TOKEN not in page and "typed-secret-token" not in page


def test_secrets_are_never_rendered_and_kept_when_left_empty(admin_client, tenant_a, admin):
    with tenant_context(tenant_a):
        channel = messaging_channel_save(
            channel=MessagingChannel(provider="messenger", name="Our Page", account_id="1234"),
            actor=admin,
            secrets={
                "app_secret": "meta-app-secret",
                "access_token": "PAGE-ACCESS-TOKEN",
                "verify_token": "fb-verify",
            },  # fmt: skip
        )
    page = admin_client.get(edit_url(channel)).content.decode()
    for secret in ("meta-app-secret", "PAGE-ACCESS-TOKEN", "fb-verify"):
        assert secret not in page
    assert page.count("Saved — leave empty to keep it.") == 3
    assert (
        'name="access_token"' in page
        and "required" not in page.split('name="access_token"')[1][:120]
    )
    fresh = admin_client.get(new_url("messenger")).content.decode()
    assert "required" in fresh.split('name="access_token"')[1][:120]
    assert 'value="1234"' in page  # not secret: shown for editing

    response = admin_client.post(edit_url(channel), {
        "name": "Renamed Page", "account_id": "1234", "app_secret": "", "access_token": "NEW-TOKEN",
        "verify_token": "",
    })  # fmt: skip
    assert response.status_code == 302
    saved = reload(tenant_a, channel)
    assert (saved.name, saved.app_secret, saved.access_token, saved.verify_token) == (
        "Renamed Page", "meta-app-secret", "NEW-TOKEN", "fb-verify",
    )  # fmt: skip
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="messaging.updated")
    assert event.data["secrets_changed"] == ["access_token"]
    assert "NEW-TOKEN" not in event.summary + str(event.data)


def test_the_provider_cannot_be_changed_by_posting_it(admin_client, tenant_a, bot):
    admin_client.post(edit_url(bot), {"name": "Bot", "provider": "wechat", "bot_token": "",
                                      "token": ""})  # fmt: skip
    assert reload(tenant_a, bot).provider == "telegram"


# --- The callback URL -----------------------------------------------------------------------


def test_the_page_shows_the_absolute_callback_url_on_the_tenants_host(admin_client, bot, settings):
    settings.HELPDESK_PUBLIC_SCHEME, settings.HELPDESK_PUBLIC_PORT = "https", ""
    page = admin_client.get(edit_url(bot)).content.decode()
    url = f"https://alpha.{settings.HELPDESK_BASE_DOMAIN}/channels/telegram/{bot.webhook_token}/"
    assert f'spellcheck="false">{url}</textarea>' in page
    assert 'for="callback-url"' in page and "data-copy" in page  # labelled; copy with JS
    assert "setWebhook" in page and BOT_TOKEN not in page
    assert url.removeprefix("https://" + host_of(bot.tenant)) == reverse(
        "channels:messaging_webhook",
        kwargs={"provider": "telegram", "channel_token": bot.webhook_token},
    )


def test_the_callback_url_answers_the_provider(client, tenant_a, bot):
    assert telegram_update(client, tenant_a, bot).status_code == 200
    with tenant_context(tenant_a):
        assert Ticket.objects.get().channel == "telegram"


# --- Pause, resume, remove ------------------------------------------------------------------


def test_pausing_stops_the_webhook_and_resuming_starts_it(admin_client, client, tenant_a, bot):
    url = reverse("settings:messaging_active", kwargs={"channel_id": bot.pk})
    assert admin_client.post(url, {"active": "0"}).status_code == 302
    assert reload(tenant_a, bot).is_active is False
    hook = client.__class__()
    assert telegram_update(hook, tenant_a, bot).status_code == 404
    with tenant_context(tenant_a):
        assert not Ticket.objects.exists()
    page = admin_client.get(edit_url(bot)).content.decode()
    assert "Paused" in page and "Resume" in page
    assert admin_client.post(url, {"active": "1"}).status_code == 302
    assert telegram_update(hook, tenant_a, bot).status_code == 200
    with tenant_context(tenant_a):
        actions = list(AuditEvent.objects.filter(action__startswith="messaging.")
                       .order_by("id").values_list("action", flat=True))  # fmt: skip
    assert actions == ["messaging.created", "messaging.deactivated", "messaging.activated"]
    assert admin_client.get(url).status_code == 405  # a change is a POST


def test_removing_asks_first_then_deletes(admin_client, tenant_a, bot):
    ticket = make_ticket(tenant_a, subject="Chat on Telegram")
    with tenant_context(tenant_a):
        MessagingThread.objects.create(channel=bot, ticket=ticket, identity="1111111")
    url = reverse("settings:messaging_delete", kwargs={"channel_id": bot.pk})
    confirm = admin_client.get(url)
    assert confirm.status_code == 200 and "Remove Support bot?" in confirm.content.decode()
    assert reload(tenant_a, bot)  # a GET changes nothing
    response = admin_client.post(url)
    assert response.status_code == 302 and response.url == reverse("settings:channels")
    with tenant_context(tenant_a):
        assert not MessagingChannel.objects.exists()
        assert Ticket.objects.filter(pk=ticket.pk).exists()  # tickets stay
        assert AuditEvent.objects.filter(action="messaging.deleted").exists()


# --- The Channels page and access -----------------------------------------------------------


def test_the_channels_page_lists_channels_with_their_last_message(admin_client, tenant_a, bot):
    page = admin_client.get(reverse("settings:channels")).content.decode()
    assert "Messaging apps" in page and "Support bot" in page and edit_url(bot) in page
    assert "None yet" in page
    assert new_url("wechat_kf") in page and new_url("telegram") in page
    assert BOT_TOKEN not in page and "tg-hook-secret" not in page
    ticket = make_ticket(tenant_a)
    with tenant_context(tenant_a):
        MessagingThread.objects.create(channel=bot, ticket=ticket, identity="1111111")
    page = admin_client.get(reverse("settings:channels")).content.decode()
    assert "None yet" not in page and "<time datetime=" in page


def test_the_channel_list_reads_no_secret_column(admin_client, bot):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse("settings:channels"))
    listing = [q["sql"] for q in queries if 'FROM "channels_in_messagingchannel"' in q["sql"]]
    assert len(listing) == 1 and '"bot_token"' not in listing[0]


def test_agents_and_managers_may_not_configure_messaging(client, tenant_a, agent, bot):
    sign_in(client, agent, tenant_a)
    for url in (new_url("telegram"), edit_url(bot),
                reverse("settings:messaging_delete", kwargs={"channel_id": bot.pk})):  # fmt: skip
        assert client.get(url).status_code == 403
    active = reverse("settings:messaging_active", kwargs={"channel_id": bot.pk})
    assert client.post(active, {"active": "0"}).status_code == 403
    assert client.post(new_url("telegram"), {"name": "x", "bot_token": BOT_TOKEN,
                                             "token": "t"}).status_code == 403  # fmt: skip
    assert reload(tenant_a, bot).is_active


def test_another_tenants_admin_gets_404(client, tenant_a, tenant_b, outsider, bot):
    sign_in(client, outsider, tenant_b)
    assert client.get(edit_url(bot)).status_code == 404
    assert client.post(reverse("settings:messaging_delete", kwargs={"channel_id": bot.pk})
                       ).status_code == 404  # fmt: skip
    assert reload(tenant_a, bot)

"""Messaging apps connected to a tenant, and which conversation each ticket belongs to.

- `MessagingChannel`: one connected account (a WeChat Official Account, a WeCom app, a
  DingTalk robot, a Feishu app, a WhatsApp number, a Telegram bot, a Facebook Page) with the
  credentials its provider needs. The provider calls `/channels/<provider>/<webhook_token>/` on
  the tenant's host; the random token names the channel (another tenant's token is a 404).
- `MessagingThread`: the ticket a provider user's conversation landed on, on which channel,
  and where replies go. Inbound messages from the same user stay on the open ticket; agents'
  public replies are sent back through the same channel.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.lib.secrets import EncryptedCharField
from helpdesk.tenancy.models import TenantModel

from ..models import new_token


class MessagingChannel(TenantModel):
    class Provider(models.TextChoices):  # the tickets.Ticket.Channel values of messaging apps
        WECHAT = "wechat", _("WeChat")
        WECHAT_KF = "wechat_kf", _("WeChat Customer Service")
        WECOM = "wecom", _("WeCom")
        DINGTALK = "dingtalk", _("DingTalk")
        FEISHU = "feishu", _("Feishu")
        WHATSAPP = "whatsapp", _("WhatsApp")
        TELEGRAM = "telegram", _("Telegram")
        MESSENGER = "messenger", _("Messenger")

    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices)
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    # Credentials. Which provider uses which field is in each help text (and in the adapter).
    # The secret ones are encrypted at rest (helpdesk.lib.secrets).
    app_id = models.CharField(
        _("app ID"), max_length=200, blank=True,
        help_text=_("WeChat AppID, WeCom CorpID, DingTalk AppKey (Client ID), Feishu App ID"),
    )  # fmt: skip
    app_secret = EncryptedCharField(
        _("app secret"), max_length=300, blank=True,
        help_text=_("WeChat AppSecret, WeCom app Secret, DingTalk AppSecret (also signs its "
                    "callbacks), Feishu App Secret, Meta App Secret (signs WhatsApp and "
                    "Messenger webhooks)"),
    )  # fmt: skip
    token = EncryptedCharField(
        _("callback token"), max_length=200, blank=True,
        help_text=_("WeChat/WeCom callback Token, Feishu Verification Token, Telegram webhook "
                    "secret_token"),
    )  # fmt: skip
    encoding_aes_key = EncryptedCharField(
        _("encryption key"), max_length=200, blank=True,
        help_text=_("WeChat/WeCom EncodingAESKey (43 characters), Feishu Encrypt Key"),
    )  # fmt: skip
    bot_token = EncryptedCharField(
        _("bot token"), max_length=200, blank=True, help_text=_("Telegram bot token")
    )
    access_token = EncryptedCharField(
        _("access token"), max_length=600, blank=True,
        help_text=_("WhatsApp system user token, Messenger Page access token"),
    )  # fmt: skip
    verify_token = EncryptedCharField(
        _("verify token"), max_length=200, blank=True,
        help_text=_("WhatsApp/Messenger webhook verify token (hub.verify_token)"),
    )  # fmt: skip
    account_id = models.CharField(
        _("account ID"), max_length=100, blank=True,
        help_text=_("WhatsApp phone number ID, Messenger Page ID, WeCom AgentID, DingTalk "
                    "robot code"),
    )  # fmt: skip
    webhook_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    api_base = models.URLField(
        _("send API"), max_length=200, blank=True,
        help_text=_("The provider's API; empty for the real one."),
    )  # fmt: skip
    # Pull-based providers (WeChat Customer Service's kf/sync_msg): where the last pull ended.
    sync_cursor = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("messaging channel")

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.name}"

    def save(self, *args, **kwargs) -> None:
        if not self.api_base:
            from . import adapter_class

            self.api_base = adapter_class(self.provider).API_BASE
        super().save(*args, **kwargs)


class MessagingThread(TenantModel):
    """One ticket's conversation on a messaging channel: who it is with (the provider's user
    id, as on the contact's identity) and where replies go (`reply_to`: a chat or group id when
    that differs from the user id, e.g. a Telegram group or a Feishu group chat)."""

    channel = models.ForeignKey(MessagingChannel, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    identity = models.CharField(max_length=254)
    reply_to = models.CharField(max_length=254, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ticket"], name="messagingthread_ticket_uniq")
        ]
        indexes = [
            models.Index(fields=["tenant", "channel", "identity"], name="messagingthread_identity")
        ]

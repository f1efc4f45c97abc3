"""Messaging apps (WeChat, WeCom, DingTalk, Feishu, WhatsApp, Telegram, Messenger): one small
adapter per provider behind one interface (`base.Adapter`), feeding the one ingest service.

    webhook  /channels/<provider>/<token>/ ─► adapter.challenge / verify / parse
             ─► services.receive (open ticket of that user on that channel, else a new one)
    reply    tickets.tasks.deliver_message ─► delivery.send_reply ─► adapter.send
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .base import Adapter
    from .models import MessagingChannel

ADAPTERS = {
    "wechat": "channels_in.messaging.wechat.WeChat",
    "wecom": "channels_in.messaging.wecom.WeCom",
    "wechat_kf": "channels_in.messaging.wechat_kf.WeChatKF",
    "dingtalk": "channels_in.messaging.dingtalk.DingTalk",
    "feishu": "channels_in.messaging.feishu.Feishu",
    "whatsapp": "channels_in.messaging.whatsapp.WhatsApp",
    "telegram": "channels_in.messaging.telegram.Telegram",
    "messenger": "channels_in.messaging.messenger.Messenger",
}


def adapter_class(provider: str) -> type[Adapter]:
    if provider not in ADAPTERS:
        raise LookupError(f"No messaging adapter for {provider!r}.")
    return import_string(ADAPTERS[provider])


def adapter_for(channel: MessagingChannel) -> Adapter:
    return adapter_class(channel.provider)(channel)

"""channels_in URLs: Settings › Channels (inside the shared "settings" namespace) and the
inbound webhooks under /channels/ (namespace "channels")."""

from django.urls import path

from . import views_chat, views_messaging_settings, views_settings, views_webform, views_webhook
from .messaging import urls as messaging_urls

settings_patterns = [
    path("channels/", views_settings.channels, name="channels"),
    path("channels/mailboxes/<int:mailbox_id>/", views_settings.mailbox_edit, name="mailbox_edit"),
    path("channels/messaging/new/", views_messaging_settings.messaging_new, name="messaging_new"),
    path(
        "channels/messaging/<int:channel_id>/",
        views_messaging_settings.messaging_edit,
        name="messaging_edit",
    ),
    path(
        "channels/messaging/<int:channel_id>/active/",
        views_messaging_settings.messaging_active,
        name="messaging_active",
    ),
    path(
        "channels/messaging/<int:channel_id>/delete/",
        views_messaging_settings.messaging_delete,
        name="messaging_delete",
    ),
    path("channels/unprocessed/", views_settings.unprocessed, name="unprocessed"),
    path(
        "channels/unprocessed/<int:inbound_id>/raw/",
        views_settings.inbound_raw,
        name="inbound_raw",
    ),
    path(
        "channels/unprocessed/<int:inbound_id>/retry/",
        views_settings.inbound_retry,
        name="inbound_retry",
    ),
]

webhook_patterns = [
    path("email/<str:webhook_token>/", views_webhook.email_webhook, name="email_webhook"),
    path("chat/config/", views_chat.config, name="chat_config"),
    path("chat/start/", views_chat.start, name="chat_start"),
    path("chat/offline/", views_chat.offline, name="chat_offline"),
    path("chat/<str:session_token>/messages/", views_chat.messages, name="chat_messages"),
    path("chat/<str:session_token>/transcript/", views_chat.transcript, name="chat_transcript"),
]
webhook_patterns += messaging_urls.urlpatterns  # /channels/<provider>/<channel_token>/

# /portal/… (namespace "portal"): anyone may submit a request.
portal_patterns = [
    path("requests/new/", views_webform.request_new, name="request_new"),
    path("requests/thanks/", views_webform.request_thanks, name="request_thanks"),
]

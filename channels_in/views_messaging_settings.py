"""Settings › Channels › Messaging apps (administrators): connect a WeChat Official Account,
WeChat Customer Service, WeCom app, DingTalk robot, Feishu app, WhatsApp number, Telegram bot or
Facebook Page; edit its credentials (secrets are write-only); pause, resume or remove it.

    /settings/channels/messaging/new/?provider=<p>       the form for that provider (a chooser
                                                          without one)
    /settings/channels/messaging/<id>/                   edit, with the callback URL to paste
    /settings/channels/messaging/<id>/active/    POST    pause / resume
    /settings/channels/messaging/<id>/delete/    GET     confirm; POST removes
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Max, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.accounts.decorators import ADMINS, staff_required
from helpdesk.tenancy.resolve import tenant_base_url

from . import admin_services
from .forms import MESSAGING_FIELDS, MessagingChannelForm
from .messaging.models import MessagingThread
from .models import MessagingChannel

# Where each provider's console takes the callback URL (and the secrets we check it with).
CONSOLE_HINTS = {
    "wechat": gettext_lazy(
        "WeChat Official Accounts Platform › Settings and development › Basic configuration › "
        "Server configuration: paste the URL, the Token and the EncodingAESKey; choose safe mode."
    ),
    "wechat_kf": gettext_lazy(
        "WeCom admin console › WeChat Customer Service › API: set the callback URL, Token and "
        "EncodingAESKey, and manage the customer service accounts through the API."
    ),
    "wecom": gettext_lazy(
        "WeCom admin console › Apps › your app › Receive messages › Set API receive: paste the "
        "URL, the Token and the EncodingAESKey."
    ),
    "dingtalk": gettext_lazy(
        "DingTalk developer console › your app › Robot › Message receiving mode HTTP: paste the "
        "URL as the message receiving address."
    ),
    "feishu": gettext_lazy(
        "Feishu developer console › your app › Events and callbacks › Event configuration: paste "
        "the URL as the request URL and add the event im.message.receive_v1."
    ),
    "whatsapp": gettext_lazy(
        "Meta for Developers › your app › WhatsApp › Configuration › Webhook: paste the URL as "
        "the callback URL with your verify token, and subscribe to messages."
    ),
    "telegram": gettext_lazy(
        "Register the URL with the Bot API's setWebhook, passing your webhook secret token as "
        "secret_token:"
    ),
    "messenger": gettext_lazy(
        "Meta for Developers › your app › Messenger › Settings › Webhooks: paste the URL as the "
        "callback URL with your verify token, and subscribe the Page to messages."
    ),
}


def messaging_channel_list() -> list[MessagingChannel]:
    """The tenant's channels for the Channels page, with the time of each one's last message
    (one query; the secret columns are not read)."""
    last = (
        MessagingThread.objects.filter(channel=OuterRef("pk"))
        .order_by()
        .values("channel")
        .annotate(last=Max("updated_at"))
        .values("last")
    )
    return list(
        MessagingChannel.objects.only("id", "provider", "name", "is_active", "created_at")
        .annotate(last_message_at=Subquery(last))
        .order_by("provider", "name", "id")[:200]
    )


def _channel(channel_id: int) -> MessagingChannel:
    found = MessagingChannel.objects.filter(pk=channel_id).first()  # scoped: others' are a 404
    if found is None:
        raise Http404
    return found


def callback_url(tenant, channel: MessagingChannel) -> str:
    """The address the provider calls, on the tenant's public host."""
    path = reverse(
        "channels:messaging_webhook",
        kwargs={"provider": channel.provider, "channel_token": channel.webhook_token},
    )
    return tenant_base_url(tenant) + path


def messaging_providers() -> list[tuple[str, str]]:
    return [(value, label) for value, label in MessagingChannel.Provider.choices
            if value in MESSAGING_FIELDS]  # fmt: skip


def _form_page(request: HttpRequest, form: MessagingChannelForm, channel: MessagingChannel):
    context = {
        "nav_active": "settings",
        "form": form,
        "channel": channel,
        "provider_label": channel.get_provider_display(),
        "callback_url": callback_url(request.tenant, channel) if channel.pk else "",
        "console_hint": CONSOLE_HINTS.get(channel.provider, ""),
    }
    return render(request, "channels_in/messaging_edit.html", context,
                  status=422 if form.errors else 200)  # fmt: skip


def _save(request: HttpRequest, form: MessagingChannelForm) -> MessagingChannel | None:
    try:
        return admin_services.messaging_channel_save(
            channel=form.save(commit=False), actor=request.user, secrets=form.secrets
        )
    except admin_services.ChannelError as error:
        form.add_error(None, str(error))
        return None


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def messaging_new(request: HttpRequest) -> HttpResponse:
    provider = request.GET.get("provider", "")
    if provider not in MESSAGING_FIELDS:
        context = {"nav_active": "settings", "providers": messaging_providers()}
        return render(request, "channels_in/messaging_providers.html", context)
    channel = MessagingChannel(provider=provider)
    form = MessagingChannelForm(request.POST or None, instance=channel, provider=provider)
    if request.method == "POST" and form.is_valid() and (saved := _save(request, form)):
        messages.success(
            request,
            _("%(name)s is connected. Now paste the callback URL into the provider's console.")
            % {"name": saved.name},
        )
        return redirect("settings:messaging_edit", channel_id=saved.pk)
    return _form_page(request, form, channel)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def messaging_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(channel_id)
    form = MessagingChannelForm(request.POST or None, instance=channel, provider=channel.provider)
    if request.method == "POST" and form.is_valid() and _save(request, form):
        messages.success(request, _("%(name)s saved.") % {"name": channel.name})
        return redirect("settings:messaging_edit", channel_id=channel.pk)
    return _form_page(request, form, channel)


@staff_required(*ADMINS)
@require_POST
def messaging_active(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(channel_id)
    active = request.POST.get("active") == "1"
    admin_services.messaging_channel_set_active(channel=channel, actor=request.user, active=active)
    if active:
        messages.success(request, _("%(name)s is active again.") % {"name": channel.name})
    else:
        messages.success(
            request,
            _("%(name)s is paused: messages sent to it are refused until you resume it.")
            % {"name": channel.name},
        )
    return redirect("settings:messaging_edit", channel_id=channel.pk)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def messaging_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(channel_id)
    if request.method == "POST":
        admin_services.messaging_channel_delete(channel=channel, actor=request.user)
        messages.success(request, _("%(name)s removed.") % {"name": channel.name})
        return redirect("settings:channels")
    context = {"nav_active": "settings", "channel": channel}
    return render(request, "channels_in/messaging_delete.html", context)

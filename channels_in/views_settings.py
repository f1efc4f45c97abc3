"""Settings › Channels (administrators): mailboxes (IMAP, SMTP/webhook forwarding), inbound
mail settings, and the mail that could not be processed, with its raw source and a retry. The
messaging apps' pages are in views_messaging_settings; their list shows here."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.accounts.decorators import ADMINS, staff_required
from helpdesk.lib.params import int_param
from tickets.outbound import support_address

from . import admin_services
from .chat import chat_settings
from .forms import ChannelSettingsForm, ChatSettingsForm, MailboxForm
from .ingest import channel_settings
from .models import InboundEmail, Mailbox
from .views_messaging_settings import messaging_channel_list, messaging_providers

PAGE_SIZE = 50


def _mailbox(mailbox_id: int) -> Mailbox:
    found = Mailbox.objects.filter(pk=mailbox_id).first()  # scoped: another tenant's is a 404
    if found is None:
        raise Http404
    return found


def _inbound(inbound_id: int) -> InboundEmail:
    found = InboundEmail.objects.filter(pk=inbound_id).defer("raw").first()
    if found is None:
        raise Http404
    return found


def _webhook_url(request: HttpRequest, mailbox: Mailbox) -> str:
    path = reverse("channels:email_webhook", kwargs={"webhook_token": mailbox.webhook_token})
    return request.build_absolute_uri(path)


def _save_mailbox(request: HttpRequest, form: MailboxForm) -> bool:
    mailbox = form.save(commit=False)
    try:
        admin_services.mailbox_save(
            mailbox=mailbox, actor=request.user, password=form.cleaned_data.get("imap_password", "")
        )
    except admin_services.ChannelError as error:
        form.add_error("address", str(error))
        return False
    return True


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def channels(request: HttpRequest) -> HttpResponse:
    current = channel_settings()
    form = MailboxForm(request.POST if "add_mailbox" in request.POST else None)
    settings_form = ChannelSettingsForm(
        request.POST if "save_settings" in request.POST else None, instance=current
    )
    if "add_mailbox" in request.POST and form.is_valid() and _save_mailbox(request, form):
        messages.success(
            request, _("Mailbox %(address)s added.") % {"address": form.instance.address}
        )
        return redirect("settings:channels")
    chat_form = ChatSettingsForm(
        request.POST if "save_chat" in request.POST else None, instance=chat_settings()
    )
    if "save_chat" in request.POST and chat_form.is_valid():
        admin_services.chat_settings_save(settings=chat_form.save(commit=False), actor=request.user)
        messages.success(request, _("Live chat settings saved."))
        return redirect("settings:channels")
    if "save_settings" in request.POST and settings_form.is_valid():
        admin_services.channel_settings_save(settings=settings_form.save(commit=False),
                                             actor=request.user)  # fmt: skip
        messages.success(request, _("Inbound mail settings saved."))
        return redirect("settings:channels")
    mailboxes = list(Mailbox.objects.order_by("address")[:200])
    for mailbox in mailboxes:
        mailbox.webhook_url = _webhook_url(request, mailbox)
    context = {
        "nav_active": "settings",
        "form": form,
        "settings_form": settings_form,
        "chat_form": chat_form,
        "widget_src": request.build_absolute_uri(static("widget.js")),
        "mailboxes": mailboxes,
        "messaging_channels": messaging_channel_list(),
        "messaging_providers": messaging_providers(),
        "support_address": support_address(),
        "smtp_port": getattr(settings, "HELPDESK_SMTPD_PORT", 2525),
        "failed_count": InboundEmail.objects.filter(status=InboundEmail.Status.FAILED)
        .order_by()[:1000]
        .count(),
    }
    errors = form.errors or settings_form.errors or chat_form.errors
    return render(
        request, "channels_in/settings_channels.html", context, status=422 if errors else 200
    )


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def mailbox_edit(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _mailbox(mailbox_id)
    if request.method == "POST" and "delete" in request.POST:
        admin_services.mailbox_delete(mailbox=mailbox, actor=request.user)
        messages.success(request, _("Mailbox %(address)s removed.") % {"address": mailbox.address})
        return redirect("settings:channels")
    form = MailboxForm(request.POST or None, instance=mailbox)
    if request.method == "POST" and form.is_valid() and _save_mailbox(request, form):
        messages.success(request, _("Mailbox %(address)s saved.") % {"address": mailbox.address})
        return redirect("settings:channels")
    context = {
        "nav_active": "settings",
        "form": form,
        "mailbox": mailbox,
        "webhook_url": _webhook_url(request, mailbox),
    }
    return render(request, "channels_in/settings_mailbox.html", context,
                  status=422 if form.errors else 200)  # fmt: skip


@staff_required(*ADMINS)
def unprocessed(request: HttpRequest) -> HttpResponse:
    """Mail that could not be processed, newest first, a bounded page at a time."""
    number = int_param(request, "page", 1)
    rows = list(
        InboundEmail.objects.filter(status=InboundEmail.Status.FAILED)
        .defer("raw")
        .order_by("-received_at", "-id")[(number - 1) * PAGE_SIZE : number * PAGE_SIZE + 1]
    )
    context = {
        "nav_active": "settings",
        "rows": rows[:PAGE_SIZE],
        "page_number": number,
        "has_next": len(rows) > PAGE_SIZE,
    }
    return render(request, "channels_in/unprocessed.html", context)


@staff_required(*ADMINS)
def inbound_raw(request: HttpRequest, inbound_id: int) -> HttpResponse:
    """The message exactly as delivered, as a download (never rendered by the browser)."""
    inbound = _inbound(inbound_id)
    raw = InboundEmail.objects.filter(pk=inbound.pk).values_list("raw", flat=True).get()
    response = HttpResponse(bytes(raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="inbound-{inbound.pk}.eml"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_required(*ADMINS)
@require_POST
def inbound_retry(request: HttpRequest, inbound_id: int) -> HttpResponse:
    inbound = InboundEmail.objects.filter(pk=inbound_id).first()
    if inbound is None:
        raise Http404
    try:
        result = admin_services.inbound_retry(inbound=inbound, actor=request.user)
    except admin_services.ChannelError as error:
        messages.error(request, str(error))
        return redirect("settings:unprocessed")
    if result.status == InboundEmail.Status.FAILED:
        first_line = result.error.splitlines()[0] if result.error else "?"
        messages.error(request, _("Still not processed: %(error)s") % {"error": first_line})
    elif result.ticket_id:
        messages.success(request, _("Processed onto ticket #%(n)s.") % {"n": result.ticket.number})
    else:
        messages.success(request, _("Processed."))
    return redirect("settings:unprocessed")

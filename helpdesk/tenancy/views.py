from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from helpdesk.accounts.decorators import ADMINS, staff_required

from . import services
from .forms import SignupForm, TenantSettingsForm
from .models import AuditEvent
from .resolve import tenant_base_url


def landing(request: HttpRequest) -> HttpResponse:
    """The bare base domain: what the product is, and a way to start a help desk."""
    return render(request, "tenancy/landing.html", {"form": SignupForm()})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant = services.tenant_signup(**data)
        except services.SignupError:
            form.add_error(
                "password",
                _("This email already has an account: enter that account's password."),
            )
        else:
            port = request.get_port()
            url = tenant_base_url(tenant, scheme=request.scheme, port=port) + "/accounts/login/"
            return HttpResponseRedirect(url)
    return render(request, "tenancy/signup.html", {"form": form})


@staff_required(*ADMINS)
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "tenancy/settings_index.html", {"nav_active": "settings"})


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def settings_general(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = TenantSettingsForm.for_tenant(tenant, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        old_logo = tenant.logo.name
        services.tenant_update_settings(tenant=tenant, actor=request.user,
                                        **form.settings_fields())  # fmt: skip
        if old_logo and tenant.logo.name != old_logo:  # replaced or removed: drop the old file
            storage = tenant.logo.storage
            transaction.on_commit(lambda: storage.delete(old_logo))
        messages.success(request, _("Settings saved."))
        return HttpResponseRedirect(request.path)
    return render(
        request, "tenancy/settings_general.html", {"form": form, "nav_active": "settings"}
    )


@staff_required(*ADMINS)
def settings_security(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.select_related("actor")
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(id__lt=int(before))
    page = list(events.order_by("-id")[:51])
    context = {
        "events": page[:50],
        "next_before": page[49].id if len(page) > 50 else None,
        "nav_active": "settings",
    }
    return render(request, "tenancy/settings_security.html", context)

"""Settings › Users: the tenant's staff, their roles, invitations and removal."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.lib.params import int_param

from .decorators import ADMINS, staff_required
from .forms import InviteForm, RoleForm
from .selectors import member_list
from .services import (
    AccountError,
    member_change_role,
    member_deactivate,
    member_invite,
    member_reactivate,
)

PAGE_SIZE = 50


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def users(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member_invite(actor=request.user, **form.cleaned_data)
        except AccountError as error:
            form.add_error("email", str(error))
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
            )
            return redirect("settings:users")
    members = member_list()
    query = request.GET.get("q", "").strip()
    if query:
        members = members.filter(user__email__icontains=query) | members.filter(
            user__full_name__icontains=query
        )
    offset = (int_param(request, "page", 1) - 1) * PAGE_SIZE
    rows = list(members[offset : offset + PAGE_SIZE + 1])
    context = {
        "form": form,
        "members": rows[:PAGE_SIZE],
        "role_form": RoleForm(),
        "query": query,
        "page_number": offset // PAGE_SIZE + 1,
        "has_next": len(rows) > PAGE_SIZE,
        "nav_active": "settings",
    }
    template = "accounts/members.html#member-list" if request.htmx else "accounts/members.html"
    return render(request, template, context)


def _member_action(request: HttpRequest, membership_id: int, action) -> HttpResponse:
    membership = get_object_or_404(member_list(), pk=membership_id)
    try:
        action(membership)
    except AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Saved."))
    return redirect("settings:users")


def _change_role(request: HttpRequest, membership) -> None:
    form = RoleForm(request.POST)
    if not form.is_valid():
        raise AccountError(_("Choose a valid role."))
    member_change_role(membership=membership, role=form.cleaned_data["role"], actor=request.user)


@staff_required(*ADMINS)
@require_POST
def user_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _member_action(request, membership_id, lambda m: _change_role(request, m))


@staff_required(*ADMINS)
@require_POST
def user_deactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _member_action(
        request, membership_id, lambda m: member_deactivate(membership=m, actor=request.user)
    )


@staff_required(*ADMINS)
@require_POST
def user_reactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _member_action(
        request, membership_id, lambda m: member_reactivate(membership=m, actor=request.user)
    )

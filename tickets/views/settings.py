"""Settings › canned responses, teams (tier 1/2/3) and their members, custom fields.

Administrators only. Each list page also holds its "create" form; each object has an edit page.
Writes go through tickets.admin_services, which records every change in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.accounts.decorators import ADMINS, staff_required
from helpdesk.accounts.models import User
from helpdesk.accounts.selectors import member_list
from helpdesk.lib.params import int_param
from tickets import admin_services as services
from tickets.forms_admin import CannedForm, CustomFieldForm, TeamForm, TeamMemberForm
from tickets.models import CannedResponse, CustomField, Team, TeamMember

PAGE_SIZE = 50
MEMBER_LIMIT = 500


def _page(request: HttpRequest, qs: QuerySet) -> dict[str, Any]:
    """A bounded page of a small settings list (offset is fine at this size)."""
    number = int_param(request, "page", 1)
    offset = (number - 1) * PAGE_SIZE
    rows = list(qs[offset : offset + PAGE_SIZE + 1])
    return {"rows": rows[:PAGE_SIZE], "page_number": number, "has_next": len(rows) > PAGE_SIZE}


def _render(request: HttpRequest, template: str, context: dict, form) -> HttpResponse:
    context = {"nav_active": "settings", "form": form, **context}
    return render(request, template, context, status=422 if form.errors else 200)


def _visible_canned(request: HttpRequest) -> QuerySet[CannedResponse]:
    """Shared responses and the administrator's own (others' personal ones stay private)."""
    return CannedResponse.objects.filter(Q(owner__isnull=True) | Q(owner=request.user))


# --- Canned responses -----------------------------------------------------------------------


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def canned(request: HttpRequest) -> HttpResponse:
    form = CannedForm(request.POST or None, initial={"shared": True})
    if request.method == "POST" and form.is_valid():
        services.canned_create(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Saved “%(title)s”.") % {"title": form.cleaned_data["title"]})
        return redirect("settings:canned")
    rows = _visible_canned(request).order_by(F("owner_id").asc(nulls_first=True), "title")
    context = {"mode": "settings", **_page(request, rows)}
    return _render(request, "tickets/settings_canned.html", context, form)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def canned_edit(request: HttpRequest, canned_id: int) -> HttpResponse:
    item = get_object_or_404(_visible_canned(request), pk=canned_id)
    form = CannedForm.for_canned(item, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.canned_update(canned=item, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Saved “%(title)s”.") % {"title": item.title})
        return redirect("settings:canned")
    context = {"mode": "settings", "canned": item}
    return _render(request, "tickets/settings_canned_edit.html", context, form)


@staff_required(*ADMINS)
@require_POST
def canned_delete(request: HttpRequest, canned_id: int) -> HttpResponse:
    item = get_object_or_404(_visible_canned(request), pk=canned_id)
    services.canned_delete(canned=item, actor=request.user)
    messages.success(request, _("Deleted “%(title)s”.") % {"title": item.title})
    return redirect("settings:canned")


# --- Teams ----------------------------------------------------------------------------------


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def teams(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=request.user, **form.cleaned_data)
        except services.AdminError as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, _("Created the team “%(name)s”.") % {"name": team.name})
            return redirect("settings:team_edit", team_id=team.pk)
    rows = Team.objects.annotate(member_count=Count("members")).order_by("tier", "name")
    return _render(request, "tickets/settings_teams.html", _page(request, rows), form)


def _staff_not_in(team: Team) -> list[User]:
    taken = TeamMember.objects.filter(team=team).values("user_id")
    memberships = member_list().filter(is_active=True).exclude(user_id__in=taken)
    return [m.user for m in memberships[:MEMBER_LIMIT]]


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    """The team's settings (POST) and its members (POST with `action=add_member`)."""
    team = get_object_or_404(Team, pk=team_id)
    adding = request.POST.get("action") == "add_member"
    form = TeamForm.for_team(team, None if adding else request.POST or None)
    member_form = TeamMemberForm(request.POST if adding else None, candidates=_staff_not_in(team))
    if request.method == "POST":
        bound = member_form if adding else form
        if bound.is_valid():
            try:
                if adding:
                    services.team_add_member(team=team, actor=request.user, **bound.cleaned_data)
                else:
                    services.team_update(team=team, actor=request.user, **bound.cleaned_data)
            except services.AdminError as error:
                bound.add_error(None, str(error))
            else:
                messages.success(request, _("Saved."))
                return redirect("settings:team_edit", team_id=team.pk)
    members = TeamMember.objects.filter(team=team).select_related("user")
    context = {
        "team": team,
        "members": list(members.order_by("user__full_name", "user__email")[:MEMBER_LIMIT]),
        "member_form": member_form,
    }
    response = _render(request, "tickets/settings_team_edit.html", context, form)
    if member_form.errors:
        response.status_code = 422
    return response


@staff_required(*ADMINS)
@require_POST
def team_member_remove(request: HttpRequest, team_id: int, member_id: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=team_id)
    member = get_object_or_404(TeamMember.objects.select_related("user", "team"), pk=member_id,
                               team=team)  # fmt: skip
    services.team_remove_member(member=member, actor=request.user)
    messages.success(
        request,
        _("Removed %(name)s from %(team)s.")
        % {"name": member.user.get_full_name() or member.user.email, "team": team.name},
    )
    return redirect("settings:team_edit", team_id=team.pk)


# --- Custom fields --------------------------------------------------------------------------


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def fields(request: HttpRequest) -> HttpResponse:
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["position"] = data["position"] or 0
        try:
            field = services.custom_field_create(actor=request.user, **data)
        except services.AdminError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Added the field “%(label)s”.") % {"label": field.label})
            return redirect("settings:fields")
    rows = CustomField.objects.order_by("position", "label")
    return _render(request, "tickets/settings_fields.html", _page(request, rows), form)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, field_id: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=field_id)
    form = CustomFieldForm.for_field(field, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "key"}
        data["position"] = data["position"] or 0
        try:
            services.custom_field_update(field=field, actor=request.user, **data)
        except services.AdminError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved the field “%(label)s”.") % {"label": field.label})
            return redirect("settings:fields")
    return _render(request, "tickets/settings_field_edit.html", {"custom_field": field}, form)

"""Settings › SLA policies, Business calendars and the what-if replay (docs/sla.md › Settings).

  /settings/sla/                         the policies in the order they are tried: move, pause,
                                         delete (after a question), new / edit
  /settings/sla/what-if/                 "Preview impact": the unsaved policy form replayed over
                                         the last 30 days of clocks (htmx fragment, or the whole
                                         form again without JavaScript); nothing is saved
  /settings/sla/calendars/…              calendars: hours, time zone, holidays, default, dates

Administrators only. Thin views: forms in sla.forms, writes in sla.admin_services, the replay
in sla.whatif.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.accounts.decorators import ADMINS, staff_required

from . import admin_services as services
from . import forms as sla_forms
from .forms import CalendarDateForm, CalendarForm, PolicyForm
from .models import BusinessCalendar, CalendarDate, SLAPolicy
from .public_holidays import official_dates
from .whatif import WhatIf, whatif_run

POLICIES = "sla/settings/policies.html"
POLICY_PAGE = "sla/settings/policy_edit.html"
CALENDARS = "sla/settings/calendars.html"
CALENDAR_PAGE = "sla/settings/calendar_edit.html"
CONFIRM = "sla/settings/confirm_delete.html"
MAX_DATES = 500


def _policy(policy_id: int) -> SLAPolicy:
    return get_object_or_404(SLAPolicy.objects.select_related("calendar"), pk=policy_id)


def _calendar(calendar_id: int) -> BusinessCalendar:
    return get_object_or_404(BusinessCalendar, pk=calendar_id)


# --- Policies ----------------------------------------------------------------------------------


def _policies_context() -> dict[str, Any]:
    rows = list(SLAPolicy.objects.select_related("calendar").order_by("position", "id")[:200])
    labels = sla_forms.condition_labels()
    for row in rows:
        row.when = sla_forms.conditions_text(row.conditions, row.match, labels)
        row.targets = sla_forms.targets_text(row)
        row.overridden = sla_forms.overridden_text(row)
    default = BusinessCalendar.objects.filter(is_default=True).first()
    return {"nav_active": "settings", "rows": rows, "default_calendar": default}


@staff_required(*ADMINS)
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    return render(request, POLICIES, _policies_context())


def _policies_changed(request: HttpRequest, policy: SLAPolicy) -> HttpResponse:
    if request.htmx:
        return render(request, f"{POLICIES}#policies", _policies_context())
    return redirect(f"{reverse('settings:sla')}#policy-{policy.pk}")


@staff_required(*ADMINS)
@require_POST
def policy_active(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = _policy(policy_id)
    active = request.POST.get("active") == "1"
    services.policy_set_active(policy=policy, actor=request.user, active=active)
    if not request.htmx:
        text = _("“%(name)s” is active.") if active else _("“%(name)s” is paused.")
        messages.success(request, text % {"name": policy.name})
    return _policies_changed(request, policy)


@staff_required(*ADMINS)
@require_POST
def policy_move(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = _policy(policy_id)
    direction = "up" if request.POST.get("direction") == "up" else "down"
    services.policy_move(policy=policy, actor=request.user, direction=direction)
    return _policies_changed(request, policy)


def _policy_context(form: PolicyForm, policy: SLAPolicy | None, **extra: Any) -> dict[str, Any]:
    return {"nav_active": "settings", "form": form, "policy": policy,
            "unshown": sla_forms.conditions_unshown(policy), **extra}  # fmt: skip


def _policy_page(request: HttpRequest, policy: SLAPolicy | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = PolicyForm.for_policy(policy, data)
    if data is not None and form.is_valid():
        try:
            saved = services.policy_save(actor=request.user, policy=policy, **form.policy_fields())
        except services.SettingsError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved the policy “%(name)s”.") % {"name": saved.name})
            return redirect(f"{reverse('settings:sla')}#policy-{saved.pk}")
    status = 422 if data is not None else 200
    return render(request, POLICY_PAGE, _policy_context(form, policy), status=status)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def policy_new(request: HttpRequest) -> HttpResponse:
    return _policy_page(request, None)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    return _policy_page(request, _policy(policy_id))


@staff_required(*ADMINS)
@require_POST
def policy_whatif(request: HttpRequest) -> HttpResponse:
    """The unsaved form replayed over recent clocks; the form comes back as typed."""
    raw_id = request.POST.get("policy_id", "")
    policy = _policy(int(raw_id)) if raw_id.isdigit() else None
    if raw_id and policy is None:
        raise Http404
    form = PolicyForm.for_policy(policy, request.POST)
    context = _policy_context(form, policy, previewing=True)
    if form.is_valid():
        fields = form.policy_fields()
        fields["name"] = " ".join(fields["name"].split()) or _("This policy")
        unsaved = SLAPolicy(pk=policy.pk if policy else None,
                            position=policy.position if policy else 0, **fields)  # fmt: skip
        context.update(_whatif_context(whatif_run(unsaved)))
    if request.htmx:  # htmx swaps 200s only: the fragment says what to correct
        return render(request, f"{POLICY_PAGE}#whatif", context)
    return render(request, POLICY_PAGE, context, status=200 if form.is_valid() else 422)


def _whatif_context(result: WhatIf) -> dict[str, Any]:
    labels = sla_forms.TARGET_LABELS
    for row in result.kinds:
        row.label = labels.get(row.kind, row.kind)
    examples = [{"number": f.row.ticket_number, "subject": f.row.subject,
                 "kind": labels.get(f.row.kind, f.row.kind), "before": f.before,
                 "after": f.after, "moved": f.before.policy != f.after.policy}
                for f in result.examples]  # fmt: skip
    return {"whatif": result, "whatif_rows": result.kinds, "whatif_examples": examples}


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    """GET: are you sure? POST: delete."""
    policy = _policy(policy_id)
    if request.method == "POST":
        services.policy_delete(policy=policy, actor=request.user)
        messages.success(request, _("Deleted the policy “%(name)s”.") % {"name": policy.name})
        return redirect("settings:sla")
    context = {
        "nav_active": "settings",
        "name": policy.name,
        "title": _("Delete the SLA policy “%(name)s”?") % {"name": policy.name},
        "back": reverse("settings:sla_edit", kwargs={"policy_id": policy.pk}),
        "parent": (reverse("settings:sla"), _("SLA policies")),
        "consequence": _(
            "New tickets no longer get its targets; the next policy that matches applies. "
            "Clocks already running keep their deadlines until the ticket next changes."
        ),
    }
    return render(request, CONFIRM, context)


# --- Calendars ---------------------------------------------------------------------------------


@staff_required(*ADMINS)
@require_GET
def calendar_list(request: HttpRequest) -> HttpResponse:
    rows = list(BusinessCalendar.objects.annotate(used_by=Count("policies"))
                .order_by("-is_default", "name")[:200])  # fmt: skip
    for row in rows:
        row.summary = sla_forms.weekly_text(row)
        row.country = sla_forms.country_name(row.holiday_country) if row.holiday_country else ""
    return render(request, CALENDARS, {"nav_active": "settings", "rows": rows})


def _official(calendar: BusinessCalendar | None) -> list[dict[str, Any]]:
    """The country's official dates this year and next, for reading: runs of consecutive
    days of one kind as one row (a 9-day Spring Festival break is one line), named after the
    name most of its days carry."""
    if calendar is None or not calendar.holiday_country:
        return []
    from collections import Counter

    from helpdesk.lib import clock

    year = clock.now().year
    found = official_dates(calendar.holiday_country, (year, year + 1))
    runs: list[dict[str, Any]] = []
    for day, official in sorted(found.items()):
        if day.year not in (year, year + 1):
            continue
        last = runs[-1] if runs else None
        if last and last["kind"] == official.kind and (day - last["end"]).days == 1:
            last["end"] = day
            last["names"].append(official.name)
        else:
            runs.append({"start": day, "end": day, "kind": official.kind, "names": [official.name]})
    for run in runs:
        run["days"] = (run["end"] - run["start"]).days + 1
        run["name"] = Counter(run.pop("names")).most_common(1)[0][0]
    return runs


def _calendar_context(form: CalendarForm, calendar: BusinessCalendar | None,
                      date_form: CalendarDateForm | None = None) -> dict[str, Any]:  # fmt: skip
    context: dict[str, Any] = {"nav_active": "settings", "form": form, "calendar": calendar}
    if calendar is not None:
        context["dates"] = list(CalendarDate.objects.filter(calendar=calendar)
                                .order_by("date")[:MAX_DATES])  # fmt: skip
        context["date_form"] = date_form or CalendarDateForm()
        context["official"] = _official(calendar)
        context["country_name"] = sla_forms.country_name(calendar.holiday_country)
        context["users"] = services.calendar_users(calendar)
    return context


def _calendar_page(request: HttpRequest, calendar: BusinessCalendar | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = CalendarForm.for_calendar(calendar, data)
    if data is not None and form.is_valid():
        try:
            saved = services.calendar_save(actor=request.user, calendar=calendar,
                                           **form.calendar_fields())  # fmt: skip
        except services.SettingsError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved the calendar “%(name)s”.") % {"name": saved.name})
            if calendar is None:  # on to its dates
                return redirect("settings:sla_calendar_edit", calendar_id=saved.pk)
            return redirect(f"{reverse('settings:sla_calendars')}#calendar-{saved.pk}")
    status = 422 if data is not None else 200
    return render(request, CALENDAR_PAGE, _calendar_context(form, calendar), status=status)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def calendar_new(request: HttpRequest) -> HttpResponse:
    return _calendar_page(request, None)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def calendar_edit(request: HttpRequest, calendar_id: int) -> HttpResponse:
    return _calendar_page(request, _calendar(calendar_id))


@staff_required(*ADMINS)
@require_POST
def calendar_default(request: HttpRequest, calendar_id: int) -> HttpResponse:
    calendar = _calendar(calendar_id)
    services.calendar_set_default(calendar=calendar, actor=request.user)
    messages.success(request, _("“%(name)s” is the default calendar.") % {"name": calendar.name})
    return redirect(f"{reverse('settings:sla_calendars')}#calendar-{calendar.pk}")


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def calendar_delete(request: HttpRequest, calendar_id: int) -> HttpResponse:
    """GET: are you sure (or why not)? POST: delete, refused while policies use it."""
    calendar = _calendar(calendar_id)
    blocked = ""
    if request.method == "POST":
        try:
            services.calendar_delete(calendar=calendar, actor=request.user)
        except services.SettingsError as error:
            blocked = str(error)
        else:
            messages.success(
                request, _("Deleted the calendar “%(name)s”.") % {"name": calendar.name}
            )
            return redirect("settings:sla_calendars")
    users = services.calendar_users(calendar)
    if users and not blocked:
        blocked = services.calendar_in_use_message(users)
    consequence = _("Its dates go with it.")
    if calendar.is_default:
        consequence = _("It is the default calendar: policies without a calendar of their own "
                        "will count around the clock until you make another one the default. "
                        "Its dates go with it.")  # fmt: skip
    context = {
        "nav_active": "settings",
        "name": calendar.name,
        "title": _("Delete the calendar “%(name)s”?") % {"name": calendar.name},
        "back": reverse("settings:sla_calendar_edit", kwargs={"calendar_id": calendar.pk}),
        "parent": (reverse("settings:sla_calendars"), _("Business calendars")),
        "consequence": consequence,
        "blocked": blocked,
    }
    return render(request, CONFIRM, context, status=409 if blocked and request.method == "POST"
                  else 200)  # fmt: skip


@staff_required(*ADMINS)
@require_POST
def calendar_date_add(request: HttpRequest, calendar_id: int) -> HttpResponse:
    calendar = _calendar(calendar_id)
    date_form = CalendarDateForm(request.POST)
    if date_form.is_valid():
        data = date_form.cleaned_data
        try:
            services.calendar_date_add(
                actor=request.user,
                calendar=calendar,
                date=data["date"],
                kind=data["kind"],
                hours=data["hours"],
                name=data["name"],
            )
        except services.SettingsError as error:
            date_form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved %(date)s.") % {"date": _date_text(data["date"])})
            return redirect(f"{reverse('settings:sla_calendar_edit', args=[calendar.pk])}#dates")
    form = CalendarForm.for_calendar(calendar)
    context = _calendar_context(form, calendar, date_form)
    context["date_failed"] = True
    return render(request, CALENDAR_PAGE, context, status=422)


def _date_text(day: date) -> str:
    from django.utils.formats import date_format

    return date_format(day, "DATE_FORMAT")


@staff_required(*ADMINS)
@require_POST
def calendar_date_delete(request: HttpRequest, calendar_id: int, date_id: int) -> HttpResponse:
    calendar = _calendar(calendar_id)
    row = get_object_or_404(CalendarDate, pk=date_id, calendar=calendar)
    services.calendar_date_delete(actor=request.user, calendar=calendar, row=row)
    messages.success(request, _("Removed %(date)s.") % {"date": _date_text(row.date)})
    return redirect(f"{reverse('settings:sla_calendar_edit', args=[calendar.pk])}#dates")

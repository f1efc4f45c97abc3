"""Settings › Escalation policies and Alert rules (administrators), and the agent's
"Escalate" on a ticket.

  /settings/sla/escalations/…     the ordered policies: activate / pause, move, edit, delete
  /settings/sla/alerts/…          the alert rules, the same way
  /agent/tickets/<n>/escalate/    GET the small form (htmx: the fragment), POST escalate

Thin views: the writes are sla.escalation / sla.alerts services (audited); forms in
sla.forms_escalation.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from helpdesk.accounts.decorators import ADMINS, staff_required
from tickets.forms import form_token
from tickets.models import Team, Ticket

from . import alerts, escalation
from .forms_escalation import AlertRuleForm, EscalateForm, EscalationPolicyForm
from .models import AlertRule, EscalationPolicy

POLICIES = "sla/escalation/policies.html"
RULES = "sla/escalation/alerts.html"
DELETE = "tickets/routing/confirm_delete.html"


def _people() -> dict:
    from helpdesk.accounts.selectors import member_list

    return {m.user_id: m.user for m in member_list()[:500]}


# --- Escalation policies -------------------------------------------------------------------------


def _policies_context() -> dict[str, Any]:
    teams = {t.pk: t for t in Team.objects.all()[:200]}
    rows = list(EscalationPolicy.objects.select_related("to_team").order_by("position", "id"))
    for row in rows:
        row.when_text = escalation.policy_when_text(row, teams)
        row.then_text = escalation.policy_then_text(row)
    return {"nav_active": "settings", "rows": rows}


def _policy(escalation_id: int) -> EscalationPolicy:
    return get_object_or_404(EscalationPolicy, pk=escalation_id)


def _changed(request: HttpRequest, template: str, context: dict, url: str, pk: int) -> HttpResponse:
    if request.htmx:
        return render(request, f"{template}#rows", context)
    return redirect(f"{reverse(url)}#row-{pk}")


@staff_required(*ADMINS)
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    return render(request, POLICIES, _policies_context())


@staff_required(*ADMINS)
@require_POST
def policy_active(request: HttpRequest, escalation_id: int) -> HttpResponse:
    policy = _policy(escalation_id)
    active = request.POST.get("active") == "1"
    escalation.policy_set_active(policy=policy, actor=request.user, active=active)
    if not request.htmx:
        text = _("“%(name)s” is active.") if active else _("“%(name)s” is paused.")
        messages.success(request, text % {"name": policy.name})
    return _changed(request, POLICIES, _policies_context(), "settings:sla_escalations", policy.pk)


@staff_required(*ADMINS)
@require_POST
def policy_move(request: HttpRequest, escalation_id: int) -> HttpResponse:
    policy = _policy(escalation_id)
    direction = "up" if request.POST.get("direction") == "up" else "down"
    escalation.policy_move(policy=policy, actor=request.user, direction=direction)
    return _changed(request, POLICIES, _policies_context(), "settings:sla_escalations", policy.pk)


def _policy_page(request: HttpRequest, policy: EscalationPolicy | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = EscalationPolicyForm.for_policy(policy, data)
    if data is not None and form.is_valid():
        try:
            saved = escalation.policy_save(actor=request.user, policy=policy, **form.cleaned_data)
        except escalation.SettingsError as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, _("Saved the policy “%(name)s”.") % {"name": saved.name})
            return redirect(f"{reverse('settings:sla_escalations')}#row-{saved.pk}")
    context = {"nav_active": "settings", "form": form, "policy": policy}
    return render(request, "sla/escalation/policy_edit.html", context,
                  status=422 if data is not None else 200)  # fmt: skip


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def policy_new(request: HttpRequest) -> HttpResponse:
    return _policy_page(request, None)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, escalation_id: int) -> HttpResponse:
    return _policy_page(request, _policy(escalation_id))


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def policy_delete(request: HttpRequest, escalation_id: int) -> HttpResponse:
    policy = _policy(escalation_id)
    if request.method == "POST":
        escalation.policy_delete(policy=policy, actor=request.user)
        messages.success(request, _("Deleted the policy “%(name)s”.") % {"name": policy.name})
        return redirect("settings:sla_escalations")
    return render(request, DELETE, {
        "nav_active": "settings", "name": policy.name, "what": _("escalation policy"),
        "back": reverse("settings:sla_escalation_edit", kwargs={"escalation_id": policy.pk}),
        "parent": (reverse("settings:sla_escalations"), _("Escalation policies")),
        "consequence": _("Tickets are no longer escalated by it. Escalations it made stay on "
                         "the tickets' timelines."),
    })  # fmt: skip


# --- Alert rules --------------------------------------------------------------------------------


def _rules_context() -> dict[str, Any]:
    people = _people()
    rows = list(AlertRule.objects.order_by("position", "id"))
    for row in rows:
        row.when_text = alerts.rule_when_text(row)
        row.who_text = alerts.who_text(row.recipients, row.users, people)
        row.via_text = alerts.via_text(row.via)
        row.chain_text = alerts.rule_chain_text(row, people)
    return {"nav_active": "settings", "rows": rows}


def _rule(alert_rule_id: int) -> AlertRule:
    return get_object_or_404(AlertRule, pk=alert_rule_id)


@staff_required(*ADMINS)
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(request, RULES, _rules_context())


@staff_required(*ADMINS)
@require_POST
def rule_active(request: HttpRequest, alert_rule_id: int) -> HttpResponse:
    rule = _rule(alert_rule_id)
    active = request.POST.get("active") == "1"
    alerts.rule_set_active(rule=rule, actor=request.user, active=active)
    if not request.htmx:
        text = _("“%(name)s” is active.") if active else _("“%(name)s” is paused.")
        messages.success(request, text % {"name": rule.name})
    return _changed(request, RULES, _rules_context(), "settings:sla_alerts", rule.pk)


@staff_required(*ADMINS)
@require_POST
def rule_move(request: HttpRequest, alert_rule_id: int) -> HttpResponse:
    rule = _rule(alert_rule_id)
    direction = "up" if request.POST.get("direction") == "up" else "down"
    alerts.rule_move(rule=rule, actor=request.user, direction=direction)
    return _changed(request, RULES, _rules_context(), "settings:sla_alerts", rule.pk)


def _rule_page(request: HttpRequest, rule: AlertRule | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = AlertRuleForm.for_rule(rule, data)
    if data is not None and form.is_valid():
        try:
            saved = alerts.rule_save(actor=request.user, rule=rule, **form.rule_fields())
        except escalation.SettingsError as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, _("Saved the alert rule “%(name)s”.") % {"name": saved.name})
            return redirect(f"{reverse('settings:sla_alerts')}#row-{saved.pk}")
    context = {"nav_active": "settings", "form": form, "rule": rule}
    return render(request, "sla/escalation/alert_edit.html", context,
                  status=422 if data is not None else 200)  # fmt: skip


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def rule_new(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, alert_rule_id: int) -> HttpResponse:
    return _rule_page(request, _rule(alert_rule_id))


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, alert_rule_id: int) -> HttpResponse:
    rule = _rule(alert_rule_id)
    if request.method == "POST":
        alerts.rule_delete(rule=rule, actor=request.user)
        messages.success(request, _("Deleted the alert rule “%(name)s”.") % {"name": rule.name})
        return redirect("settings:sla_alerts")
    return render(request, DELETE, {
        "nav_active": "settings", "name": rule.name, "what": _("alert rule"),
        "back": reverse("settings:sla_alert_edit", kwargs={"alert_rule_id": rule.pk}),
        "parent": (reverse("settings:sla_alerts"), _("Alert rules")),
        "consequence": _("Nobody is alerted by it any more, and chains it started stop."),
    })  # fmt: skip


# --- The agent's "Escalate" --------------------------------------------------------------------


@staff_required()
@require_http_methods(["GET", "POST"])
def escalate(request: HttpRequest, number: int) -> HttpResponse:
    """GET: the form (htmx: just the fragment). POST: escalate, back to the ticket."""
    ticket = Ticket.objects.select_for_update(of=("self",)).filter(number=number).first() if (
        request.method == "POST") else Ticket.objects.filter(number=number).first()  # fmt: skip
    if ticket is None:
        raise Http404
    detail = reverse("tickets:detail", kwargs={"number": ticket.number})
    form = EscalateForm(request.POST if request.method == "POST" else None,
                        initial={"token": form_token()})  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            escalation.escalate_manually(ticket=ticket, actor=request.user,
                                         note=form.cleaned_data["note"],
                                         token=form.cleaned_data["token"])  # fmt: skip
        except escalation.EscalationError as error:
            form.add_error("note", str(error))
        else:
            messages.success(request, _("Escalated. The next tier has the ticket now."))
            shown = f"{detail}?timeline=1#ticket-timeline"  # the page with the new event
            if request.htmx:
                return HttpResponseClientRedirect(shown)
            return redirect(shown)
    context = {"nav_active": "inbox", "ticket": ticket, "form": form, "detail": detail}
    status = 422 if form.is_bound else 200
    if request.htmx:
        return render(request, "sla/escalation/escalate.html#form", context, status=status)
    return render(request, "sla/escalation/escalate.html", context, status=status)

"""Settings › Routing, Auto-replies and Agents, and every staff member's availability menu.

  /settings/routing/…          administrators: the ordered rules (activate, move, delete with a
                               confirmation), create / edit with the shared condition/action
                               builder, "test these rules" and "test this rule" (nothing saved)
  /settings/auto-replies/…     administrators: acknowledgement templates with a live preview
  /settings/agents/…           administrators: availability and capacity of each agent
  /settings/availability/      anyone on the staff: their own Online / Away / Offline

Thin views: the rules live in tickets.automation.admin_services (writes audited, tests and
previews read-only); the forms in tickets.automation.routing_forms.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.accounts.decorators import ADMINS, staff_required
from helpdesk.lib.params import int_param
from helpdesk.tenancy.models import Membership
from tickets.automation import admin_services as services
from tickets.automation import triggers
from tickets.automation.forms import RuleBuilder
from tickets.automation.models import AutoReply, RoutingRule
from tickets.automation.routing_forms import (
    AgentForm,
    AutoReplyForm,
    AvailabilityForm,
    RoutingRuleForm,
    RoutingTestForm,
)
from tickets.models import Team

PAGE_SIZE = 50
RULES = "tickets/routing/list.html"
RULE_PAGE = "tickets/routing/edit.html"
REPLY_PAGE = "tickets/autoreply/edit.html"


def _page(request: HttpRequest, qs: QuerySet) -> dict[str, Any]:
    number = int_param(request, "page", 1)
    offset = (number - 1) * PAGE_SIZE
    rows = list(qs[offset : offset + PAGE_SIZE + 1])
    return {"rows": rows[:PAGE_SIZE], "page_number": number, "has_next": len(rows) > PAGE_SIZE}


def _rule(rule_id: int) -> RoutingRule:
    return get_object_or_404(RoutingRule, pk=rule_id)


# --- Settings › Routing ----------------------------------------------------------------------


def _rules_context(request: HttpRequest) -> dict[str, Any]:
    context = {"nav_active": "settings", **_page(request, RoutingRule.objects.all())}
    people, teams = _names()
    choices: dict = {}
    for row in context["rows"]:
        row.when = services.conditions_text(row.conditions, row.match, choices)
        row.does = triggers.describe_actions(row.actions, people, teams)
    context["teams"] = Team.objects.order_by("tier", "name")[:200]
    return context


def _names() -> tuple[dict, dict]:
    """People and teams by id, for the action summaries (two small queries)."""
    from helpdesk.accounts.selectors import member_list

    people = {m.user_id: m.user for m in member_list()[:500]}
    return people, {t.pk: t for t in Team.objects.all()[:200]}


@staff_required(*ADMINS)
@require_GET
def routing_list(request: HttpRequest) -> HttpResponse:
    return render(request, RULES, _rules_context(request))


def _rules_changed(request: HttpRequest, rule: RoutingRule) -> HttpResponse:
    """After activate / move: htmx swaps the list in place; otherwise back to the rule's row."""
    if request.htmx:
        return render(request, f"{RULES}#rules", _rules_context(request))
    page = int_param(request, "page", 1)
    query = f"?page={page}" if page > 1 else ""
    return redirect(f"{reverse('settings:routing')}{query}#rule-{rule.pk}")


@staff_required(*ADMINS)
@require_POST
def routing_active(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(rule_id)
    active = request.POST.get("active") == "1"
    services.routing_rule_set_active(rule=rule, actor=request.user, active=active)
    if not request.htmx:
        text = _("“%(name)s” is active.") if active else _("“%(name)s” is paused.")
        messages.success(request, text % {"name": rule.name})
    return _rules_changed(request, rule)


@staff_required(*ADMINS)
@require_POST
def routing_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(rule_id)
    direction = "up" if request.POST.get("direction") == "up" else "down"
    services.routing_rule_move(rule=rule, actor=request.user, direction=direction)
    return _rules_changed(request, rule)


def _test_context(test_form: RoutingTestForm, only: RoutingRule | None = None) -> dict:
    """Run the test when the form is valid (reads only) and say what would happen."""
    if not test_form.is_valid():
        return {"test_form": test_form, "result": None}
    facts = services.facts_from(**test_form.cleaned_data)
    return {"test_form": test_form, "result": services.routing_test(facts, only=only)}


def _rule_page(request: HttpRequest, rule: RoutingRule | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    testing = data is not None and "test-run" in data
    form = RoutingRuleForm.for_rule(rule, data)
    builder = RuleBuilder(
        data,
        conditions=rule.conditions if rule else (),
        actions=rule.actions if rule else (),
        match=rule.match if rule else "all",
        action_set="routing",
    )
    context: dict[str, Any] = {"nav_active": "settings", "form": form, "builder": builder,
                               "rule": rule, "testing": testing}  # fmt: skip
    if testing:
        test_form = RoutingTestForm(data)
        if builder.is_valid():
            unsaved = RoutingRule(
                pk=rule.pk if rule else None,
                name=data.get("name", "").strip() or _("This rule"),
                match=builder.match,
                conditions=builder.conditions,
                actions=builder.actions,
            )
            context.update(_test_context(test_form, only=unsaved))
        else:
            context.update(test_form=test_form, builder_invalid=True)
        if request.htmx:
            return render(request, f"{RULE_PAGE}#test-result", context)
        return render(request, RULE_PAGE, context)
    test_initial = {k: data.get(f"test-{k}") for k in RoutingTestForm.base_fields} if data else {}
    context["test_form"] = RoutingTestForm(initial=test_initial)
    saving = data is not None and not builder.edit_only
    if saving and form.is_valid() & builder.is_valid():  # both, so every error shows at once
        try:
            saved = services.routing_rule_save(
                actor=request.user, rule=rule, **form.cleaned_data, match=builder.match,
                conditions=builder.conditions, actions=builder.actions,
            )  # fmt: skip
        except services.SettingsError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved the rule “%(name)s”.") % {"name": saved.name})
            return redirect(f"{reverse('settings:routing')}#rule-{saved.pk}")
    failed = data is not None and not builder.edit_only
    return render(request, RULE_PAGE, context, status=422 if failed else 200)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def routing_new(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def routing_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _rule_page(request, _rule(rule_id))


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def routing_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    """GET: are you sure? POST: delete."""
    rule = _rule(rule_id)
    if request.method == "POST":
        services.routing_rule_delete(rule=rule, actor=request.user)
        messages.success(request, _("Deleted the rule “%(name)s”.") % {"name": rule.name})
        return redirect("settings:routing")
    context = {
        "nav_active": "settings",
        "name": rule.name,
        "what": _("routing rule"),
        "back": reverse("settings:routing_edit", kwargs={"rule_id": rule.pk}),
        "parent": (reverse("settings:routing"), _("Routing")),
        "consequence": _(
            "New tickets are no longer routed by it. What it did stays on the tickets' timelines."
        ),
    }
    return render(request, "tickets/routing/confirm_delete.html", context)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def routing_test(request: HttpRequest) -> HttpResponse:
    """Try the active rules on a pasted message: which match, why, what they would set and
    whom the team would assign it to now. Nothing is written."""
    context: dict[str, Any] = {"nav_active": "settings"}
    if request.method == "POST":
        context.update(_test_context(RoutingTestForm(request.POST)))
    else:
        context.update(test_form=RoutingTestForm(), result=None)
    context["rule_count"] = RoutingRule.objects.filter(is_active=True).count()
    failed = request.method == "POST" and context["result"] is None
    return render(request, "tickets/routing/test.html", context, status=422 if failed else 200)


# --- Settings › Auto-replies -----------------------------------------------------------------


@staff_required(*ADMINS)
@require_GET
def auto_reply_list(request: HttpRequest) -> HttpResponse:
    context = {"nav_active": "settings", **_page(request, AutoReply.objects.all())}
    shadowed = services.auto_reply_shadowed(list(AutoReply.objects.all()[:500]))
    for row in context["rows"]:
        row.shadowed_by = shadowed.get(row.pk)
    return render(request, "tickets/autoreply/list.html", context)


def _preview_context(data) -> dict[str, Any]:
    try:
        preview = services.auto_reply_preview(
            subject=data.get("subject", ""), body=data.get("body", ""),
            channel=data.get("channel", ""), language=data.get("language", ""),
        )  # fmt: skip
    except services.SettingsError as error:
        return {"preview_error": str(error)}
    return {"preview": preview}


def _reply_page(request: HttpRequest, item: AutoReply | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = AutoReplyForm.for_auto_reply(item, data)
    context: dict[str, Any] = {"nav_active": "settings", "form": form, "auto_reply": item,
                               "placeholders": services.PLACEHOLDERS}  # fmt: skip
    if data is not None and "preview" not in data and form.is_valid():
        try:
            saved = services.auto_reply_save(actor=request.user, auto_reply=item,
                                             **form.cleaned_data)  # fmt: skip
        except services.SettingsError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved the auto-reply “%(name)s”.") % {"name": saved.name})
            return redirect("settings:auto_replies")
    source = data if data is not None else (form.initial or {"subject": "", "body": ""})
    if source.get("subject") or source.get("body"):
        context.update(_preview_context(source))
    failed = data is not None and "preview" not in data
    return render(request, REPLY_PAGE, context, status=422 if failed else 200)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def auto_reply_new(request: HttpRequest) -> HttpResponse:
    return _reply_page(request, None)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def auto_reply_edit(request: HttpRequest, auto_reply_id: int) -> HttpResponse:
    return _reply_page(request, get_object_or_404(AutoReply, pk=auto_reply_id))


@staff_required(*ADMINS)
@require_POST
def auto_reply_preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx, as the admin types): the template filled in for a recent
    ticket, or a sample one. Reads only."""
    return render(request, f"{REPLY_PAGE}#preview", _preview_context(request.POST))


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def auto_reply_delete(request: HttpRequest, auto_reply_id: int) -> HttpResponse:
    item = get_object_or_404(AutoReply, pk=auto_reply_id)
    if request.method == "POST":
        services.auto_reply_delete(auto_reply=item, actor=request.user)
        messages.success(request, _("Deleted the auto-reply “%(name)s”.") % {"name": item.name})
        return redirect("settings:auto_replies")
    context = {
        "nav_active": "settings",
        "name": item.name,
        "what": _("auto-reply"),
        "back": reverse("settings:auto_reply_edit", kwargs={"auto_reply_id": item.pk}),
        "parent": (reverse("settings:auto_replies"), _("Auto-replies")),
        "consequence": _("Tickets it would have acknowledged get the next most specific one."),
    }
    return render(request, "tickets/routing/confirm_delete.html", context)


# --- Settings › Agents, and the availability menu --------------------------------------------


@staff_required(*ADMINS)
@require_GET
def agents(request: HttpRequest) -> HttpResponse:
    context = {"nav_active": "settings", "rows": services.agent_rows(),
               "choices": AgentForm.base_fields["availability"].choices}  # fmt: skip
    return render(request, "tickets/routing/agents.html", context)


@staff_required(*ADMINS)
@require_POST
def agent_update(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, is_active=True
    )
    form = AgentForm(request.POST)
    user = membership.user
    who = user.get_full_name() or user.email
    if not form.is_valid():
        messages.error(request, _("Not saved for %(who)s: capacity is a whole number from 0 to "
                                  "%(n)d.") % {"who": who, "n": services.MAX_CAPACITY})  # fmt: skip
    else:
        data = form.cleaned_data
        services.agent_capacity_set(user=user, capacity=data["capacity"], actor=request.user)
        services.agent_availability_set(
            user=user, availability=data["availability"], actor=request.user
        )
        messages.success(request, _("Saved for %(who)s.") % {"who": who})
    return redirect(f"{reverse('settings:agents')}#agent-{membership.pk}")


@staff_required()
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    """The signed-in staff member's own status, from the menu in the top bar."""
    form = AvailabilityForm(request.POST)
    if form.is_valid():
        services.agent_availability_set(
            user=request.user, availability=form.cleaned_data["availability"], actor=request.user
        )
    if request.htmx:
        return render(request, "partials/availability.html")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("agent:home")
    return redirect(target)

"""Classification in the agent's hands: the ticket page's panel with its one-click correction,
and Settings › Classification (keyword rules per kind, model status, "retrain now").

The panel is templates/tickets/automation/_classification.html, included in the ticket page's
sidebar; `panel(ticket)` is its context. A correction (or "this is right") posts to
`ticket_classification`, which goes through tickets.automation.classify.correct; htmx gets the
panel back with the properties form out of band (the category and the ticket's version changed).

The settings pages are for administrators; every change goes through
tickets.automation.classify.admin_services, which records it in the audit log.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from helpdesk.accounts.decorators import ADMINS, staff_required
from tickets.automation import classify
from tickets.automation.classify import admin_services as rules_admin
from tickets.automation.classify.base import (
    APPLY_CONFIDENCE,
    KIND_NAMES,
    KINDS,
    MIN_CLASSES,
    MIN_LABELS,
    MIN_PER_CLASS,
    SOURCE_AGENT,
    SOURCE_NAMES,
    TYPE,
)
from tickets.automation.models import KeywordRule
from tickets.models import Ticket

PANEL = "tickets/automation/_classification.html"
SETTINGS_PAGE = "tickets/settings_classification.html"
RULE_PAGE = "tickets/settings_classification_rule.html"

# --- The ticket page's panel ----------------------------------------------------------------


def panel(ticket: Ticket, *, saved: str = "") -> dict[str, Any]:
    """What the panel shows for each kind: the value now, how it was chosen (confidence, top
    words, source) when the classification agrees with it, and the choices for a correction.
    One query (the topic choices)."""
    data = ticket.classification or {}
    rows = []
    for kind in KINDS:
        value = ticket.category if kind == TYPE else ticket.topic
        found = data.get(kind) if isinstance(data.get(kind), dict) else {}
        # "none": the classifier had nothing to say (no label); that is not a choice to show.
        agrees = bool(found.get("label")) and found.get("label") == value
        choices = classify.type_choices() if kind == TYPE else classify.topic_choices(extra=[value])
        rows.append({
            "kind": kind,
            "title": KIND_NAMES[kind],
            "value": value,
            "value_text": classify.label_text(kind, value) if value else "",
            "found": found if agrees else {},
            "suggested": found if found and not agrees and found.get("label") else {},
            "suggested_text": classify.label_text(kind, found.get("label", "")) if found else "",
            "suggested_percent": round(100 * float(found.get("confidence") or 0)) if found else 0,
            "percent": round(100 * float(found.get("confidence") or 0)) if agrees else None,
            "words": found.get("words") or [] if agrees else [],
            "source_text": SOURCE_NAMES.get(found.get("source", ""), "") if agrees else "",
            "confirmed": agrees and found.get("source") == SOURCE_AGENT,
            "choices": [(v, text) for v, text in choices if v != value],
            "saved": saved == kind,
        })  # fmt: skip
    return {"rows": rows}


@staff_required()
@require_POST
def ticket_classification(request: HttpRequest, number: int) -> HttpResponse:
    """Set the right type or topic (`kind`, `label`), or confirm the one shown: either way the
    agent's word becomes a training label."""
    from tickets.views import ticket as ticket_views

    ticket = ticket_views._ticket(request, number)
    kind, label = request.POST.get("kind", ""), request.POST.get("label", "")
    if kind not in KINDS:
        raise Http404
    try:
        classify.correct(ticket=ticket, kind=kind, label=label, actor=request.user)
    except classify.ClassificationError as error:
        messages.error(request, str(error))
        if not request.htmx:
            return redirect(ticket_views._detail_url(number))
        response = HttpResponse(render_to_string("partials/messages.html", {"oob": True},
                                                 request), status=422)  # fmt: skip
        return response
    messages.success(request, _("Thanks: %(what)s recorded as %(label)s.")
                     % {"what": str(KIND_NAMES[kind]).lower(),
                        "label": classify.label_text(kind, label)})  # fmt: skip
    if not request.htmx:
        return redirect(ticket_views._detail_url(number))
    ticket = ticket_views._ticket(request, number)  # the new version, for the properties form
    context = {**ticket_views._state_context(request, ticket),
               "classification": panel(ticket, saved=kind)}  # fmt: skip
    html = render_to_string(PANEL, context, request)
    html += render_to_string(f"{ticket_views.PAGE}#ticket-properties", {**context, "oob": True},
                             request)  # fmt: skip
    html += render_to_string("partials/messages.html", {"oob": True}, request)
    return trigger_client_event(HttpResponse(html), ticket_views.CHANGED_EVENT)


# --- Settings › Classification --------------------------------------------------------------


class KeywordRuleForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Topic"), max_length=50)
    keywords = forms.CharField(
        label=gettext_lazy("Keywords"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Separate with commas or new lines. Chinese words match anywhere in the text, other "
            "words at the start of a word."
        ),
    )
    position = forms.IntegerField(
        label=gettext_lazy("Order"), required=False, min_value=0, max_value=1_000_000,
        help_text=gettext_lazy("Rules are tried from the lowest number; the first match wins."),
    )  # fmt: skip

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", kind)
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind == TYPE:
            self.fields["label"] = forms.ChoiceField(
                label=gettext_lazy("Inquiry type"), choices=classify.type_choices()
            )
            self.order_fields(["label", "keywords", "position"])
        else:
            self.fields["label"].widget.attrs.update(list="topic-names", autocomplete="off")

    @classmethod
    def for_rule(cls, rule: KeywordRule, data: Any = None) -> KeywordRuleForm:
        initial = {"label": rule.label, "keywords": ", ".join(rule.keywords),
                   "position": rule.position}  # fmt: skip
        return cls(data, kind=rule.kind, initial=initial, prefix="rule")

    def keyword_list(self) -> list[str]:
        from tickets.forms_admin import split_list

        return split_list(self.cleaned_data["keywords"], separators=",，、;；")


def _kind_sections(forms_by_kind: dict[str, KeywordRuleForm]) -> list[dict[str, Any]]:
    own: dict[str, list[KeywordRule]] = {kind: [] for kind in KINDS}
    for rule in KeywordRule.objects.order_by("kind", "position", "id")[:1000]:
        own.setdefault(rule.kind, []).append(rule)
    sections = []
    for kind in KINDS:
        for rule in own[kind]:
            rule.label_text = classify.label_text(kind, rule.label)
        builtin = [
            {"label_text": classify.label_text(kind, rule.label), "keywords": rule.keywords}
            for rule in classify.BUILTIN_RULES[kind]
        ]  # fmt: skip
        sections.append({
            "kind": kind,
            "title": KIND_NAMES[kind],
            "rules": own[kind],
            "builtin": builtin if not own[kind] else [],
            "form": forms_by_kind[kind],
            "status": _status(kind),
        })  # fmt: skip
    return sections


def _status(kind: str) -> dict[str, Any]:
    status = rules_admin.status(kind)
    status["title"] = KIND_NAMES[kind]
    status["polling"] = status["progress"].get("state") in {"queued", "running"}
    return status


def _settings_context(forms_by_kind: dict[str, KeywordRuleForm]) -> dict[str, Any]:
    return {
        "nav_active": "settings",
        "sections": _kind_sections(forms_by_kind),
        "topic_names": [label for _value, label in classify.topic_choices()],
        "min_labels": MIN_LABELS,
        "min_classes": MIN_CLASSES,
        "min_per_class": MIN_PER_CLASS,
        "apply_percent": round(APPLY_CONFIDENCE * 100),
    }


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def classification(request: HttpRequest) -> HttpResponse:
    """The page; a POST with `kind` adds a keyword rule of that kind."""
    posted = request.POST.get("kind") if request.method == "POST" else None
    if posted is not None and posted not in KINDS:
        raise Http404
    forms_by_kind = {
        kind: KeywordRuleForm(request.POST if kind == posted else None, kind=kind)
        for kind in KINDS
    }  # fmt: skip
    form = forms_by_kind.get(posted) if posted else None
    if form is not None and form.is_valid():
        try:
            rule = rules_admin.keyword_rule_create(
                actor=request.user, kind=posted, label=form.cleaned_data["label"],
                keywords=form.keyword_list(), position=form.cleaned_data["position"],
            )  # fmt: skip
        except classify.ClassificationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Added the rule for “%(label)s”.")
                             % {"label": classify.label_text(posted, rule.label)})  # fmt: skip
            return redirect(f"{reverse('settings:classification')}#rules-{posted}")
    status = 422 if form is not None and form.errors else 200
    return render(request, SETTINGS_PAGE, _settings_context(forms_by_kind), status=status)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def classification_rule(request: HttpRequest, keyword_rule_id: int) -> HttpResponse:
    rule = get_object_or_404(KeywordRule, pk=keyword_rule_id)
    form = KeywordRuleForm.for_rule(rule, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rules_admin.keyword_rule_update(
                rule=rule, actor=request.user, label=form.cleaned_data["label"],
                keywords=form.keyword_list(), position=form.cleaned_data["position"] or 0,
            )  # fmt: skip
        except classify.ClassificationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved the rule for “%(label)s”.")
                             % {"label": classify.label_text(rule.kind, rule.label)})  # fmt: skip
            return redirect(f"{reverse('settings:classification')}#rules-{rule.kind}")
    context = {"nav_active": "settings", "form": form, "rule": rule,
               "kind_title": KIND_NAMES[rule.kind],
               "topic_names": [label for _v, label in classify.topic_choices()]}  # fmt: skip
    return render(request, RULE_PAGE, context, status=422 if form.errors else 200)


@staff_required(*ADMINS)
@require_POST
def classification_rule_delete(request: HttpRequest, keyword_rule_id: int) -> HttpResponse:
    rule = get_object_or_404(KeywordRule, pk=keyword_rule_id)
    kind, label = rule.kind, classify.label_text(rule.kind, rule.label)
    rules_admin.keyword_rule_delete(rule=rule, actor=request.user)
    messages.success(request, _("Deleted the rule for “%(label)s”.") % {"label": label})
    return redirect(f"{reverse('settings:classification')}#rules-{kind}")


@staff_required(*ADMINS)
@require_POST
def classification_defaults(request: HttpRequest) -> HttpResponse:
    """Start the tenant's own rules of a kind from the built-in ones, to edit them."""
    kind = request.POST.get("kind", "")
    if kind not in KINDS:
        raise Http404
    copied = rules_admin.keyword_rules_copy_builtin(actor=request.user, kind=kind)
    if copied:
        messages.success(request, _("Copied %(n)d built-in rules; edit them as you like.")
                         % {"n": copied})  # fmt: skip
    return redirect(f"{reverse('settings:classification')}#rules-{kind}")


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def classification_train(request: HttpRequest) -> HttpResponse:
    """POST: "retrain now" for `kind` (queued on commit). GET: the model status card, polled
    by htmx while training is queued or running."""
    kind = request.POST.get("kind") or request.GET.get("kind", "")
    if kind not in KINDS:
        raise Http404
    if request.method == "POST":
        rules_admin.request_training(actor=request.user, kind=kind)
        if not request.htmx:
            messages.success(request, _("Retraining queued; this page shows when it is done."))
    if not request.htmx:
        return redirect(f"{reverse('settings:classification')}#model-{kind}")
    return render(request, f"{SETTINGS_PAGE}#model-status", {"status": _status(kind)})

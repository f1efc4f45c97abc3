"""Triggers, macros and notifications: their settings pages, the macro menu of the ticket
composer, and the notification centre.

  /settings/triggers/…           administrators: the ordered list, create / edit with the
                                 condition/action builder, activate, move, delete
  /settings/macros/…             every staff member: administrators manage the shared macros,
                                 everyone their own personal ones (others' stay invisible)
  /settings/rule-builder/row/    one builder row (htmx: add a row, a field or action changed)
  /agent/tickets/<n>/macros/…    the composer's macro menu (htmx) or its page (without JS);
                                 preview into the composer, send with the macro, apply now
  /notifications/…               the notification centre, the bell's count, read / acknowledge

Thin views: the rules live in tickets.automation (triggers, macros, notifications, forms).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event

from helpdesk.accounts.decorators import ADMINS, staff_required
from helpdesk.lib.params import int_param
from tickets.automation import macros as macro_rules
from tickets.automation import notifications, triggers
from tickets.automation.forms import ACTION_SETS, MacroForm, RuleBuilder, TriggerForm
from tickets.automation.models import Macro, Notification, Trigger
from tickets.forms import ComposerForm, form_token, form_token_claim, form_token_release
from tickets.models import Ticket
from tickets.views import ticket as ticket_views

PAGE_SIZE = 50
NOTIFICATIONS_PAGE = 25
MENU_SIZE = 8
NOTIFICATIONS_CHANGED = "notifications-changed"  # the bell reloads its count on it


def _is_admin(request: HttpRequest) -> bool:
    return request.membership.role == "admin"


def _page(request: HttpRequest, qs: QuerySet) -> dict[str, Any]:
    number = int_param(request, "page", 1)
    offset = (number - 1) * PAGE_SIZE
    rows = list(qs[offset : offset + PAGE_SIZE + 1])
    return {"rows": rows[:PAGE_SIZE], "page_number": number, "has_next": len(rows) > PAGE_SIZE}


def _names() -> tuple[dict, dict]:
    """People and teams by id, for action summaries (two small queries per page)."""
    from helpdesk.accounts.selectors import member_list
    from tickets.models import Team

    people = {m.user_id: m.user for m in member_list().filter(is_active=True)[:500]}
    return people, {t.pk: t for t in Team.objects.all()[:200]}


# --- Settings › Triggers --------------------------------------------------------------------


@staff_required(*ADMINS)
@require_GET
def trigger_list(request: HttpRequest) -> HttpResponse:
    rows = Trigger.objects.order_by("position", "id")
    context = {"nav_active": "settings", **_page(request, rows)}
    people, teams = _names()
    for row in context["rows"]:
        row.summary = triggers.describe_actions(row.actions, people, teams)
    return render(request, "tickets/automation/trigger_list.html", context)


def _trigger_form_page(request: HttpRequest, trigger: Trigger | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = TriggerForm.for_trigger(trigger, data)
    builder = RuleBuilder(
        data,
        conditions=trigger.conditions if trigger else (),
        actions=trigger.actions if trigger else (),
        match=trigger.match if trigger else "all",
        action_set="trigger",
    )
    if data is not None and not builder.edit_only:
        valid = form.is_valid() & builder.is_valid()  # both, so every error shows at once
        if valid:
            try:
                saved = triggers.trigger_save(
                    actor=request.user,
                    trigger=trigger,
                    **form.cleaned_data,
                    match=builder.match,
                    conditions=builder.conditions,
                    actions=builder.actions,
                )
            except triggers.TriggerError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Saved the trigger “%(name)s”.") % {"name": saved.name})
                return redirect("settings:triggers")
    context = {
        "nav_active": "settings",
        "form": form,
        "builder": builder,
        "trigger": trigger,
        "placeholders": [
            (f"{{{{ {name} }}}}", label) for name, label in triggers.PLACEHOLDERS.items()
        ],
    }
    failed = data is not None and not builder.edit_only
    return render(
        request, "tickets/automation/trigger_edit.html", context, status=422 if failed else 200
    )


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def trigger_new(request: HttpRequest) -> HttpResponse:
    return _trigger_form_page(request, None)


@staff_required(*ADMINS)
@require_http_methods(["GET", "POST"])
def trigger_edit(request: HttpRequest, trigger_id: int) -> HttpResponse:
    return _trigger_form_page(request, get_object_or_404(Trigger, pk=trigger_id))


@staff_required(*ADMINS)
@require_POST
def trigger_active(request: HttpRequest, trigger_id: int) -> HttpResponse:
    trigger = get_object_or_404(Trigger, pk=trigger_id)
    active = request.POST.get("active") == "1"
    triggers.trigger_set_active(trigger=trigger, actor=request.user, active=active)
    messages.success(
        request,
        (_("“%(name)s” is active.") if active else _("“%(name)s” is paused."))
        % {"name": trigger.name},
    )
    return redirect("settings:triggers")


@staff_required(*ADMINS)
@require_POST
def trigger_move(request: HttpRequest, trigger_id: int) -> HttpResponse:
    trigger = get_object_or_404(Trigger, pk=trigger_id)
    direction = "up" if request.POST.get("direction") == "up" else "down"
    triggers.trigger_move(trigger=trigger, actor=request.user, direction=direction)
    return redirect(f"{reverse('settings:triggers')}#trigger-{trigger.pk}")


@staff_required(*ADMINS)
@require_POST
def trigger_delete(request: HttpRequest, trigger_id: int) -> HttpResponse:
    trigger = get_object_or_404(Trigger, pk=trigger_id)
    triggers.trigger_delete(trigger=trigger, actor=request.user)
    messages.success(request, _("Deleted the trigger “%(name)s”.") % {"name": trigger.name})
    return redirect("settings:triggers")


# --- The builder's row endpoint -------------------------------------------------------------


@staff_required()
@require_GET
def rule_row(request: HttpRequest) -> HttpResponse:
    """One builder row: `row` (cond / act), `index`, `set` (an ACTION_SETS name), `prefix`;
    with the row's current inputs it is re-rendered (its field or action changed), without
    them a blank row is added (and the next index sent out of band); `remove=1` answers
    nothing (the row is deleted by the swap)."""
    if request.GET.get("remove"):
        return HttpResponse("")
    kind = request.GET.get("row", "")
    action_set = request.GET.get("set", "trigger")
    prefix = request.GET.get("prefix", "")
    if kind not in {"cond", "act"} or action_set not in ACTION_SETS:
        raise Http404
    if prefix and not re.fullmatch(r"[a-z0-9_-]{1,20}", prefix):
        raise Http404
    index = request.GET.get("index", "") or request.GET.get(f"{prefix}{kind}-next", "")
    if not index.isdigit() or int(index) > 999:
        raise Http404
    builder = RuleBuilder(None, action_set=action_set, prefix=prefix)
    index_n = int(index)
    adding = "index" not in request.GET
    row = builder.row_from_data(kind, index_n, request.GET)
    context = {"builder": builder, "row": row, "adding": adding, "next_index": index_n + 1}
    template = "cond_row" if kind == "cond" else "act_row"
    return render(request, f"tickets/automation/_rule_builder.html#{template}", context)


# --- Settings › Macros ----------------------------------------------------------------------


def _visible_macros(request: HttpRequest) -> QuerySet[Macro]:
    return macro_rules.macros_for(request.user)


def _editable_macro(request: HttpRequest, macro_id: int) -> Macro:
    """A macro this member may change: their own, or (administrators) a shared one. Another
    agent's personal macro is a 404, as if it did not exist."""
    macro = get_object_or_404(_visible_macros(request), pk=macro_id)
    if not macro_rules.macro_may_edit(macro=macro, user=request.user):
        raise PermissionDenied
    return macro


@staff_required()
@require_GET
def macro_list(request: HttpRequest) -> HttpResponse:
    rows = _visible_macros(request)
    show = request.GET.get("show", "")
    if show == "mine":
        rows = rows.filter(owner=request.user)
    elif show == "shared":
        rows = rows.filter(owner__isnull=True)
    context = {
        "nav_active": "settings" if _is_admin(request) else "",
        "show": show,
        "is_admin": _is_admin(request),
        **_page(request, rows),
    }
    people, teams = _names()
    for row in context["rows"]:
        row.summary = triggers.describe_actions(row.actions, people, teams)
        row.editable = macro_rules.macro_may_edit(macro=row, user=request.user)
    return render(request, "tickets/automation/macro_list.html", context)


def _macro_form_page(request: HttpRequest, macro: Macro | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = MacroForm.for_macro(macro, data, allow_shared=_is_admin(request))
    builder = RuleBuilder(
        data, actions=macro.actions if macro else (), action_set="macro", with_conditions=False
    )
    if data is not None and not builder.edit_only:
        valid = form.is_valid() & builder.is_valid()
        if valid:
            fields = dict(form.cleaned_data)
            shared = fields.pop("shared", False)
            try:
                if macro is None:
                    saved = macro_rules.macro_create(
                        actor=request.user, shared=shared, actions=builder.actions, **fields
                    )
                else:
                    saved = macro_rules.macro_update(
                        macro=macro,
                        actor=request.user,
                        actions=builder.actions,
                        shared=shared if "shared" in form.fields else None,
                        **fields,
                    )
            except macro_rules.MacroError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Saved the macro “%(name)s”.") % {"name": saved.name})
                return redirect("settings:macros")
    context = {
        "nav_active": "settings" if _is_admin(request) else "",
        "form": form,
        "builder": builder,
        "macro": macro,
    }
    failed = data is not None and not builder.edit_only
    return render(
        request, "tickets/automation/macro_edit.html", context, status=422 if failed else 200
    )


@staff_required()
@require_http_methods(["GET", "POST"])
def macro_new(request: HttpRequest) -> HttpResponse:
    return _macro_form_page(request, None)


@staff_required()
@require_http_methods(["GET", "POST"])
def macro_edit(request: HttpRequest, macro_id: int) -> HttpResponse:
    return _macro_form_page(request, _editable_macro(request, macro_id))


@staff_required()
@require_POST
def macro_delete(request: HttpRequest, macro_id: int) -> HttpResponse:
    macro = _editable_macro(request, macro_id)
    macro_rules.macro_delete(macro=macro, actor=request.user)
    messages.success(request, _("Deleted the macro “%(name)s”.") % {"name": macro.name})
    return redirect("settings:macros")


# --- The composer's macro menu ----------------------------------------------------------------


def _ticket(request: HttpRequest, number: int) -> Ticket:
    return ticket_views._ticket(request, number)  # this tenant's, or a 404


def _macro_rows(request: HttpRequest, ticket: Ticket) -> list[Macro]:
    rows = list(_visible_macros(request)[:100])
    people = {u.pk: u for u in ticket.staff}
    teams = {t.pk: t for t in ticket.teams}
    for macro in rows:
        macro.summary = triggers.describe_actions(macro.actions, people, teams)
        macro.preview = macro_rules.macro_preview(macro=macro, ticket=ticket, agent=request.user)
    return rows


@staff_required()
def ticket_macros(request: HttpRequest, number: int) -> HttpResponse:
    """The macro menu (htmx, into the composer) or, without JavaScript, a page to pick one."""
    ticket = _ticket(request, number)
    if request.method not in ("GET", "HEAD"):  # after the lookup: another tenant's is a 404
        return HttpResponseNotAllowed(["GET"])
    if request.htmx and request.GET.get("clear"):  # "without the macro": the composer as typed
        composer = ComposerForm(initial={"body": request.GET.get("body", "")[:20000]})
        return render(
            request, f"{ticket_views.PAGE}#composer", {"ticket": ticket, "composer": composer}
        )
    context = {"ticket": ticket, "macros": _macro_rows(request, ticket)}
    if request.htmx:
        return render(request, "tickets/automation/_macros.html#macro-menu", context)
    context.update(nav_active="inbox", token=form_token())
    return render(request, "tickets/automation/ticket_macros.html", context)


@staff_required()
def macro_preview(request: HttpRequest, number: int, macro_id: int) -> HttpResponse:
    """Put the macro's text into the composer (after what is typed, `body`) with the macro
    chosen, so sending applies its actions; without JavaScript, a page with the same form."""
    ticket = _ticket(request, number)
    macro = get_object_or_404(_visible_macros(request), pk=macro_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    text = macro_rules.macro_preview(macro=macro, ticket=ticket, agent=request.user)
    typed = request.GET.get("body", "").rstrip()
    composer = ComposerForm(
        initial={
            "body": f"{typed}\n\n{text}" if typed and text else typed or text,
            "kind": macro.reply_kind,
        }
    )
    people = {u.pk: u for u in ticket.staff}
    teams = {t.pk: t for t in ticket.teams}
    macro.summary = triggers.describe_actions(macro.actions, people, teams)
    context = {"ticket": ticket, "composer": composer, "macro_selected": macro}
    if request.htmx:
        return render(request, f"{ticket_views.PAGE}#composer", context)
    return render(
        request, "tickets/automation/macro_preview.html", {**context, "nav_active": "inbox"}
    )


def _macro_done(request: HttpRequest, ticket: Ticket, *, draft: str = "") -> HttpResponse:
    if not request.htmx:
        return redirect(reverse("tickets:detail", kwargs={"number": ticket.number}))
    ticket = _ticket(request, ticket.number)
    composer = ComposerForm(initial={"body": draft}) if draft else None
    context = {**ticket_views._page_context(request, ticket, composer=composer), "fragment": True}
    response = render(request, f"{ticket_views.PAGE}#ticket-page", context)
    return trigger_client_event(response, ticket_views.CHANGED_EVENT)


def _token_scope(request: HttpRequest, what: str) -> str:
    return f"{what}:{request.tenant.pk}:{request.user.pk}"


@staff_required()
@require_POST
def macro_send(request: HttpRequest, number: int, macro_id: int) -> HttpResponse:
    """The composer, sent with a macro: its actions, then the (edited) reply or note."""
    ticket = _ticket(request, number)
    macro = get_object_or_404(_visible_macros(request), pk=macro_id)
    form = ComposerForm(request.POST, request.FILES)
    if not form.is_valid():
        return _send_error(request, ticket, macro, form)
    data = form.cleaned_data
    scope = _token_scope(request, "reply")  # the composer's own scope: one send per form
    if not form_token_claim(scope=scope, token=data["token"]):
        return _macro_done(request, ticket)
    try:
        result = macro_rules.macro_apply(
            macro=macro,
            ticket=ticket,
            actor=request.user,
            body=data["body"],
            kind=data["kind"],
            set_status=data["set_status"] or None,
            attachments=data["attachments"],
        )
    except macro_rules.MacroError as error:
        form_token_release(scope=scope, token=data["token"])
        form.add_error("body", str(error))
        return _send_error(request, ticket, macro, form)
    messages.success(
        request,
        _("Applied “%(name)s”.") % {"name": macro.name}
        + (" " + _("Reply sent.") if result.message and not result.message.is_note else ""),
    )
    return _macro_done(request, ticket)


def _send_error(
    request: HttpRequest, ticket: Ticket, macro: Macro, form: ComposerForm
) -> HttpResponse:
    macro.summary = triggers.describe_actions(macro.actions)
    context = {"ticket": ticket, "composer": form, "macro_selected": macro}
    if request.htmx:
        response = render(request, f"{ticket_views.PAGE}#composer", context)
        return retarget(reswap(response, "outerHTML"), "#composer")
    return render(
        request,
        "tickets/automation/macro_preview.html",
        {**context, "nav_active": "inbox"},
        status=400,
    )


@staff_required()
@require_POST
def macro_apply(request: HttpRequest, number: int, macro_id: int) -> HttpResponse:
    """ "Apply now": the actions and the macro's own reply or note at once. What the agent had
    typed in the composer (posted along) is kept there."""
    ticket = _ticket(request, number)
    macro = get_object_or_404(_visible_macros(request), pk=macro_id)
    token = request.POST.get("token", "")[:64]
    scope = _token_scope(request, f"macro-{macro.pk}")
    if not form_token_claim(scope=scope, token=token):
        return _macro_done(request, ticket, draft=request.POST.get("body", ""))
    try:
        macro_rules.macro_apply(macro=macro, ticket=ticket, actor=request.user)
    except macro_rules.MacroError as error:
        form_token_release(scope=scope, token=token)
        messages.error(request, str(error))
    else:
        messages.success(request, _("Applied “%(name)s”.") % {"name": macro.name})
    return _macro_done(request, ticket, draft=request.POST.get("body", "")[:20000])


# --- Notifications ----------------------------------------------------------------------------


def _notification_page(request: HttpRequest, show: str) -> dict[str, Any]:
    rows = notifications.notification_list(request.user, show=show)
    before = request.GET.get("before", "")
    if before.isdigit():
        rows = rows.filter(id__lt=int(before))
    page = list(rows[: NOTIFICATIONS_PAGE + 1])
    return {
        "rows": page[:NOTIFICATIONS_PAGE],
        "next_before": page[NOTIFICATIONS_PAGE - 1].pk if len(page) > NOTIFICATIONS_PAGE else None,
        "paged": before.isdigit(),
    }


@staff_required()
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The notification centre; `?menu=1` (htmx) is the bell's dropdown: the latest few."""
    if request.htmx and request.GET.get("menu"):
        rows = list(notifications.notification_list(request.user)[:MENU_SIZE])
        context = {"rows": rows, "unread": notifications.unread_count(request.user)}
        return render(request, "notifications/_menu.html", context)
    show = request.GET.get("show", "all")
    show = show if show in {"all", "unread", "ack"} else "all"
    context = {
        "nav_active": "",
        "show": show,
        **_notification_page(request, show),
        "unread": notifications.unread_count(request.user),
    }
    if request.htmx and request.htmx.target == "notification-list":
        return render(request, "notifications/list.html#notification-list", context)
    return render(request, "notifications/list.html", context)


@staff_required()
@require_GET
def notification_badge(request: HttpRequest) -> HttpResponse:
    response = render(
        request, "notifications/_badge.html", {"unread": notifications.unread_count(request.user)}
    )
    response["Cache-Control"] = "no-store"
    return response


def _back(request: HttpRequest) -> HttpResponse:
    """After a change: htmx re-renders the list it came from; otherwise back where it was."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("notifications:list")
    if request.htmx:
        return trigger_client_event(HttpResponseClientRedirect(target), NOTIFICATIONS_CHANGED)
    return redirect(target)


def _own_notification(request: HttpRequest, notification_id: int) -> Notification:
    return get_object_or_404(Notification, pk=notification_id, recipient=request.user)


@staff_required()
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark read; with `open=1`, then go to what it is about."""
    item = _own_notification(request, notification_id)
    notifications.mark_read(user=request.user, notification_id=item.pk)
    if request.POST.get("open") and item.url.startswith("/") and not item.url.startswith("//"):
        return redirect(item.url)
    return _list_response(request)


@staff_required()
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications.mark_all_read(user=request.user)
    if not request.htmx:
        messages.success(request, _("Marked %(n)d notifications read.") % {"n": count})
    return _list_response(request)


@staff_required()
@require_POST
def notification_acknowledge(request: HttpRequest, notification_id: int) -> HttpResponse:
    item = _own_notification(request, notification_id)
    notifications.acknowledge(user=request.user, notification_id=item.pk)
    return _list_response(request)


def _list_response(request: HttpRequest) -> HttpResponse:
    """htmx: the list (or the bell's menu) again, and the bell's count; else a redirect."""
    if not request.htmx:
        return _back(request)
    if request.POST.get("menu"):
        rows = list(notifications.notification_list(request.user)[:MENU_SIZE])
        context = {"rows": rows, "unread": notifications.unread_count(request.user)}
        response = render(request, "notifications/_menu.html", context)
    else:
        show = request.POST.get("show", "all")
        show = show if show in {"all", "unread", "ack"} else "all"
        context = {
            "show": show,
            **_notification_page(request, show),
            "unread": notifications.unread_count(request.user),
        }
        html = render_to_string("notifications/list.html#notification-list", context, request)
        html += render_to_string("partials/messages.html", {"oob": True}, request)
        response = HttpResponse(html)
    return trigger_client_event(response, NOTIFICATIONS_CHANGED)

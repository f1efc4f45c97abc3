"""The agents' unified inbox: every channel in one keyset-paginated list, built-in and saved
views, allow-listed filters, full-text search (`#123` jumps to the ticket), bulk actions and a
badge that counts new activity since the page was loaded.

The page is one template, templates/tickets/inbox.html. htmx gets its `inbox-list` partial when it
targets #inbox-list (filters, pages, bulk results; the latter refresh the `view-counts` tabs out
of band) and the full page otherwise; the polled `new-count` partial has its own endpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url

from helpdesk.accounts.decorators import MANAGERS, staff_required
from helpdesk.accounts.models import User
from helpdesk.accounts.selectors import member_list
from helpdesk.lib import clock
from helpdesk.lib.widgets import FastSelect
from sla import display as sla_display
from tickets import presenters, selectors, services
from tickets.models import SavedView, Team, Ticket

BULK_LIMIT = 200
VIEW_LABELS = {
    "mine": gettext_lazy("My open"),
    "unassigned": gettext_lazy("Unassigned"),
    "team": gettext_lazy("My team"),
    "open": gettext_lazy("All open"),
    "at_risk": gettext_lazy("At risk"),
    "pending": gettext_lazy("Pending on customer"),
    "solved": gettext_lazy("Solved recently"),
    "all": gettext_lazy("All tickets"),
}
SORT_LABELS = {
    "activity": gettext_lazy("Latest activity"),
    "oldest": gettext_lazy("Oldest activity"),
    "newest": gettext_lazy("Newest first"),
    "created": gettext_lazy("Oldest first"),
}


# --- Reads this page needs beyond tickets.selectors -----------------------------------------


def _saved_views(user: User) -> list[SavedView]:
    """Shared views, then the user's own (the manager is tenant-scoped)."""
    rows = SavedView.objects.filter(Q(owner__isnull=True) | Q(owner=user))
    return sorted(rows, key=lambda v: (v.owner_id is not None, v.position, v.name.lower()))


def _agents() -> list[User]:
    return [m.user for m in member_list().filter(is_active=True)]


# --- Forms ----------------------------------------------------------------------------------


def _choices(any_label: str, pairs) -> list[tuple[str, str]]:
    return [("", any_label), *((str(value), str(label)) for value, label in pairs)]


class FilterForm(forms.Form):
    """Renders the filter bar; parsing and validation belong to selectors.InboxFilters. Fields
    say required=True only so the labels carry no "(optional)": no field is ever required."""

    use_required_attribute = False

    q = forms.CharField(label=gettext_lazy("Search"), widget=forms.SearchInput)
    status = forms.ChoiceField(label=gettext_lazy("Status"), widget=FastSelect)
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), widget=FastSelect)
    assignee = forms.ChoiceField(label=gettext_lazy("Assignee"), widget=FastSelect)
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), widget=FastSelect)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), widget=FastSelect)
    team = forms.ChoiceField(label=gettext_lazy("Team"), widget=FastSelect)
    tier = forms.ChoiceField(label=gettext_lazy("Tier"), widget=FastSelect)
    category = forms.ChoiceField(label=gettext_lazy("Category"), widget=FastSelect)
    tag = forms.CharField(label=gettext_lazy("Tag"))
    language = forms.ChoiceField(label=gettext_lazy("Language"), widget=FastSelect)
    created_from = forms.DateField(
        label=gettext_lazy("Created from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=gettext_lazy("Created to"), widget=forms.DateInput(attrs={"type": "date"})
    )
    MORE = ("channel", "team", "tier", "category", "tag", "language", "created_from", "created_to")

    def __init__(self, filters: selectors.InboxFilters, *, agents: list[User], teams: list[Team]):
        super().__init__(initial=filters.as_query())
        self.fields["status"].choices = _choices(_("Any status"), Ticket.Status.choices)
        self.fields["priority"].choices = _choices(_("Any priority"), Ticket.Priority.choices)
        self.fields["channel"].choices = _choices(_("Any channel"), Ticket.Channel.choices)
        self.fields["category"].choices = _choices(_("Any category"), Ticket.Category.choices)
        self.fields["tier"].choices = _choices(_("Any tier"), Team.Tier.choices)
        self.fields["language"].choices = _choices(_("Any language"), settings.LANGUAGES)
        self.fields["team"].choices = _choices(_("Any team"), [(t.pk, t.name) for t in teams])
        self.fields["sort"].choices = list(SORT_LABELS.items())
        if filters.view == selectors.AT_RISK:  # listed by SLA due time, whatever `sort` says
            self.fields["sort"].choices = [("", _("SLA due, soonest first"))]
            self.fields["sort"].widget.attrs["disabled"] = True
        self.fields["assignee"].choices = _choices(
            _("Anyone"),
            [("me", _("Me")), ("none", _("Unassigned"))]
            + [(a.pk, a.get_full_name()) for a in agents],
        )
        # A saved view may hold several values ("open,pending"): offer that combination too.
        for name, values in filters.choices.items():
            if len(values) > 1:
                labels = dict(self.fields[name].choices)
                combined = (",".join(values), " + ".join(labels.get(v, v) for v in values))
                self.fields[name].choices = [*self.fields[name].choices, combined]
        self.fields["q"].widget.attrs.update(
            {"placeholder": _("Subject, message, customer or #number"), "data-shortcut": "/",
             "autocomplete": "off", "aria-keyshortcuts": "/"}
        )  # fmt: skip
        self.fields["tag"].widget.attrs.update(placeholder=_("e.g. refund"))
        self.more_open = any(self.initial.get(name) for name in self.MORE)


class BulkForm(forms.Form):
    ACTIONS = ("update", "merge")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    assignee = forms.ChoiceField(label=gettext_lazy("Assign to"), required=False, widget=FastSelect)
    status = forms.ChoiceField(label=gettext_lazy("Set status"), required=False, widget=FastSelect)
    priority = forms.ChoiceField(
        label=gettext_lazy("Set priority"), required=False, widget=FastSelect
    )
    tags = forms.CharField(label=gettext_lazy("Add tags"), required=False, max_length=300)
    merge_into = forms.IntegerField(
        label=gettext_lazy("Merge into ticket #"), required=False, min_value=1
    )

    def __init__(self, *args, agents: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.agents = {str(a.pk): a for a in agents}
        keep = _("No change")
        self.fields["assignee"].choices = _choices(
            keep,
            [("me", _("Me")), ("none", _("Nobody (unassign)"))]
            + [(pk, a.get_full_name()) for pk, a in self.agents.items()],
        )
        self.fields["status"].choices = _choices(keep, Ticket.Status.choices)
        self.fields["priority"].choices = _choices(keep, Ticket.Priority.choices)
        self.fields["tags"].widget.attrs.update(placeholder=_("comma, separated"))
        self.fields["merge_into"].widget.attrs.update(placeholder=_("oldest selected"))

    def changes(self, user: User) -> dict:
        data = self.cleaned_data
        changes: dict = {f: data[f] for f in ("status", "priority") if data[f]}
        if data["assignee"] == "me":
            changes["assignee"] = user
        elif data["assignee"] == "none":
            changes["assignee"] = None
        elif data["assignee"]:
            changes["assignee"] = self.agents[data["assignee"]]
        return changes

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class SavedViewForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80)
    shared = forms.BooleanField(label=gettext_lazy("Share with the whole team"), required=False)


# --- Views ----------------------------------------------------------------------------------


def _is_lead(request: HttpRequest) -> bool:
    return request.membership.role in MANAGERS


def _may_delete(request: HttpRequest, view: SavedView) -> bool:
    return view.owner_id == request.user.pk if view.owner_id else _is_lead(request)


def _checked_filters(params: QueryDict, saved: list[SavedView]) -> selectors.InboxFilters:
    """Allow-listed filters; a saved view that is not the user's to see is an ignored filter."""
    filters = selectors.InboxFilters.from_query(params)
    if filters.view.isdigit() and int(filters.view) not in {v.pk for v in saved}:
        filters.errors.append(f"view={filters.view}")
        filters.view = "open"
    return filters


def _inbox_url(params: dict) -> str:
    url = reverse("tickets:inbox")
    return f"{url}?{urlencode(params)}" if params else url


def _view_tabs(
    request: HttpRequest,
    filters: selectors.InboxFilters,
    saved: list[SavedView],
    *,
    fresh: bool = False,
) -> list[dict]:
    """Built-in views with their capped counts, then the saved views."""
    counts = selectors.view_counts(user=request.user, fresh=fresh)
    tabs = [
        {"label": VIEW_LABELS.get(key, key), "count": counts.get(key),
         "current": filters.view == key, "url": _inbox_url({"view": key} if key != "open" else {}),
         "risk": key == selectors.AT_RISK}
        for key in selectors.BUILT_IN_VIEWS
    ]  # fmt: skip
    tabs += [
        {"label": view.name, "count": None, "current": filters.view == str(view.pk),
         "url": _inbox_url({"view": view.pk}), "saved": True, "shared": view.owner_id is None}
        for view in saved
    ]  # fmt: skip
    return tabs


def _list_context(
    request: HttpRequest,
    filters: selectors.InboxFilters,
    agents: list[User],
    teams: list[Team],
) -> dict:
    """What the `inbox-list` partial needs: one keyset page and the bulk bar."""
    page = selectors.inbox_page(
        user=request.user,
        filters=filters,
        cursor=request.GET.get("cursor") or None,
        related=("requester",),  # names of assignees and teams from the lists below
    )
    names = {a.pk: a.get_full_name() for a in agents}
    names |= selectors.user_names({t.assignee_id for t in page.tickets} - names.keys() - {None})
    now = clock.now()  # the SLA clock's (tests travel in time)
    rows = presenters.inbox_rows(
        page.tickets,
        tz=ZoneInfo(request.tenant.timezone),
        agents=names,
        teams={t.pk: t.name for t in teams},
        now=now,
        clocks=sla_display.clocks_for_tickets([t.pk for t in page.tickets], now=now),
    )
    params = filters.as_query()
    view_only = {"view": params["view"]} if "view" in params else {}
    return {
        "nav_active": "inbox",
        "page": page,
        "rows": rows,
        "rows_html": presenters.rows_html(rows),
        "filters": filters,
        "query": urlencode(params),
        "clean_url": _inbox_url(params),
        "page_url": _inbox_url({**params, "cursor": page.cursor} if page.cursor else params),
        "view_url": _inbox_url(view_only),
        "has_filters": params != view_only,
        "next_url": _inbox_url({**params, "cursor": page.next_cursor}) if page.next_cursor else "",
        "since": timezone.now().isoformat(),
        "bulk_form": BulkForm(agents=agents, auto_id="bulk-%s"),
        "view_form": SavedViewForm(auto_id="view-%s"),
        "is_lead": _is_lead(request),
        "count_cap": selectors.COUNT_CAP,
    }


@staff_required()
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    saved = _saved_views(request.user)
    filters = _checked_filters(request.GET, saved)
    number = selectors.ticket_number_in(filters.q) if filters.q else None
    if number is not None and Ticket.objects.filter(number=number).exists():
        url = reverse("tickets:detail", kwargs={"number": number})
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    agents, teams = _agents(), list(Team.objects.all())
    context = {"missing_number": number, **_list_context(request, filters, agents, teams)}
    if request.htmx and request.htmx.target == "inbox-list":
        response = render(request, "tickets/inbox.html#inbox-list", {**context, "fragment": True})
        return push_url(response, context["page_url"])  # the tidy URL, not every empty field
    current = next((v for v in saved if str(v.pk) == filters.view), None)
    context.update(
        view_tabs=_view_tabs(request, filters, saved),
        filter_form=FilterForm(filters, agents=agents, teams=teams),
        current_view=current,
        view_title=current.name if current else VIEW_LABELS.get(filters.view, filters.view),
        can_delete_view=current is not None and _may_delete(request, current),
    )
    return render(request, "tickets/inbox.html", context)


def _since(raw: str) -> datetime:
    """The page's load time as it came back from the browser; junk means "now"."""
    try:
        since = parse_datetime(raw.replace(" ", "+"))  # a "+" that was not URL-encoded
    except ValueError:  # well formed but impossible, e.g. month 13
        since = None
    if since is None:
        return timezone.now()
    return since if timezone.is_aware(since) else timezone.make_aware(since, UTC)


@staff_required()
@require_GET
def inbox_new_count(request: HttpRequest) -> HttpResponse:
    """Polled every 20 s: tickets in the current view with activity since `since`."""
    filters = _checked_filters(request.GET, _saved_views(request.user))
    since = _since(request.GET.get("since", ""))
    context = {
        "new_count": selectors.new_since(user=request.user, filters=filters, since=since),
        "clean_url": _inbox_url(filters.as_query()),
        "count_cap": selectors.COUNT_CAP,
    }
    return render(request, "tickets/inbox.html#new-count", context)


def _bulk_tickets(request: HttpRequest) -> list[Ticket]:
    """The selected tickets of this tenant (ids of other tenants simply match nothing)."""
    ids = {int(v) for v in request.POST.getlist("ticket")[:BULK_LIMIT] if v.isdigit()}
    return list(Ticket.objects.filter(pk__in=ids, merged_into__isnull=True).order_by("number"))


def _bulk_merge(request: HttpRequest, number: int | None, tickets: list[Ticket]) -> None:
    target = Ticket.objects.filter(number=number).first() if number else tickets[0]
    if target is None:
        messages.error(request, _("There is no ticket #%(n)s.") % {"n": number})
        return
    sources = [t for t in tickets if t.pk != target.pk]
    if not sources:
        messages.error(request, _("Select at least two tickets to merge."))
        return
    try:
        merged = services.tickets_bulk_merge(tickets=sources, target=target, actor=request.user)
    except services.TicketError as error:
        messages.error(request, str(error))
        return
    text = ngettext(
        "Merged %(count)d ticket into #%(n)s.", "Merged %(count)d tickets into #%(n)s.", merged
    )
    messages.success(request, text % {"count": merged, "n": target.number})


def _bulk_update(request: HttpRequest, form: BulkForm, tickets: list[Ticket]) -> None:
    changes, tags = form.changes(request.user), form.tag_names()
    if not changes and not tags:
        messages.error(request, _("Choose what to change first."))
        return
    result = services.tickets_bulk_update(tickets=tickets, actor=request.user, tags=tags, **changes)
    text = ngettext("Updated %(count)d ticket.", "Updated %(count)d tickets.", result.updated) % {
        "count": result.updated
    }
    if result.skipped:
        numbers = ", ".join(f"#{n}" for n in result.skipped)
        text += " " + _("Skipped, not allowed in their current state: %(numbers)s.") % {
            "numbers": numbers
        }
    (messages.warning if result.skipped else messages.success)(request, text)


@staff_required()
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    """Bulk assign / status / priority / tags / merge. The query string carries the filters
    of the list to go back to."""
    agents = _agents()
    form = BulkForm(request.POST, agents=agents)
    tickets = _bulk_tickets(request)
    if not form.is_valid():
        messages.error(request, _("That bulk action is not valid."))
    elif not tickets:
        messages.error(request, _("Select at least one ticket first."))
    elif form.cleaned_data["action"] == "merge":
        _bulk_merge(request, form.cleaned_data["merge_into"], tickets)
    else:
        _bulk_update(request, form, tickets)
    saved = _saved_views(request.user)
    filters = _checked_filters(request.GET, saved)
    if not request.htmx:
        return redirect(_inbox_url(filters.as_query()))
    context = _list_context(request, filters, agents, list(Team.objects.all()))
    context.update(
        fragment=True, counts_oob=True, view_tabs=_view_tabs(request, filters, saved, fresh=True)
    )
    return render(request, "tickets/inbox.html#inbox-list", context)


@staff_required()
@require_POST
def view_save(request: HttpRequest) -> HttpResponse:
    """Save the list's filters (posted as a query string) as a personal or shared view."""
    saved = _saved_views(request.user)
    params = _checked_filters(QueryDict(request.POST.get("filters", "")), saved).as_query()
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the view a name."))
        return redirect(_inbox_url(params))
    base = next((v.filters for v in saved if str(v.pk) == str(params.get("view"))), None)
    if base is not None:  # refining a saved view: start from its filters, never nest views
        params = {**base, **{k: v for k, v in params.items() if k != "view"}}
    try:
        view = services.saved_view_create(
            actor=request.user,
            name=form.cleaned_data["name"],
            filters=params,
            shared=form.cleaned_data["shared"],
        )  # PermissionDenied (a 403) when an agent tries to share
    except services.TicketError as error:
        messages.error(request, str(error))
        return redirect(_inbox_url(params))
    messages.success(request, _("Saved the view “%(name)s”.") % {"name": view.name})
    return redirect(_inbox_url({"view": view.pk}))


@staff_required()
@require_POST
def view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    view = next((v for v in _saved_views(request.user) if v.pk == view_id), None)
    if view is None:
        raise Http404
    services.saved_view_delete(view=view, actor=request.user)  # PermissionDenied: a 403
    messages.success(request, _("Deleted the view “%(name)s”.") % {"name": view.name})
    return redirect("tickets:inbox")

"""Reads for tickets: the inbox (filters through an allow-list, keyset pagination, capped
counts), one ticket for an agent, a contact's 360° view."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import TrigramSimilarity
from django.core.cache import cache
from django.db.models import Exists, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from helpdesk.accounts.models import User
from helpdesk.lib import clock
from helpdesk.tenancy.context import require_current_tenant
from sla import display as sla_display

from . import search
from .models import (
    Contact,
    Message,
    Ticket,
    TicketEvent,
    TicketRead,
    TicketTag,
)

PAGE_SIZE = 50
COUNT_CAP = 999
COUNTS_TTL = 60  # seconds; any ticket change in the tenant drops the cached counts sooner

logger = logging.getLogger(__name__)


def contact_for_user(user: User) -> Contact | None:
    """The current tenant's portal contact signed in as `user`, if any."""
    if not user.is_authenticated:
        return None
    return Contact.objects.filter(user=user).first()


# --- Inbox filters ---------------------------------------------------------------------------
# Request parameters never name ORM lookups: each accepted parameter maps to one fixed lookup,
# values are validated against the field's choices, and unknown parameters are ignored.

CHOICE_FILTERS = {
    "status": ("status__in", Ticket.Status.values),
    "priority": ("priority__in", Ticket.Priority.values),
    "channel": ("channel__in", Ticket.Channel.values),
    "category": ("category__in", Ticket.Category.values),
    "type": ("type__in", Ticket.Type.values),
    "tier": ("tier__in", ["1", "2", "3"]),
}
SORTS = {
    "activity": ("-last_activity_at", "-id"),
    "oldest": ("last_activity_at", "id"),
    "newest": ("-created_at", "-id"),
    "created": ("created_at", "id"),
}
BUILT_IN_VIEWS = ("mine", "unassigned", "team", "open", "at_risk", "pending", "solved", "all")
# Open tickets with a running SLA clock past 75 % of its target (amber or red), soonest due
# first: its own order and keyset (`_at_risk_page`); `sort` does not apply.
AT_RISK = "at_risk"


@dataclass
class InboxFilters:
    view: str = "open"
    choices: dict[str, list[str]] = field(default_factory=dict)
    assignee: str = ""  # "me", "none" or a user id
    team: int | None = None
    tag: str = ""
    language: str = ""
    created_from: date | None = None
    created_to: date | None = None
    q: str = ""
    sort: str = "activity"
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, params: QueryDict | dict) -> InboxFilters:
        get_list = params.getlist if isinstance(params, QueryDict) else (
            lambda k: [v] if isinstance(v := params.get(k), str) else list(v or [])
        )  # fmt: skip
        filters = cls()
        view = (params.get("view") or "open").strip()
        filters.view = view if view in BUILT_IN_VIEWS or view.isdigit() else "open"
        if view not in BUILT_IN_VIEWS and not view.isdigit():
            filters.errors.append(f"view={view}")
        for name, (_lookup, allowed) in CHOICE_FILTERS.items():
            values = [v for raw in get_list(name) for v in raw.split(",") if v]
            good = [v for v in values if v in allowed]
            filters.errors += [f"{name}={v}" for v in values if v not in allowed]
            if good:
                filters.choices[name] = good
        assignee = (params.get("assignee") or "").strip()
        if assignee in {"me", "none"} or assignee.isdigit():
            filters.assignee = assignee
        elif assignee:
            filters.errors.append(f"assignee={assignee}")
        team = (params.get("team") or "").strip()
        if team.isdigit():
            filters.team = int(team)
        elif team:
            filters.errors.append(f"team={team}")
        filters.tag = (params.get("tag") or "").strip().lower()[:50]
        filters.language = (params.get("language") or "").strip()[:10]
        for name in ("created_from", "created_to"):
            raw = (params.get(name) or "").strip()
            if raw:
                try:
                    value = parse_date(raw) if len(raw) == 10 else None
                except ValueError:  # well formed but impossible: 2024-13-45
                    value = None
                if value is None:
                    filters.errors.append(f"{name}={raw}")
                setattr(filters, name, value)
        filters.q = (params.get("q") or "").strip()[:200]
        sort = (params.get("sort") or "activity").strip()
        filters.sort = sort if sort in SORTS else "activity"
        if sort not in SORTS:
            filters.errors.append(f"sort={sort}")
        return filters

    def as_query(self) -> dict[str, Any]:
        """Back to URL parameters (for links that keep the current filters)."""
        out: dict[str, Any] = {"view": self.view} if self.view != "open" else {}
        out.update({k: ",".join(v) for k, v in self.choices.items()})
        for name in ("assignee", "tag", "language", "q"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.team:
            out["team"] = self.team
        for name in ("created_from", "created_to"):
            if getattr(self, name):
                out[name] = getattr(self, name).isoformat()
        if self.sort != "activity":
            out["sort"] = self.sort
        return out


def _view_q(view: str, user: User) -> Q:
    open_statuses = list(Ticket.OPEN_STATUSES)
    if view == "mine":
        return Q(assignee=user, status__in=open_statuses)
    if view == "unassigned":
        return Q(assignee__isnull=True, status__in=open_statuses)
    if view == "team":
        teams = user.team_memberships.values("team_id")
        return Q(team__in=teams, status__in=open_statuses)
    if view == AT_RISK:
        return Q(status__in=open_statuses, pk__in=sla_display.at_risk_ticket_ids(now=clock.now()))
    if view == "pending":
        return Q(status=Ticket.Status.PENDING)
    if view == "solved":
        return Q(status=Ticket.Status.SOLVED, solved_at__gte=timezone.now() - timezone.timedelta(7))
    if view == "all":
        return Q()
    return Q(status__in=open_statuses)


def _saved_view_filters(view_id: int, user: User) -> InboxFilters | None:
    from .models import SavedView

    saved = (
        SavedView.objects.filter(pk=view_id).filter(Q(owner__isnull=True) | Q(owner=user)).first()
    )
    return InboxFilters.from_query(saved.filters) if saved else None


def ticket_filter(filters: InboxFilters, *, user: User) -> QuerySet[Ticket]:
    qs = Ticket.objects.filter(merged_into__isnull=True)
    if filters.view.isdigit():
        saved = _saved_view_filters(int(filters.view), user)
        if saved is not None:
            qs = ticket_filter(saved, user=user)
    else:
        qs = qs.filter(_view_q(filters.view, user))
    for name, values in filters.choices.items():
        lookup = CHOICE_FILTERS[name][0]
        qs = qs.filter(**{lookup: values})
    if filters.assignee == "me":
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.tag:
        tagged = TicketTag.objects.filter(ticket=OuterRef("pk"), tag__name__iexact=filters.tag)
        qs = qs.filter(Exists(tagged))
    if filters.language:
        qs = qs.filter(language=filters.language)
    tz = timezone.get_current_timezone()
    if filters.created_from:
        qs = qs.filter(created_at__gte=datetime.combine(filters.created_from, time.min, tz))
    if filters.created_to:
        qs = qs.filter(created_at__lt=datetime.combine(filters.created_to, time.max, tz))
    if filters.q:
        qs = _search(qs, filters.q)
    return qs


def _search(qs: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    query = search.query_for(text)
    condition = Q(search_vector=query) if query is not None else Q(pk__in=[])
    if len(text) >= 3:
        condition |= Q(subject__trigram_word_similar=text)
    return qs.filter(condition)


def ticket_number_in(text: str) -> int | None:
    """`#123` (or a bare number) typed in the search box jumps straight to ticket 123."""
    stripped = text.strip().lstrip("#")
    return int(stripped) if stripped.isdigit() and len(stripped) < 10 else None


# --- Keyset pagination ----------------------------------------------------------------------


def _encode_cursor(ticket: Ticket, sort: str) -> str:
    key = SORTS[sort][0].lstrip("-")
    value = getattr(ticket, key)
    raw = json.dumps([value.isoformat(), ticket.pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        moment = parse_datetime(value)
        return (moment, int(pk)) if moment else None
    except (ValueError, TypeError):
        return None


@dataclass
class InboxPage:
    tickets: list[Ticket]
    next_cursor: str | None
    filters: InboxFilters
    cursor: str | None


def inbox_page(
    *,
    user: User,
    filters: InboxFilters,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    related: tuple[str, ...] = ("requester", "assignee", "team"),
) -> InboxPage:
    """One page of the inbox, newest activity first (or per `filters.sort`), by keyset: the
    cost of page 1,000 is the cost of page 1. `related` are joined in; the inbox page asks for
    the requester only and names assignees and teams from the lists it loads anyway."""
    if filters.view == AT_RISK:
        return _at_risk_page(
            user=user, filters=filters, cursor=cursor, limit=limit, related=related
        )
    order = SORTS[filters.sort]
    key = order[0].lstrip("-")
    descending = order[0].startswith("-")
    qs = ticket_filter(filters, user=user)
    position = decode_cursor(cursor) if cursor else None
    if position:
        value, pk = position
        if descending:
            qs = qs.filter(Q(**{f"{key}__lt": value}) | Q(**{key: value, "id__lt": pk}))
        else:
            qs = qs.filter(Q(**{f"{key}__gt": value}) | Q(**{key: value, "id__gt": pk}))
    # One query in two steps: the page's ids, read in index order (the partial indexes of
    # Ticket.Meta stop after one page), then those rows with what the list shows. Joined in
    # one step, two row-secured tables are misestimated by the planner and it sorts every
    # match instead (bench/README.md).
    page_ids = qs.order_by(*order).values("pk")[: limit + 1]
    rows = list(_list_rows(page_ids, user=user, related=related).order_by(*order))
    next_cursor = _encode_cursor(rows[limit - 1], filters.sort) if len(rows) > limit else None
    return InboxPage(tickets=rows[:limit], next_cursor=next_cursor, filters=filters, cursor=cursor)


def _list_rows(page_ids: QuerySet, *, user: User, related: tuple[str, ...]) -> QuerySet[Ticket]:
    """The tickets of a page (ids as a subquery) with what the list shows."""
    reads = TicketRead.objects.filter(ticket=OuterRef("pk"), user=user, read_at__gte=OuterRef(
        "last_activity_at"))  # fmt: skip
    tags = TicketTag.objects.filter(ticket=OuterRef("pk")).order_by("tag__name")
    return (
        Ticket.objects.filter(pk__in=page_ids)
        .select_related(*related)
        .annotate(is_read=Exists(reads), tag_names=ArraySubquery(tags.values("tag__name")))
        .defer("search_title", "search_body", "search_vector", "custom_fields")
    )


def _at_risk_page(
    *, user: User, filters: InboxFilters, cursor: str | None, limit: int, related: tuple[str, ...]
) -> InboxPage:
    """The "At risk" view: driven from the clocks, read in due order by the partial index
    slatimer_running_due (one clock per ticket, its earliest at risk), restricted to the open
    tickets the other filters allow; keyset on (due_at, timer id). Still one query: the page's
    clocks as a subquery, each row then carrying its clock's due time and id for the order
    and the cursor."""
    now = clock.now()
    allowed = ticket_filter(replace(filters, view="open"), user=user)
    timers = sla_display.at_risk_timers(now=now).filter(ticket_id__in=allowed.values("pk"))
    position = decode_cursor(cursor) if cursor else None
    if position:
        due, timer_id = position
        timers = timers.filter(Q(due_at__gt=due) | Q(due_at=due, pk__gt=timer_id))
    page = timers.values("ticket_id")[: limit + 1]
    first = sla_display.at_risk_timers(now=now).filter(ticket_id=OuterRef("pk"))
    rows = list(
        _list_rows(page, user=user, related=related)
        .annotate(
            risk_due=Subquery(first.values("due_at")[:1]),
            risk_timer=Subquery(first.values("pk")[:1]),
        )
        .order_by("risk_due", "risk_timer")
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        raw = json.dumps([last.risk_due.isoformat(), last.risk_timer])
        next_cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return InboxPage(tickets=rows[:limit], next_cursor=next_cursor, filters=filters, cursor=cursor)


def user_names(ids: set[int]) -> dict[int, str]:
    """Display names of users by id (assignees who are no longer listed as members)."""
    if not ids:
        return {}
    return {
        u.pk: u.get_full_name() for u in User.objects.filter(pk__in=ids).only("full_name", "email")
    }


def capped_count(qs: QuerySet, cap: int = COUNT_CAP) -> int:
    """Count up to `cap` (the UI shows "999+"): never a full COUNT over a huge table."""
    return qs.order_by()[: cap + 1].count()


def view_counts(*, user: User, fresh: bool = False) -> dict[str, int]:
    """Capped counts of every built-in view for the inbox tabs.

    Computed in ONE query (up to COUNT_CAP ids per view) and kept in the cache per agent until
    any ticket of the tenant changes (`counts_changed`, called by every TicketEvent) or
    COUNTS_TTL passes: the inbox asks on every load, and in a tenant of 100k tickets the query
    costs 15–40 ms. `fresh` skips the cache (after the agent's own bulk action). A cache that
    is down costs speed, never the page."""
    tenant_id = require_current_tenant().pk
    keys = [f"inbox-counts-gen:{tenant_id}", f"inbox-counts:{tenant_id}:{user.pk}"]
    try:
        cached = {} if fresh else cache.get_many(keys)
    except Exception:  # noqa: BLE001 - Redis down: count without it
        cached, keys = {}, []
    generation = cached.get(keys[0]) if keys else None
    entry = cached.get(keys[1]) if keys else None
    if entry and generation is not None and entry[0] == generation:
        return entry[1]
    counts = _count_views(user)
    if keys:
        if generation is None:
            generation = uuid.uuid4().hex
            _cache_quietly(cache.add, keys[0], generation, None)
        _cache_quietly(cache.set, keys[1], (generation, counts), COUNTS_TTL)
    return counts


def counts_changed(tenant_id: int) -> None:
    """Every agent's cached view counts of this tenant are stale (after commit, from events)."""
    _cache_quietly(cache.set, f"inbox-counts-gen:{tenant_id}", uuid.uuid4().hex, None)


def _cache_quietly(method: Callable, *args: Any) -> None:
    try:
        method(*args)
    except Exception:  # noqa: BLE001 - the cache is an optimisation; the next read recounts
        logger.warning("cache write failed (%s)", method.__name__, exc_info=True)


def _count_views(user: User) -> dict[str, int]:
    from helpdesk.tenancy.models import Tenant

    counts = {
        view: Func(
            ArraySubquery(
                ticket_filter(InboxFilters(view=view), user=user)
                .order_by()
                .values("pk")[: COUNT_CAP + 1]
            ),
            function="cardinality",
            output_field=IntegerField(),
        )
        for view in BUILT_IN_VIEWS
    }
    return Tenant.objects.filter(pk=require_current_tenant().pk).values(**counts).get()


def new_since(*, user: User, filters: InboxFilters, since: datetime) -> int:
    """Tickets in the current view with activity after `since` (the refreshing badge)."""
    return capped_count(ticket_filter(filters, user=user).filter(last_activity_at__gt=since))


# --- One ticket -----------------------------------------------------------------------------


def ticket_get_for_agent(*, number: int) -> Ticket:
    """Raises Ticket.DoesNotExist (a 404) for numbers of other tenants: the manager is scoped."""
    return Ticket.objects.select_related("requester", "requester__organization", "assignee",
                                         "team", "merged_into").get(number=number)  # fmt: skip


def ticket_thread(ticket: Ticket, *, include_notes: bool = True) -> list[Message]:
    qs = Message.objects.filter(ticket=ticket).select_related("author_user", "author_contact")
    if not include_notes:
        qs = qs.filter(kind=Message.Kind.REPLY)
    return list(qs.prefetch_related("attachments").order_by("created_at", "id")[:500])


def ticket_timeline(ticket: Ticket) -> list[TicketEvent]:
    return list(
        TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("-id")[:200]
    )


def ticket_tag_names(ticket: Ticket) -> list[str]:
    return sorted(TicketTag.objects.filter(ticket=ticket).values_list("tag__name", flat=True))


def contact_other_tickets(contact: Contact, *, exclude: Ticket | None = None, limit: int = 20):
    qs = Ticket.objects.filter(requester=contact).order_by("-created_at", "-id")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return list(qs.only("number", "subject", "status", "channel", "created_at")[:limit])


def contact_search(text: str, *, limit: int = 20) -> list[Contact]:
    text = text.strip()
    if not text:
        return []
    qs = Contact.objects.filter(merged_into__isnull=True).filter(
        Q(name__icontains=text) | Q(email__icontains=text) | Q(phone__icontains=text)
    )
    if len(text) >= 3:
        qs = qs.annotate(sim=TrigramSimilarity("name", text)).order_by("-sim", "name")
    return list(qs[:limit])

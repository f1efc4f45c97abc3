"""The agents' inbox (/agent/inbox/): views, filters, keyset pages, search jump, bulk actions,
saved views, the new-activity badge, htmx partials, tenancy and the query budget."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from tests.factories import ContactFactory, MembershipFactory, make_ticket
from tests.helpers import host_of, sign_in
from tickets import selectors, services
from tickets.models import SavedView, Team, TeamMember, Ticket, TicketTag

INBOX = "/agent/inbox/"
HTMX_LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "inbox-list"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def agent_client(client, tenant_a, agent):
    return sign_in(client, agent, tenant_a)


@pytest.fixture
def manager(tenant_a):
    return MembershipFactory(
        tenant=tenant_a, user__email="manager@alpha.test", role=Membership.Role.MANAGER
    ).user


@pytest.fixture
def colleague(tenant_a):
    return MembershipFactory(tenant=tenant_a, user__email="colleague@alpha.test").user


def update(tenant, ticket, actor=None, **changes):
    with tenant_context(tenant):
        services.ticket_update(ticket=ticket, actor=actor, **changes)


def numbers(response) -> list[int]:
    return [t.number for t in response.context["page"].tickets]


def subjects(response) -> set[str]:
    return {t.subject for t in response.context["page"].tickets}


def reload(tenant, ticket) -> Ticket:
    with tenant_context(tenant):
        return Ticket.objects.get(pk=ticket.pk)


# --- Access ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, tenant_a):
    response = client.get(INBOX, HTTP_HOST=host_of(tenant_a))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_staff_of_another_tenant_gets_404(client, tenant_a, outsider):
    sign_in(client, outsider, tenant_a)
    assert client.get(INBOX).status_code == 404


def test_customer_gets_404(client, tenant_a, customer):
    sign_in(client, customer, tenant_a)
    assert client.get(INBOX).status_code == 404


# --- Built-in views and counts --------------------------------------------------------------


@pytest.fixture
def spread(tenant_a, agent, colleague):
    """One ticket for each built-in view, plus a closed one that no view shows."""
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Billing", tier=2)
        TeamMember.objects.create(team=team, user=agent)
    tickets = {
        "mine": make_ticket(tenant_a, subject="Mine open", assignee=agent),
        "colleague": make_ticket(tenant_a, subject="Colleague open", assignee=colleague),
        "unassigned": make_ticket(tenant_a, subject="Nobody's"),
        "team": make_ticket(tenant_a, subject="Billing team", team=team, assignee=colleague),
        "pending": make_ticket(tenant_a, subject="Waiting on customer", assignee=colleague),
        "solved": make_ticket(tenant_a, subject="Solved yesterday", assignee=agent),
        "closed": make_ticket(tenant_a, subject="Long closed"),
    }
    update(tenant_a, tickets["pending"], status=Ticket.Status.PENDING)
    update(tenant_a, tickets["solved"], status=Ticket.Status.SOLVED)
    update(tenant_a, tickets["closed"], status=Ticket.Status.SOLVED)
    update(tenant_a, tickets["closed"], status=Ticket.Status.CLOSED)
    return tickets


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"Mine open"}),
        ("unassigned", {"Nobody's"}),
        ("team", {"Billing team"}),
        ("open", {"Mine open", "Colleague open", "Nobody's", "Billing team",
                  "Waiting on customer"}),
        ("pending", {"Waiting on customer"}),
        ("solved", {"Solved yesterday"}),
        ("all", {"Mine open", "Colleague open", "Nobody's", "Billing team",
                 "Waiting on customer", "Solved yesterday", "Long closed"}),
    ],
)  # fmt: skip
def test_each_built_in_view(agent_client, spread, view, expected):
    response = agent_client.get(INBOX, {"view": view})
    assert response.status_code == 200
    assert subjects(response) == expected
    current = re.search(
        rb'aria-current="page">\s*(.*?)\s*<span class="badge[^"]*">(\d+)<', response.content
    )
    assert current is not None
    assert int(current.group(2)) == len(expected)


def test_default_view_is_all_open_and_tabs_show_counts(agent_client, spread):
    response = agent_client.get(INBOX)
    assert response.context["filters"].view == "open"
    tabs = {tab["label"]: tab["count"] for tab in response.context["view_tabs"]}
    assert tabs["My open"] == 1
    assert tabs["Unassigned"] == 1
    assert tabs["All open"] == 5
    html = response.content.decode()
    assert "Pending on customer" in html
    assert "Solved recently" in html


def test_counts_above_the_cap_show_999_plus(agent_client, tenant_a):
    requester = ContactFactory(tenant=tenant_a, user=None)
    with tenant_context(tenant_a):  # plain rows are enough to be counted
        rows = [Ticket(number=n, subject=f"Bulk {n}", requester=requester) for n in range(1, 1002)]
        Ticket.objects.bulk_create(rows)
    html = agent_client.get(INBOX).content.decode()
    assert re.search(r'badge badge-accent">999\+<', html)


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_view_counts_are_cached_until_a_ticket_of_the_tenant_changes(
    tenant_a, agent, django_assert_num_queries
):
    """Real commits (the cache is dropped on commit), so no test transaction around it."""
    ticket = make_ticket(tenant_a, subject="Count me")
    with tenant_context(tenant_a):
        before = selectors.view_counts(user=agent)
        with django_assert_num_queries(0):  # the agent's next inbox loads read the cache
            assert selectors.view_counts(user=agent) == before
        with transaction.atomic():
            services.ticket_update(ticket=ticket, actor=agent, assignee=agent)
            assert selectors.view_counts(user=agent) == before  # not committed yet
        after = selectors.view_counts(user=agent)
    assert after["mine"] == before["mine"] + 1
    assert after["unassigned"] == before["unassigned"] - 1


def test_view_counts_without_a_cache_are_counted_not_lost(tenant_a, agent, settings):
    make_ticket(tenant_a, subject="Still counted")
    settings.CACHES = {  # nothing listens on port 1: every cache call fails at once
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with tenant_context(tenant_a):
        assert selectors.view_counts(user=agent)["open"] == 1
        selectors.counts_changed(tenant_a.pk)  # logs, does not raise


# --- Rows -----------------------------------------------------------------------------------


def test_row_shows_channel_requester_status_priority_assignee_team_and_unread(
    agent_client, tenant_a, agent
):
    requester = ContactFactory(tenant=tenant_a, name="Wang Fang", email="wang@example.cn")
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Escalations", tier=2)
    seen = make_ticket(tenant_a, subject="Seen it", channel=Ticket.Channel.EMAIL)
    fresh = make_ticket(
        tenant_a,
        subject="Refund please",
        body="My order never arrived",
        requester=requester,
        channel=Ticket.Channel.WECHAT,
        priority=Ticket.Priority.URGENT,
        assignee=agent,
        team=team,
        tags=["refund"],
    )
    with tenant_context(tenant_a):
        services.ticket_mark_read(ticket=seen, user=agent)
    html = agent_client.get(INBOX).content.decode()
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Refund please.*?</tr>", html, re.S).group(0)
    assert 'class="is-unread"' in row
    assert "WeChat" in row and 'class="channel-icon channel-wechat"' in row
    assert "Wang Fang" in row and "My order never arrived" in row
    assert "chip chip-status-open" in row and "chip chip-priority-urgent" in row
    assert agent.get_full_name() in row and "Escalations" in row and "Escalations · Tier 2" in row
    assert 'class="chip chip-tag">refund<' in row
    assert f'href="{reverse("tickets:detail", kwargs={"number": fresh.number})}"' in row
    seen_row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Seen it.*?</tr>", html, re.S).group(0)
    assert "is-unread" not in seen_row
    assert "chip-sla-" not in html  # the SLA slot stays empty until tickets have sla_due_at


def test_row_names_an_assignee_who_left_the_team(agent_client, tenant_a, colleague):
    make_ticket(tenant_a, subject="Left behind", assignee=colleague)
    with tenant_context(tenant_a):
        Membership.objects.filter(user=colleague).update(is_active=False)
    html = agent_client.get(INBOX).content.decode()
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Left behind.*?</tr>", html, re.S).group(0)
    assert colleague.get_full_name() in row


def test_row_values_are_escaped(agent_client, tenant_a):
    requester = ContactFactory(tenant=tenant_a, name='<img src=x onerror="alert(1)">')
    make_ticket(tenant_a, subject="<script>alert('s')</script>", requester=requester,
                body="<b>snip</b> & more", tags=["<i>t</i>"])  # fmt: skip
    html = agent_client.get(INBOX).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<i>t</i>" not in html
    assert "&lt;script&gt;alert(&#x27;s&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


# --- Filters --------------------------------------------------------------------------------


def test_filters_narrow_the_list(agent_client, tenant_a, agent):
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Tier two", tier=2)
    make_ticket(tenant_a, subject="Urgent mail", priority="urgent", channel="email")
    make_ticket(tenant_a, subject="Chat in Chinese", channel="chat", language="zh-hans")
    make_ticket(tenant_a, subject="Tagged", tags=["vip"], category="complaint")
    make_ticket(tenant_a, subject="Team two", team=team)
    make_ticket(tenant_a, subject="Assigned to me", assignee=agent)

    def shown(**params):
        return subjects(agent_client.get(INBOX, params))

    assert shown(priority="urgent") == {"Urgent mail"}
    assert shown(channel="chat") == {"Chat in Chinese"}
    assert shown(language="zh-hans") == {"Chat in Chinese"}
    assert shown(tag="VIP") == {"Tagged"}
    assert shown(category="complaint") == {"Tagged"}
    assert shown(team=team.pk) == {"Team two"}
    assert shown(tier="2") == {"Team two"}
    assert shown(assignee="me") == {"Assigned to me"}
    assert shown(assignee=str(agent.pk)) == {"Assigned to me"}
    assert shown(status="open") == {"Assigned to me"}
    assert shown(priority="urgent,normal", channel="email") == {"Urgent mail"}
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert shown(created_from=tomorrow) == set()
    assert len(shown(created_to=tomorrow)) == 5


def test_sort_oldest_first(agent_client, tenant_a):
    first = make_ticket(tenant_a, subject="First")
    second = make_ticket(tenant_a, subject="Second")
    assert numbers(agent_client.get(INBOX))[:2] == [second.number, first.number]
    assert numbers(agent_client.get(INBOX, {"sort": "oldest"}))[:2] == [first.number, second.number]


def test_filter_form_keeps_the_chosen_values(agent_client, tenant_a):
    make_ticket(tenant_a)
    html = agent_client.get(INBOX, {"priority": "high", "q": "printer", "tag": "x"}).content
    html = html.decode()
    assert '<option value="high" selected>' in html
    assert 'value="printer"' in html
    assert re.search(r'<details class="more-filters" open>', html)  # tag lives under "More"


def test_invalid_filters_are_ignored_and_listed(agent_client, tenant_a):
    make_ticket(tenant_a, subject="Still listed")
    response = agent_client.get(
        INBOX, {"status": "bogus", "sort": "assignee__password", "team": "x", "view": "nope"}
    )
    assert response.status_code == 200
    assert subjects(response) == {"Still listed"}
    html = response.content.decode()
    assert "Some filters were not understood and were ignored" in html
    for ignored in ("status=bogus", "sort=assignee__password", "team=x", "view=nope"):
        assert f"<code>{ignored}</code>" in html
    assert "data-dismiss" in html  # dismissible
    assert f'href="{INBOX}"' in html  # … and a link to the list without them


def test_garbage_cursor_and_dates_never_500(agent_client, tenant_a):
    make_ticket(tenant_a)
    huge = "9" * 25
    for params in (
        {"cursor": "!!!"},
        {"cursor": "eyJ4Ijox"},
        {"created_from": "2024-13-45"},
        {"team": huge},
        {"assignee": huge},
        {"view": huge},
    ):
        assert agent_client.get(INBOX, params).status_code == 200, params
    new_count = reverse("tickets:inbox_new_count")
    assert agent_client.get(new_count, {"since": "2024-13-45T10:00:00"}).status_code == 200


# --- Keyset pagination ----------------------------------------------------------------------


def test_next_page_follows_the_cursor_link_without_offset(agent_client, tenant_a):
    requester = ContactFactory(tenant=tenant_a, user=None)
    for i in range(60):
        make_ticket(tenant_a, subject=f"T{i}", requester=requester)
    first = agent_client.get(INBOX, {"priority": "normal"})
    assert len(numbers(first)) == 50
    next_url = first.context["next_url"]
    assert "cursor=" in next_url and "priority=normal" in next_url
    assert f'href="{next_url.replace("&", "&amp;")}"' in first.content.decode()
    with CaptureQueriesContext(connection) as queries:
        second = agent_client.get(next_url)
    assert not any("OFFSET" in q["sql"] for q in queries.captured_queries)
    assert len(numbers(second)) == 10
    assert set(numbers(first)).isdisjoint(numbers(second))
    assert sorted(numbers(first) + numbers(second)) == list(range(1, 61))
    assert second.context["next_url"] == ""
    assert 'rel="first"' in second.content.decode()


# --- Search and #123 jump -------------------------------------------------------------------


def test_search_finds_subjects_messages_and_contacts(agent_client, tenant_a):
    make_ticket(tenant_a, subject="Printer jam", body="paper everywhere")
    who = ContactFactory(tenant=tenant_a, name="Zhang Wei", email="zhang@example.cn", user=None)
    make_ticket(tenant_a, subject="Login trouble", requester=who)
    make_ticket(tenant_a, subject="退款申请", body="我的订单还没有发货")
    assert subjects(agent_client.get(INBOX, {"q": "printer"})) == {"Printer jam"}
    assert subjects(agent_client.get(INBOX, {"q": "everywhere"})) == {"Printer jam"}
    assert subjects(agent_client.get(INBOX, {"q": "zhang"})) == {"Login trouble"}
    assert subjects(agent_client.get(INBOX, {"q": "发货"})) == {"退款申请"}


def test_hash_number_jumps_to_the_ticket(agent_client, tenant_a):
    make_ticket(tenant_a)
    ticket = make_ticket(tenant_a)
    url = reverse("tickets:detail", kwargs={"number": ticket.number})
    response = agent_client.get(INBOX, {"q": f"#{ticket.number}"})
    assert response.status_code == 302 and response.url == url
    response = agent_client.get(INBOX, {"q": f"#{ticket.number}"}, **HTMX_LIST)
    assert response.status_code == 200 and response["HX-Redirect"] == url


def test_hash_number_of_no_ticket_here_searches_instead(agent_client, tenant_a, tenant_b):
    make_ticket(tenant_a)
    make_ticket(tenant_b)
    make_ticket(tenant_b)  # tenant B has a #2, tenant A does not
    response = agent_client.get(INBOX, {"q": "#2"})
    assert response.status_code == 200
    assert "There is no ticket #2 here" in response.content.decode()


# --- Bulk actions ---------------------------------------------------------------------------


def bulk(client, tickets, query: str = "", **data):
    url = reverse("tickets:inbox_bulk") + (f"?{query}" if query else "")
    return client.post(url, {"ticket": [t.pk for t in tickets], **data}, follow=True)


def test_bulk_assign_to_me_to_an_agent_and_unassign(agent_client, tenant_a, agent, colleague):
    a, b = make_ticket(tenant_a), make_ticket(tenant_a)
    response = bulk(agent_client, [a, b], action="update", assignee="me")
    assert "Updated 2 tickets." in response.content.decode()
    assert reload(tenant_a, a).assignee == agent and reload(tenant_a, b).assignee == agent
    bulk(agent_client, [a], action="update", assignee=str(colleague.pk))
    assert reload(tenant_a, a).assignee == colleague
    bulk(agent_client, [a, b], action="update", assignee="none")
    assert reload(tenant_a, a).assignee is None and reload(tenant_a, b).assignee is None


def test_bulk_status_priority_and_tags(agent_client, tenant_a):
    a, b = make_ticket(tenant_a, tags=["old"]), make_ticket(tenant_a)
    bulk(agent_client, [a, b], action="update", status="pending", priority="high",
         tags="refund, VIP")  # fmt: skip
    for ticket in (a, b):
        fresh = reload(tenant_a, ticket)
        assert (fresh.status, fresh.priority) == ("pending", "high")
    with tenant_context(tenant_a):
        names = set(TicketTag.objects.filter(ticket=a).values_list("tag__name", flat=True))
    assert names == {"old", "refund", "vip"}


def test_bulk_reports_skipped_tickets(agent_client, tenant_a):
    solved, fresh = make_ticket(tenant_a), make_ticket(tenant_a)
    update(tenant_a, solved, status=Ticket.Status.SOLVED)
    html = bulk(agent_client, [solved, fresh], action="update", status="closed").content.decode()
    assert "Updated 1 ticket." in html
    assert f"#{fresh.number}" in html.split("Skipped")[1]
    assert reload(tenant_a, fresh).status == "new"


def test_bulk_needs_a_change_and_a_selection(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    assert (
        "Choose what to change first."
        in bulk(agent_client, [ticket], action="update").content.decode()
    )
    assert (
        "Select at least one ticket first."
        in bulk(agent_client, [], action="update", status="open").content.decode()
    )


def test_bulk_merge_into_the_oldest_selected(agent_client, tenant_a):
    oldest, b, c = make_ticket(tenant_a), make_ticket(tenant_a), make_ticket(tenant_a)
    html = bulk(agent_client, [c, oldest, b], action="merge").content.decode()
    assert f"Merged 2 tickets into #{oldest.number}." in html
    assert reload(tenant_a, b).merged_into_id == oldest.pk
    assert reload(tenant_a, c).merged_into_id == oldest.pk
    assert reload(tenant_a, oldest).merged_into_id is None


def test_bulk_merge_into_a_chosen_number(agent_client, tenant_a):
    target, a = make_ticket(tenant_a), make_ticket(tenant_a)
    bulk(agent_client, [a], action="merge", merge_into=target.number)
    assert reload(tenant_a, a).merged_into_id == target.pk
    html = bulk(agent_client, [target], action="merge", merge_into=999).content.decode()
    assert "There is no ticket #999." in html


def test_bulk_redirects_back_to_the_same_filters(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(
        reverse("tickets:inbox_bulk") + "?priority=high&sort=oldest&bogus=1",
        {"ticket": [ticket.pk], "action": "update", "status": "open"},
    )
    assert response.status_code == 302
    assert response.url == f"{INBOX}?priority=high&sort=oldest"


def test_bulk_with_htmx_returns_the_list_with_messages_and_counts(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    response = agent_client.post(
        reverse("tickets:inbox_bulk"),
        {"ticket": [ticket.pk], "action": "update", "assignee": "me"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="inbox-list",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="inbox-list"' in html
    assert (
        'id="messages" class="messages" hx-swap-oob="true"' in html and "Updated 1 ticket." in html
    )
    assert 'id="inbox-views" class="inbox-views" aria-label="Views" hx-swap-oob="true"' in html


def test_bulk_ignores_ticket_ids_of_another_tenant(client, tenant_a, tenant_b, outsider):
    victim = make_ticket(tenant_a, subject="Victim")
    own = make_ticket(tenant_b)
    sign_in(client, outsider, tenant_b)
    response = client.post(
        reverse("tickets:inbox_bulk"),
        {"ticket": [victim.pk, own.pk], "action": "update", "status": "pending",
         "priority": "urgent", "assignee": "me", "tags": "pwned"},
    )  # fmt: skip
    assert response.status_code == 302
    fresh = reload(tenant_a, victim)
    assert (fresh.status, fresh.priority, fresh.assignee_id) == ("new", "normal", None)
    with tenant_context(tenant_a):
        assert not TicketTag.objects.filter(ticket=victim).exists()
    assert reload(tenant_b, own).status == "pending"
    client.post(reverse("tickets:inbox_bulk"), {"ticket": [victim.pk], "action": "merge",
                                                "merge_into": own.number})  # fmt: skip
    assert reload(tenant_a, victim).merged_into_id is None


def test_bulk_rejects_an_assignee_from_another_tenant(agent_client, tenant_a, outsider):
    ticket = make_ticket(tenant_a)
    html = bulk(agent_client, [ticket], action="update", assignee=str(outsider.pk)).content
    assert "That bulk action is not valid." in html.decode()
    assert reload(tenant_a, ticket).assignee_id is None


# --- Saved views ----------------------------------------------------------------------------


def save_view(client, name: str, query: str, shared: bool = False):
    data = {"name": name, "filters": query}
    if shared:
        data["shared"] = "on"
    return client.post(reverse("tickets:view_save"), data)


def test_personal_view_is_saved_applied_and_private(client, tenant_a, agent, colleague):
    make_ticket(tenant_a, subject="Urgent one", priority="urgent")
    make_ticket(tenant_a, subject="Normal one")
    sign_in(client, agent, tenant_a)
    response = save_view(client, "My urgent", "priority=urgent&bogus=1")
    with tenant_context(tenant_a):
        view = SavedView.objects.get()
    assert (view.owner, view.filters) == (agent, {"priority": "urgent"})
    assert response.url == f"{INBOX}?view={view.pk}"
    page = client.get(response.url)
    assert subjects(page) == {"Urgent one"}
    assert page.context["view_title"] == "My urgent"
    assert "Delete this view" in page.content.decode()
    sign_in(client, colleague, tenant_a)
    assert "My urgent" not in client.get(INBOX).content.decode()
    other = client.get(INBOX, {"view": view.pk})
    assert f"<code>view={view.pk}</code>" in other.content.decode()
    assert subjects(other) == {"Urgent one", "Normal one"}
    assert client.post(reverse("tickets:view_delete", args=[view.pk])).status_code == 404


def test_saving_on_a_saved_view_refines_it(agent_client, tenant_a, agent):
    with tenant_context(tenant_a):
        base = SavedView.objects.create(name="Urgent", owner=agent, filters={"priority": "urgent"})
    save_view(agent_client, "Urgent chats", f"view={base.pk}&channel=chat")
    with tenant_context(tenant_a):
        refined = SavedView.objects.exclude(pk=base.pk).get()
    assert refined.filters == {"priority": "urgent", "channel": "chat"}


def test_only_admins_and_managers_share_views(client, tenant_a, agent, manager):
    sign_in(client, agent, tenant_a)
    assert save_view(client, "Team queue", "view=unassigned", shared=True).status_code == 403
    assert 'name="shared"' not in client.get(INBOX).content.decode()
    sign_in(client, manager, tenant_a)
    assert 'name="shared"' in client.get(INBOX).content.decode()
    save_view(client, "Team queue", "view=unassigned", shared=True)
    with tenant_context(tenant_a):
        shared = SavedView.objects.get()
    assert shared.owner is None and shared.filters == {"view": "unassigned"}
    sign_in(client, agent, tenant_a)
    page = client.get(INBOX, {"view": shared.pk})
    assert page.context["view_title"] == "Team queue"
    assert "Delete this view" not in page.content.decode()
    assert client.post(reverse("tickets:view_delete", args=[shared.pk])).status_code == 403
    sign_in(client, manager, tenant_a)
    assert client.post(reverse("tickets:view_delete", args=[shared.pk])).status_code == 302
    with tenant_context(tenant_a):
        assert not SavedView.objects.exists()


def test_owner_deletes_a_personal_view(agent_client, tenant_a, agent):
    with tenant_context(tenant_a):
        view = SavedView.objects.create(name="Mine", owner=agent, filters={})
    response = agent_client.post(reverse("tickets:view_delete", args=[view.pk]))
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert not SavedView.objects.exists()


def test_saved_view_needs_a_name(agent_client, tenant_a):
    response = save_view(agent_client, "  ", "priority=high")
    assert response.status_code == 302 and response.url == f"{INBOX}?priority=high"
    with tenant_context(tenant_a):
        assert not SavedView.objects.exists()


def test_saved_views_of_another_tenant_are_404(client, tenant_a, tenant_b, outsider, agent):
    with tenant_context(tenant_a):
        view = SavedView.objects.create(name="Alpha only", owner=None, filters={})
    sign_in(client, outsider, tenant_b)
    assert client.post(reverse("tickets:view_delete", args=[view.pk])).status_code == 404
    assert "Alpha only" not in client.get(INBOX, {"view": view.pk}).content.decode()
    with tenant_context(tenant_a):
        assert SavedView.objects.filter(pk=view.pk).exists()


# --- New-activity badge ---------------------------------------------------------------------


def test_new_count_counts_activity_since_the_page_was_loaded(agent_client, tenant_a):
    make_ticket(tenant_a, subject="Before")
    page = agent_client.get(INBOX)
    since = page.context["since"]
    url = reverse("tickets:inbox_new_count")
    assert f'hx-get="{url}?since=' in page.content.decode()
    empty = agent_client.get(url, {"since": since}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 200 and empty.content.strip() == b""
    make_ticket(tenant_a, subject="After", priority="high")
    make_ticket(tenant_a, subject="After too")
    html = agent_client.get(url, {"since": since}).content.decode()
    assert 'badge badge-accent">2<' in html and "tickets with new activity" in html
    html = agent_client.get(url, {"since": since, "priority": "high"}).content.decode()
    assert 'badge badge-accent">1<' in html and f'href="{INBOX}?priority=high"' in html
    assert agent_client.get(url, {"since": "garbage"}).status_code == 200


# --- htmx partials --------------------------------------------------------------------------


def test_htmx_list_request_gets_only_the_list(agent_client, tenant_a):
    make_ticket(tenant_a, subject="Partial", priority="high")
    full = agent_client.get(INBOX, {"priority": "high"})
    part = agent_client.get(INBOX, {"priority": "high"}, **HTMX_LIST)
    for html in (full.content.decode(), part.content.decode()):
        assert 'id="inbox-list"' in html and "Partial" in html
    part_html = part.content.decode()
    assert "<html" not in part_html and 'id="inbox-filters"' not in part_html
    assert 'id="inbox-views"' not in part_html
    assert "<html" in full.content.decode() and 'id="inbox-views"' in full.content.decode()
    assert 'src="/static/js/shortcuts.js"' in full.content.decode()


def test_filter_form_and_pagination_are_htmx_with_real_urls(agent_client, tenant_a):
    make_ticket(tenant_a)
    html = agent_client.get(INBOX).content.decode()
    assert re.search(r'<form id="inbox-filters"[^>]*method="get" action="/agent/inbox/"', html)
    assert 'hx-target="#inbox-list"' in html and 'hx-push-url="true"' in html
    assert 'data-shortcut="/"' in html and 'data-shortcut="?"' in html
    assert '<dialog id="shortcuts-help"' in html


# --- Query budget ---------------------------------------------------------------------------


def test_query_count_is_small_and_constant(agent_client, tenant_a, agent,
                                           django_assert_max_num_queries):  # fmt: skip
    requester = ContactFactory(tenant=tenant_a, user=None)
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Ops")
        SavedView.objects.create(name="Mine", owner=agent, filters={"priority": "high"})
    for i in range(60):
        make_ticket(tenant_a, subject=f"Load {i}", requester=requester, team=team,
                    assignee=agent if i % 2 else None, tags=["a", "b"])  # fmt: skip
    agent_client.get(INBOX)  # the host → tenant lookup is cached per process
    with CaptureQueriesContext(connection) as full, django_assert_max_num_queries(15):
        agent_client.get(INBOX)
    with CaptureQueriesContext(connection) as partial:
        agent_client.get(INBOX, **HTMX_LIST)
    assert len(partial.captured_queries) <= len(full.captured_queries)
    assert not any("cardinality" in q["sql"] for q in partial.captured_queries)  # no tab counts

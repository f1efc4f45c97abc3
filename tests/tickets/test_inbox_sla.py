"""SLA in the agents' pages: countdown chips in inbox rows (one query for the page), the "At
risk" view (open tickets with a running clock past its warning, soonest due first, keyset
pages, the other filters, its tab count), and the ticket page's header chip and SLA panel
(no query of their own)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from sla.models import SLATimer
from tests.factories import ContactFactory, MembershipFactory, make_ticket
from tests.helpers import sign_in
from tests.sla.factories import SLAPolicyFactory
from tests.sla.helpers import run_pending
from tickets import selectors, services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

INBOX = "/agent/inbox/"
AT_RISK = "/agent/inbox/?view=at_risk"


@pytest.fixture(autouse=True)
def _clean_clock(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def urgent_policy(tenant_a):
    return SLAPolicyFactory(
        tenant=tenant_a, name="Urgent", business_hours=False,
        conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
        first_response_minutes=60, next_response_minutes=120, resolution_minutes=240,
    )  # fmt: skip


@pytest.fixture
def agent_client(client, tenant_a, agent):
    return sign_in(client, agent, tenant_a)


def urgent_ticket(tenant, **kw) -> Ticket:
    ticket = make_ticket(tenant, priority=Ticket.Priority.URGENT, **kw)
    run_pending(tenant)
    return ticket


def row_of(html: str, subject: str) -> str:
    return re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{re.escape(subject)}.*?</tr>", html, re.S).group(0)


def shift_clocks(tenant, ticket, minutes: float) -> None:
    """Move a ticket's clocks back in time, as if it had been opened `minutes` earlier."""
    delta = timedelta(minutes=minutes)
    with tenant_context(tenant):
        for timer in SLATimer.objects.filter(ticket=ticket):
            SLATimer.objects.filter(pk=timer.pk).update(
                started_at=timer.started_at - delta,
                due_at=timer.due_at - delta if timer.due_at else None,
                warn_at=timer.warn_at - delta if timer.warn_at else None,
            )


# --- Inbox chips ----------------------------------------------------------------------------


def test_rows_show_a_green_countdown_then_amber_then_red(agent_client, tenant_a, urgent_policy):
    urgent_ticket(tenant_a, subject="Site down")
    make_ticket(tenant_a, subject="No policy here")
    html = agent_client.get(INBOX).content.decode()
    row = row_of(html, "Site down")
    assert 'class="chip chip-sla-ok"' in row
    assert re.search(r">(59|60)m</time>", row)
    assert "First response: " in row and "until the SLA is due" in row
    assert "chip-sla-" not in row_of(html, "No policy here")
    assert "js/sla-countdown.js" in html and 'data-fmt-hours="%(h)sh %(m)sm"' in html
    clock.travel(minutes=50)
    row = row_of(agent_client.get(INBOX).content.decode(), "Site down")
    assert 'class="chip chip-sla-warning"' in row and "at risk" in row
    clock.travel(minutes=15)
    row = row_of(agent_client.get(INBOX).content.decode(), "Site down")
    assert 'class="chip chip-sla-breached"' in row and "\u2212" in row
    assert "past the SLA deadline" in row


def test_inbox_attaches_sla_with_one_query(agent_client, tenant_a, urgent_policy):
    requester = ContactFactory(tenant=tenant_a, user=None)
    for i in range(3):
        urgent_ticket(tenant_a, subject=f"Few {i}", requester=requester)
    agent_client.get(INBOX)
    with CaptureQueriesContext(connection) as few:
        agent_client.get(INBOX)
    for i in range(30):
        make_ticket(tenant_a, subject=f"Many {i}", requester=requester,
                    priority=Ticket.Priority.URGENT)  # fmt: skip
    run_pending(tenant_a)
    with CaptureQueriesContext(connection) as many:
        html = agent_client.get(INBOX).content.decode()
    assert html.count("data-sla-chip") == 33
    sla_queries = [q for q in many.captured_queries if "sla_slatimer" in q["sql"]]
    # the chips' one DISTINCT ON, and the view counts (At risk) — these are cached per agent
    assert len([q for q in sla_queries if "DISTINCT ON" in q["sql"]]) == 1
    assert len(many.captured_queries) <= len(few.captured_queries) + 1  # counts recomputed
    assert len(many.captured_queries) <= 15


def test_paused_ticket_shows_a_grey_paused_chip(agent_client, tenant_a, agent, urgent_policy):
    ticket = urgent_ticket(tenant_a, subject="Waiting on them")
    with tenant_context(tenant_a):
        services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.PENDING)
    row = row_of(agent_client.get(INBOX + "?view=all").content.decode(), "Waiting on them")
    assert 'class="chip chip-sla-paused"' in row and "Paused" in row


# --- At risk --------------------------------------------------------------------------------


def test_at_risk_lists_amber_and_red_open_tickets_soonest_due_first(
    agent_client, tenant_a, agent, urgent_policy
):
    calm = urgent_ticket(tenant_a, subject="Calm")
    amber = urgent_ticket(tenant_a, subject="Amber")
    red = urgent_ticket(tenant_a, subject="Red")
    solved = urgent_ticket(tenant_a, subject="Solved late")
    shift_clocks(tenant_a, amber, 50)
    shift_clocks(tenant_a, red, 70)
    shift_clocks(tenant_a, solved, 70)
    with tenant_context(tenant_a):
        services.ticket_update(ticket=solved, actor=agent, status=Ticket.Status.SOLVED)
    response = agent_client.get(AT_RISK)
    assert response.status_code == 200
    assert [t.subject for t in response.context["page"].tickets] == ["Red", "Amber"]
    html = response.content.decode()
    assert "chip-sla-breached" in row_of(html, "Red") and "chip-sla-warning" in row_of(
        html, "Amber"
    )
    assert calm.subject not in [t.subject for t in response.context["page"].tickets]
    tab = re.search(r'<a href="/agent/inbox/\?view=at_risk"[^>]*aria-current="page">.*?</a>',
                    html, re.S).group(0)  # fmt: skip
    assert "At risk" in tab and '<span class="badge badge-accent">2</span>' in tab
    assert "soonest due first" in html
    assert "disabled" in re.search(r'<select name="sort"[^>]*>', html).group(0)


def test_at_risk_count_on_the_other_views(agent_client, tenant_a, urgent_policy):
    shift_clocks(tenant_a, urgent_ticket(tenant_a, subject="Hot"), 50)
    html = agent_client.get(INBOX).content.decode()
    tab = re.search(r'<a href="/agent/inbox/\?view=at_risk".*?</a>', html, re.S).group(0)
    assert '<span class="badge badge-sla-risk">1</span>' in tab


def test_at_risk_lists_a_ticket_once_and_applies_the_other_filters(
    agent_client, tenant_a, agent, urgent_policy
):
    mine = urgent_ticket(tenant_a, subject="Mine and hot", assignee=agent)
    other = urgent_ticket(tenant_a, subject="Not mine")
    shift_clocks(tenant_a, mine, 250)  # both clocks breached: still one row
    shift_clocks(tenant_a, other, 50)
    response = agent_client.get(AT_RISK, {"assignee": "me"})
    assert [t.subject for t in response.context["page"].tickets] == ["Mine and hot"]
    response = agent_client.get(AT_RISK)
    assert [t.subject for t in response.context["page"].tickets] == ["Mine and hot", "Not mine"]


def test_at_risk_pages_by_keyset(agent_client, tenant_a, urgent_policy):
    requester = ContactFactory(tenant=tenant_a, user=None)
    tickets = [
        make_ticket(tenant_a, subject=f"Risk {i:02}", requester=requester,
                    priority=Ticket.Priority.URGENT)
        for i in range(55)
    ]  # fmt: skip
    run_pending(tenant_a)
    for i, ticket in enumerate(tickets):
        shift_clocks(tenant_a, ticket, 46 + (55 - i) * 0.1)  # earlier tickets due sooner
    first = agent_client.get(AT_RISK)
    page_one = [t.subject for t in first.context["page"].tickets]
    assert page_one == [f"Risk {i:02}" for i in range(50)]
    next_url = first.context["next_url"]
    assert "view=at_risk" in next_url and "cursor=" in next_url
    with CaptureQueriesContext(connection) as queries:
        second = agent_client.get(next_url)
    assert not any("OFFSET" in q["sql"] for q in queries.captured_queries)
    assert [t.subject for t in second.context["page"].tickets] == [
        f"Risk {i:02}" for i in range(50, 55)
    ]
    assert second.context["next_url"] == ""


def test_at_risk_reads_the_running_due_index(tenant_a, agent, urgent_policy):
    urgent_ticket(tenant_a, subject="Hot")
    with tenant_context(tenant_a), transaction.atomic():
        with connection.cursor() as cursor:  # a handful of rows: make the planner show its hand
            cursor.execute("SET LOCAL enable_seqscan = off")
        timers = selectors.sla_display.at_risk_timers(now=clock.now() + timedelta(minutes=50))
        plan = timers.explain()
    # An index path, not a scan of every clock. (Which index the planner picks on a table of a
    # few rows depends on its statistics; at scale it is slatimer_running_due.)
    assert "Seq Scan on sla_slatimer" not in plan, plan


def test_at_risk_is_empty_and_says_so(agent_client, tenant_a, urgent_policy):
    urgent_ticket(tenant_a, subject="Fresh")
    html = agent_client.get(AT_RISK).content.decode()
    assert "Nothing at risk" in html and "Fresh" not in html


def test_at_risk_of_another_tenant_is_not_listed(client, tenant_a, tenant_b, urgent_policy):
    SLAPolicyFactory(tenant=tenant_b, name="B", business_hours=False,
                     first_response_minutes=60)  # fmt: skip
    theirs = make_ticket(tenant_b, subject="Bravo hot")
    run_pending(tenant_b)
    shift_clocks(tenant_b, theirs, 70)
    ours = urgent_ticket(tenant_a, subject="Alpha hot")
    shift_clocks(tenant_a, ours, 70)
    agent = MembershipFactory(tenant=tenant_a).user
    sign_in(client, agent, tenant_a)
    response = client.get(AT_RISK)
    assert [t.subject for t in response.context["page"].tickets] == ["Alpha hot"]
    assert "Bravo hot" not in response.content.decode()


# --- The ticket page ------------------------------------------------------------------------


def test_ticket_page_shows_the_chip_and_the_panel(agent_client, tenant_a, agent, urgent_policy):
    ticket = urgent_ticket(tenant_a, subject="Site down")
    with tenant_context(tenant_a):
        services.ticket_reply(ticket=ticket, author=agent, body_text="Looking now.")
    html = agent_client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    header = re.search(r'<div id="ticket-header".*?</div>\s*</div>', html, re.S).group(0)
    assert 'class="chip chip-sla-ok"' in header and "data-sla-announce" in header
    assert "Resolution: " in header  # first response met: resolution is the open clock
    panel = re.search(r'<section id="ticket-sla".*?</section>', html, re.S).group(0)
    assert 'hx-trigger="ticket-changed from:body"' in panel and 'hx-select="#ticket-sla"' in panel
    assert "First response" in panel and "Met in " in panel and "Resolution" in panel
    assert "Urgent" in panel and "4 h" in panel
    assert "History (2 entries)" in panel  # first response: started, met
    assert "Started: due " in panel


def test_ticket_page_without_policy_says_none_applies(agent_client, tenant_a):
    ticket = make_ticket(tenant_a)
    html = agent_client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "No SLA policy applies to this ticket." in html
    assert "chip-sla-" not in html


def test_ticket_page_queries_do_not_grow_with_clocks(agent_client, tenant_a, agent, urgent_policy):
    plain = make_ticket(tenant_a)
    agent_client.get(f"/agent/tickets/{plain.number}/")
    agent_client.get(f"/agent/tickets/{plain.number}/")
    with CaptureQueriesContext(connection) as without:
        agent_client.get(f"/agent/tickets/{plain.number}/")
    ticket = urgent_ticket(tenant_a)
    with tenant_context(tenant_a):
        for _ in range(3):  # next-response cycles: more clocks, more events
            services.ticket_reply(ticket=ticket, author=agent, body_text="Answer")
            ticket.refresh_from_db()
            services.ticket_add_inbound(ticket=ticket, contact=ticket.requester, body_text="Q")
            ticket.refresh_from_db()
    agent_client.get(f"/agent/tickets/{ticket.number}/")
    with CaptureQueriesContext(connection) as with_clocks:
        html = agent_client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "Next response #3" in html
    assert len(with_clocks.captured_queries) == len(without.captured_queries)


def test_priority_change_reloads_the_panel_with_new_deadlines(
    agent_client, tenant_a, agent, urgent_policy
):
    ticket = make_ticket(tenant_a, subject="Getting worse")
    run_pending(tenant_a)
    html = agent_client.get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "No SLA policy applies" in html
    with tenant_context(tenant_a):
        services.ticket_update(ticket=ticket, actor=agent, priority=Ticket.Priority.URGENT)
    html = agent_client.get(
        f"/agent/tickets/{ticket.number}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="ticket-sla"
    ).content.decode()
    panel = re.search(r'<section id="ticket-sla".*?</section>', html, re.S).group(0)
    assert "First response" in panel and "chip-sla-" in panel

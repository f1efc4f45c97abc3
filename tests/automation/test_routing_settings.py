"""Settings › Routing, Agents and the availability menu: rules built with the shared builder,
validation errors next to the rows with nothing lost, order, pause, delete after a question,
the audit log, who may see what, "test these rules" (which writes nothing), availability and
capacity picking up the team queue, and the team's assignment strategy."""

from __future__ import annotations

import re

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent, Membership
from tests.factories import ContactFactory, MembershipFactory, make_ticket
from tests.helpers import sign_in, task_callbacks
from tickets.automation.admin_services import SettingsError, routing_rule_save
from tickets.automation.models import AgentProfile, AutomationJob, RoutingRule
from tickets.models import Contact, CustomerTier, Team, TeamMember, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


@pytest.fixture
def billing(tenant_a):
    """Billing (Tier 2), round-robin, with Wang Fang in it."""
    wang = MembershipFactory(
        tenant=tenant_a, user__email="wang@alpha.test", user__full_name="Wang Fang"
    ).user
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Billing", tier=2, assignment="round_robin")
        TeamMember.objects.create(team=team, user=wang)
    return team


def rows(team: Team, **extra) -> dict:
    """The POST of the editor for "VIP refunds", as the builder names its inputs."""
    return {
        "name": "VIP refunds",
        "is_active": "on",
        "stop": "on",
        "match": "all",
        "cond-0-field": "text",
        "cond-0-op": "contains_any",
        "cond-0-value": "退款，refund",
        "act-0-action": "set_team",
        "act-0-value": str(team.pk),
        "act-1-action": "set_priority",
        "act-1-value": "high",
        **extra,
    }


def make_rule(name: str, words: list[str], team: Team, **fields) -> RoutingRule:
    return RoutingRule.objects.create(
        name=name,
        position=fields.pop("position", RoutingRule.objects.count() + 1),
        conditions=[{"field": "text", "op": "contains_any", "value": words}],
        actions=[{"action": "set_team", "value": team.pk}],
        **fields,
    )


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- Create, edit, validate --------------------------------------------------------------------


def test_a_rule_is_built_in_the_editor_saved_as_json_and_listed(admin_client, tenant_a, billing):
    assert admin_client.get("/settings/routing/new/").status_code == 200
    response = admin_client.post("/settings/routing/new/", rows(billing))
    assert response.status_code == 302, text_of(response)[:3000]
    with tenant_context(tenant_a):
        rule = RoutingRule.objects.get()
        assert (rule.name, rule.is_active, rule.stop, rule.match, rule.position) == (
            "VIP refunds", True, True, "all", 1)  # fmt: skip
        assert rule.conditions == [
            {"field": "text", "op": "contains_any", "value": ["退款", "refund"]}
        ]
        assert rule.actions == [
            {"action": "set_team", "value": billing.pk},
            {"action": "set_priority", "value": "high"},
        ]
        assert AuditEvent.objects.filter(action="routing_rule.create").count() == 1
    page = text_of(admin_client.get("/settings/routing/"))
    assert "VIP refunds" in page
    assert "Subject or message contains any of “退款”, “refund”" in page
    assert "set the team to Billing" in page and "set priority to High" in page
    assert "never" in page  # no hits yet
    # The editor shows the rows as saved.
    edit = text_of(admin_client.get(f"/settings/routing/{rule.pk}/"))
    assert 'value="退款, refund"' in edit and 'value="VIP refunds"' in edit


def test_bad_rows_are_explained_next_to_the_builder_and_nothing_typed_is_lost(
    admin_client, tenant_a, admin, billing
):
    bad = rows(billing, **{"cond-1-field": "subject", "cond-1-op": "matches",
                           "cond-1-value": "(unclosed"})  # fmt: skip
    response = admin_client.post("/settings/routing/new/", bad)
    assert response.status_code == 422
    page = text_of(response)
    assert "Condition 2: the pattern is not valid" in page
    assert 'value="(unclosed"' in page and 'value="VIP refunds"' in page
    assert 'value="退款, refund"' in page
    no_actions = {k: v for k, v in rows(billing).items() if not k.startswith("act-")}
    response = admin_client.post("/settings/routing/new/", no_actions)
    assert response.status_code == 422
    assert "Add at least one action." in text_of(response)
    with tenant_context(tenant_a), pytest.raises(SettingsError, match="unknown action"):
        routing_rule_save(actor=admin, name="x", actions=[{"action": "notify", "value": {}}])
    assert admin_client.post("/settings/routing/new/", rows(billing, name=" ")).status_code == 422
    with tenant_context(tenant_a):
        assert not RoutingRule.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="routing_rule").exists()


def test_adding_a_row_without_javascript_re_renders_and_saves_nothing(admin_client, tenant_a,
                                                                      billing):  # fmt: skip
    response = admin_client.post("/settings/routing/new/", rows(billing, **{"builder-add": "cond"}))
    assert response.status_code == 200
    assert 'name="cond-1-field"' in response.content.decode()
    with tenant_context(tenant_a):
        assert not RoutingRule.objects.exists()


def test_editing_changes_the_rule_and_the_audit_says_what(admin_client, tenant_a, billing):
    with tenant_context(tenant_a):
        rule = make_rule("Refunds", ["refund"], billing)
    data = rows(billing, name="Refunds", match="any", stop="")
    assert admin_client.post(f"/settings/routing/{rule.pk}/", data).status_code == 302
    assert admin_client.post(f"/settings/routing/{rule.pk}/", data).status_code == 302  # again
    with tenant_context(tenant_a):
        rule.refresh_from_db()
        assert (rule.match, rule.stop, len(rule.actions)) == ("any", False, 2)
        audits = list(AuditEvent.objects.filter(action="routing_rule.update"))
        assert len(audits) == 1  # the second save changed nothing
        assert set(audits[0].data["fields"]) == {"match", "conditions", "actions", "stop"}


# --- Order, pause, delete ---------------------------------------------------------------------


def test_rules_move_up_and_down_with_and_without_htmx(admin_client, tenant_a, billing):
    with tenant_context(tenant_a):
        a, b, c = (make_rule(n, [n.lower()], billing) for n in ("A", "B", "C"))

    def order() -> list[str]:
        with tenant_context(tenant_a):
            return list(
                RoutingRule.objects.order_by("position", "id").values_list("name", flat=True)
            )

    response = admin_client.post(f"/settings/routing/{c.pk}/move/", {"direction": "up"})
    assert response.status_code == 302 and response.url.endswith(f"#rule-{c.pk}")
    assert order() == ["A", "C", "B"]
    response = admin_client.post(f"/settings/routing/{a.pk}/move/", {"direction": "down"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="rules"' in html
    assert html.index(">C</a>") < html.index(">A</a>") < html.index(">B</a>")
    assert order() == ["C", "A", "B"]
    admin_client.post(f"/settings/routing/{c.pk}/move/", {"direction": "up"})  # already first
    admin_client.post(f"/settings/routing/{b.pk}/move/", {"direction": "down"})  # already last
    assert order() == ["C", "A", "B"]
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(action="routing_rule.move").count() == 2


def test_pause_activate_and_delete_after_asking(admin_client, tenant_a, billing):
    with tenant_context(tenant_a):
        rule = make_rule("Refunds", ["refund"], billing)
    admin_client.post(f"/settings/routing/{rule.pk}/active/", {"active": "0"})
    with tenant_context(tenant_a):
        assert RoutingRule.objects.get().is_active is False
    response = admin_client.post(f"/settings/routing/{rule.pk}/active/", {"active": "1"}, **HTMX)
    assert "Pause" in response.content.decode()
    confirm = admin_client.get(f"/settings/routing/{rule.pk}/delete/")
    assert confirm.status_code == 200
    assert "Delete the routing rule “Refunds”?" in text_of(confirm)
    with tenant_context(tenant_a):
        assert RoutingRule.objects.exists()  # asking deletes nothing
    assert admin_client.post(f"/settings/routing/{rule.pk}/delete/").status_code == 302
    with tenant_context(tenant_a):
        assert not RoutingRule.objects.exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {
            "routing_rule.deactivate",
            "routing_rule.activate",
            "routing_rule.delete",
        } <= actions


# --- Who may -----------------------------------------------------------------------------------

ADMIN_PAGES = [
    "/settings/routing/", "/settings/routing/new/", "/settings/routing/test/",
    "/settings/routing/{rule}/", "/settings/routing/{rule}/delete/", "/settings/agents/",
    "/settings/auto-replies/", "/settings/auto-replies/new/",
]  # fmt: skip


def test_agents_get_403_and_other_tenants_404(client, tenant_a, tenant_b, agent, outsider, billing):
    with tenant_context(tenant_a):
        rule = make_rule("Refunds", ["refund"], billing)
    sign_in(client, agent, tenant_a)
    for path in ADMIN_PAGES:
        assert client.get(path.format(rule=rule.pk)).status_code == 403, path
    for path in (f"/settings/routing/{rule.pk}/move/", f"/settings/routing/{rule.pk}/delete/"):
        assert client.post(path, {"direction": "up"}).status_code == 403, path
    sign_in(client, outsider, tenant_a)  # a forged session claiming tenant A
    assert client.get("/settings/routing/").status_code == 404
    sign_in(client, outsider, tenant_b)  # B's own admin, with A's rule id
    assert client.get(f"/settings/routing/{rule.pk}/").status_code == 404
    assert client.post(f"/settings/routing/{rule.pk}/delete/").status_code == 404
    assert client.post(f"/settings/routing/{rule.pk}/move/", {"direction": "up"}).status_code == 404
    with tenant_context(tenant_a):
        assert RoutingRule.objects.filter(pk=rule.pk).exists()


# --- "Test these rules" --------------------------------------------------------------------


def snapshot(tenant) -> tuple:
    """Everything a test of the rules could write by mistake."""
    with tenant_context(tenant):
        team = Team.objects.order_by("id").values_list("last_assigned_id", flat=True)
        return (
            Ticket.objects.count(), TicketEvent.objects.count(), AutomationJob.objects.count(),
            Contact.objects.count(), AuditEvent.objects.count(), AgentProfile.objects.count(),
            list(RoutingRule.objects.order_by("id").values_list("hits", "last_matched_at")),
            list(team),
        )  # fmt: skip


def test_the_test_page_shows_matches_reasons_and_assignee_and_writes_nothing(
    admin_client, tenant_a, billing, django_capture_on_commit_callbacks
):
    with tenant_context(tenant_a):
        catch_all = Team.objects.create(name="Front desk", tier=1)
        make_rule("VIP refunds", ["退款"], billing, stop=True)
        make_rule("Everything else", ["the"], catch_all)
        RoutingRule.objects.filter(name="VIP refunds").update(actions=[
            {"action": "set_team", "value": billing.pk},
            {"action": "set_priority", "value": "high"},
            {"action": "add_tags", "value": ["vip"]},
        ])  # fmt: skip
        ContactFactory(tenant=tenant_a, email="li.na@example.cn", tier=CustomerTier.VIP)
    before = snapshot(tenant_a)
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post("/settings/routing/test/", {
            "test-subject": "申请退款 order A-1029", "test-body": "Please refund the order.",
            "test-channel": "email", "test-requester_email": "li.na@example.cn",
        })  # fmt: skip
    assert response.status_code == 200
    page = text_of(response)
    assert "1 rule matches" in page
    assert "keyword “退款” in subject or message" in page
    assert "Not tried" in page  # "Everything else" comes after a rule that stops
    assert "Billing (Tier 2)" in page and "High" in page and "vip" in page
    assert "Assigned to Wang Fang by round-robin (0 open)" in page
    assert (
        "Rule “VIP refunds” matched (keyword “退款” in subject or message) → team Billing" in page
    )
    assert snapshot(tenant_a) == before
    assert task_callbacks(callbacks) == []


def test_the_test_says_why_nobody_gets_the_ticket(admin_client, tenant_a, billing):
    with tenant_context(tenant_a):
        make_rule("Refunds", ["refund"], billing)
        wang = TeamMember.objects.get(team=billing).user
        AgentProfile.objects.create(user=wang, availability="away")
    data = {"test-subject": "refund please", "test-channel": "email"}
    page = text_of(admin_client.post("/settings/routing/test/", data))
    assert "waiting in the team queue: nobody in the team is online" in page.lower()
    assert "Away or offline" in page
    with tenant_context(tenant_a):
        Team.objects.filter(pk=billing.pk).update(assignment="manual")
    page = text_of(admin_client.post("/settings/routing/test/", data))
    assert "Billing (Tier 2) assigns by hand" in page
    hello = {"test-subject": "hello", "test-channel": "email"}
    page = text_of(admin_client.post("/settings/routing/test/", hello))
    assert "No rule matches" in page and "general queue" in page
    response = admin_client.post("/settings/routing/test/", {"test-channel": "email"})
    assert response.status_code == 422 and "Type a subject or a message" in text_of(response)


def test_test_this_rule_tries_the_unsaved_rows_alone_and_saves_nothing(
    admin_client, tenant_a, billing
):
    with tenant_context(tenant_a):
        rule = make_rule("Refunds", ["refund"], billing, is_active=False)
    before = snapshot(tenant_a)
    edited = rows(billing, **{"test-run": "1", "test-subject": "我要退款", "test-channel": "wechat",
                              "cond-0-value": "退款"})  # fmt: skip
    response = admin_client.post(f"/settings/routing/{rule.pk}/", edited)
    assert response.status_code == 200
    page = text_of(response)
    assert "The rule matches" in page and "keyword “退款” in subject or message" in page
    assert 'value="我要退款"' in page  # the test message stays in the form
    response = admin_client.post(f"/settings/routing/{rule.pk}/", edited, **HTMX)
    fragment = text_of(response)
    assert "<html" not in fragment and 'id="test-result"' in fragment
    assert "The rule matches" in fragment
    miss = {**edited, "test-subject": "hello"}
    assert "The rule does not match" in text_of(admin_client.post(
        f"/settings/routing/{rule.pk}/", miss, **HTMX))  # fmt: skip
    broken = {**edited, "cond-0-op": "matches", "cond-0-value": "(x"}
    assert "The rule has errors" in text_of(admin_client.post(
        f"/settings/routing/{rule.pk}/", broken, **HTMX))  # fmt: skip
    with tenant_context(tenant_a):
        rule.refresh_from_db()
        assert rule.conditions[0]["value"] == ["refund"]  # not saved by a test
    assert snapshot(tenant_a) == before


# --- Availability and capacity -------------------------------------------------------------


@pytest.fixture
def queued(tenant_a, billing):
    """Two tickets waiting in Billing's queue; Wang Fang is away."""
    with tenant_context(tenant_a):
        wang = TeamMember.objects.get(team=billing).user
        AgentProfile.objects.create(user=wang, availability="away")
    tickets = [make_ticket(tenant_a, subject=f"Refund {n}", team=billing) for n in range(2)]
    with tenant_context(tenant_a):
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(awaiting_assignment=True)
    return wang


def test_going_online_in_the_top_bar_picks_up_the_team_queue(
    client, tenant_a, billing, queued, monkeypatch, django_capture_on_commit_callbacks
):
    from tickets import tasks

    sent = []
    monkeypatch.setattr(tasks.assign_queue, "delay", lambda *a, **kw: sent.append((a, kw)))
    sign_in(client, queued, tenant_a)
    page = text_of(client.get("/agent/"))
    assert 'id="availability"' in page and "Away" in page
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/settings/availability/", {"availability": "online"}, **HTMX)
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert 'aria-current="true"' in response.content.decode()
    assert len(task_callbacks(callbacks)) == 1
    assert sent == [((tenant_a.pk,), {"team_id": billing.pk})]
    with tenant_context(tenant_a):
        assert AgentProfile.objects.get(user=queued).availability == "online"
        assert not AuditEvent.objects.filter(action="agent.availability").exists()  # one's own
    tasks.assign_queue(tenant_a.pk, team_id=billing.pk)  # what the worker then does
    with tenant_context(tenant_a):
        assert Ticket.objects.filter(assignee=queued, awaiting_assignment=False).count() == 2
    # Away again: nothing to pick up; without JavaScript, back to the page it came from.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/settings/availability/",
                               {"availability": "away", "next": "/agent/inbox/"})  # fmt: skip
    assert response.status_code == 302 and response.url == "/agent/inbox/"
    assert task_callbacks(callbacks) == [] and len(sent) == 1
    response = client.post("/settings/availability/",
                           {"availability": "online", "next": "https://evil.example/"})  # fmt: skip
    assert response.url == "/agent/"


def test_first_use_creates_the_profile(client, tenant_a, agent):
    sign_in(client, agent, tenant_a)
    client.post("/settings/availability/", {"availability": "offline"})
    with tenant_context(tenant_a):
        profile = AgentProfile.objects.get(user=agent)
        assert (profile.availability, profile.capacity) == ("offline", 20)
    client.post("/settings/availability/", {"availability": "busy"})  # not a choice
    with tenant_context(tenant_a):
        assert AgentProfile.objects.get(user=agent).availability == "offline"


def test_admins_set_capacity_and_availability_on_the_agents_page(
    admin_client, tenant_a, billing, queued, monkeypatch, django_capture_on_commit_callbacks
):
    from tickets import tasks

    sent = []
    monkeypatch.setattr(tasks.assign_queue, "delay", lambda *a, **kw: sent.append(kw))
    page = text_of(admin_client.get("/settings/agents/"))
    assert "Wang Fang" in page and "Billing" in page
    with tenant_context(tenant_a):
        membership = Membership.objects.get(user=queued)
    url = f"/settings/agents/{membership.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"availability": "online", "capacity": "1"})
    assert response.status_code == 302
    assert sent == [{"team_id": billing.pk}]
    with tenant_context(tenant_a):
        profile = AgentProfile.objects.get(user=queued)
        assert (profile.availability, profile.capacity) == ("online", 1)
        assert {a.action for a in AuditEvent.objects.all()} >= {"agent.capacity",
                                                                 "agent.availability"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"availability": "online", "capacity": "5"})  # more room
    assert len(sent) == 2
    response = admin_client.post(url, {"availability": "online", "capacity": "-3"}, follow=True)
    assert "capacity is a whole number" in text_of(response)
    with tenant_context(tenant_a):
        assert AgentProfile.objects.get(user=queued).capacity == 5


def test_the_team_page_sets_the_assignment_strategy(admin_client, tenant_a, billing):
    page = text_of(admin_client.get(f"/settings/teams/{billing.pk}/"))
    assert "Least-loaded" in page
    assert re.search(
        r'<input type="radio" name="assignment" value="round_robin"[^>]* checked>', page
    )
    data = {"name": "Billing", "tier": "2", "skills": "", "description": "",
            "assignment": "least_loaded"}  # fmt: skip
    assert admin_client.post(f"/settings/teams/{billing.pk}/", data).status_code == 302
    with tenant_context(tenant_a):
        assert Team.objects.get(pk=billing.pk).assignment == "least_loaded"
        audit = AuditEvent.objects.get(action="team.updated")
        assert audit.data["fields"] == ["assignment"]
    assert admin_client.post("/settings/teams/", {"name": "New", "tier": "1"}).status_code == 302
    with tenant_context(tenant_a):
        assert Team.objects.get(name="New").assignment == "manual"

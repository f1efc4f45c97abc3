"""Settings › Escalation policies and Alert rules, and the agent's "Escalate": create, edit,
order, pause, delete (audited); who may open what; another tenant's rows and tickets are 404s."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent, Membership
from sla.models import AlertRule, Escalation, EscalationPolicy
from tests.factories import MembershipFactory, make_ticket
from tests.helpers import sign_in
from tickets.models import Team, TeamMember, Ticket, TicketEvent

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


@pytest.fixture
def teams(tenant_a, agent):
    taylor = MembershipFactory(tenant=tenant_a, user__email="taylor@alpha.test").user
    with tenant_context(tenant_a):
        one = Team.objects.create(name="Tier 1 Support", tier=1)
        two = Team.objects.create(name="Billing L2", tier=2, assignment="round_robin")
        TeamMember.objects.create(team=one, user=agent)
        TeamMember.objects.create(team=two, user=taylor)
    return {"one": one, "two": two, "taylor": taylor}


def make_policy(tenant, name="Breach → Tier 2", **fields) -> EscalationPolicy:
    with tenant_context(tenant):
        return EscalationPolicy.objects.create(name=name, when="sla_breached", **fields)


def make_rule(tenant, name="Breach → team", **fields) -> AlertRule:
    with tenant_context(tenant):
        return AlertRule.objects.create(name=name, event="sla_breached", recipients=["team"],
                                        via=["in_app"], **fields)  # fmt: skip


def test_policy_create_list_edit_and_audit(admin_client, tenant_a, teams):
    url = reverse("settings:sla_escalation_new")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {
        "name": "Breach → Tier 2", "is_active": "on", "when": "sla_breached",
        "clock_kinds": ["first_response"], "priorities": ["urgent", "high"], "tiers": ["1"],
        "target": "next", "reroute": "on", "raise_priority": "up",
    })  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        policy = EscalationPolicy.objects.get()
        assert policy.clock_kinds == ["first_response"] and policy.tiers == [1]
        assert policy.raise_priority == "up" and policy.position == 1
        assert AuditEvent.objects.filter(action="escalation_policy.create").exists()
    page = admin_client.get(reverse("settings:sla_escalations")).content.decode()
    assert "Breach → Tier 2" in page and "First response" in page
    assert "move to the next tier" in page
    edit = reverse("settings:sla_escalation_edit", kwargs={"escalation_id": policy.pk})
    post = {"name": "Third reply", "when": "customer_replies", "target": "team",
            "to_team": str(teams["two"].pk)}  # fmt: skip
    response = admin_client.post(edit, post)
    assert response.status_code == 422  # the number of replies is missing
    assert "after how many customer replies" in response.content.decode()
    response = admin_client.post(edit, {"name": "Third reply", "when": "customer_replies",
                                        "reply_count": "3", "target": "team",
                                        "to_team": str(teams["two"].pk)})  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        policy.refresh_from_db()
        assert (policy.reply_count, policy.to_team_id, policy.clock_kinds) == (
            3,
            teams["two"].pk,
            [],
        )


def test_policy_names_are_unique_case_blind(admin_client, tenant_a):
    make_policy(tenant_a)
    post = {"name": "breach → tier 2", "when": "complaint", "target": "next"}
    response = admin_client.post(reverse("settings:sla_escalation_new"), post)
    assert response.status_code == 422
    assert "already" in response.content.decode()


def test_policy_pause_move_and_delete(admin_client, tenant_a):
    first, second = make_policy(tenant_a, position=1), make_policy(tenant_a, "Other", position=2)
    active = reverse("settings:sla_escalation_active", kwargs={"escalation_id": first.pk})
    response = admin_client.post(active, {"active": "0"}, **HTMX)
    assert response.status_code == 200 and 'id="rows"' in response.content.decode()
    move = reverse("settings:sla_escalation_move", kwargs={"escalation_id": second.pk})
    admin_client.post(move, {"direction": "up"})
    with tenant_context(tenant_a):
        assert list(EscalationPolicy.objects.values_list("name", "is_active")) == [
            ("Other", True), ("Breach → Tier 2", False)]  # fmt: skip
    delete = reverse("settings:sla_escalation_delete", kwargs={"escalation_id": first.pk})
    assert "cannot be undone" in admin_client.get(delete).content.decode()
    assert admin_client.post(delete).status_code == 302
    with tenant_context(tenant_a):
        assert EscalationPolicy.objects.count() == 1


def test_alert_rule_create_with_chain_and_webhook_checks(admin_client, tenant_a, admin):
    url = reverse("settings:sla_alert_new")
    assert admin_client.get(url).status_code == 200
    base = {"name": "SLA breach → team", "is_active": "on", "event": "sla_breached",
            "level": "critical", "recipients": ["team"], "via": ["in_app", "webhook"],
            "webhook_url": "https://127.0.0.1/hook", "step2_recipients": ["managers"]}  # fmt: skip
    response = admin_client.post(url, base)
    assert response.status_code == 422
    page = response.content.decode()
    assert "public internet" in page and "how long to wait" in page
    response = admin_client.post(url, {**base, "webhook_url": "https://hooks.example.com/x",
                                       "ack_within_minutes": "30",
                                       "step3_users": [str(admin.pk)]})  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        rule = AlertRule.objects.get()
        assert rule.chain == [{"recipients": ["managers"], "users": []},
                              {"recipients": [], "users": [admin.pk]}]  # fmt: skip
    page = admin_client.get(reverse("settings:sla_alerts")).content.decode()
    assert "Not acknowledged in 30 minutes" in page and "Critical" in page


def test_alert_rule_pause_move_delete(admin_client, tenant_a):
    rule = make_rule(tenant_a)
    admin_client.post(reverse("settings:sla_alert_active", kwargs={"alert_rule_id": rule.pk}),
                      {"active": "0"})  # fmt: skip
    admin_client.post(reverse("settings:sla_alert_move", kwargs={"alert_rule_id": rule.pk}),
                      {"direction": "down"})  # fmt: skip
    with tenant_context(tenant_a):
        assert not AlertRule.objects.get().is_active
    admin_client.post(reverse("settings:sla_alert_delete", kwargs={"alert_rule_id": rule.pk}))
    with tenant_context(tenant_a):
        assert not AlertRule.objects.exists()


@pytest.mark.parametrize("name", ["settings:sla_escalations", "settings:sla_escalation_new",
                                  "settings:sla_alerts", "settings:sla_alert_new"])  # fmt: skip
def test_agents_and_managers_cannot_open_the_settings(client, tenant_a, agent, name):
    sign_in(client, agent, tenant_a)
    assert client.get(reverse(name)).status_code == 403
    manager = MembershipFactory(tenant=tenant_a, role=Membership.Role.MANAGER).user
    sign_in(client, manager, tenant_a)
    assert client.get(reverse(name)).status_code == 403


def test_other_tenants_rows_and_tickets_are_404(client, tenant_a, tenant_b, outsider):
    policy, rule = make_policy(tenant_a), make_rule(tenant_a)
    ticket = make_ticket(tenant_a)
    urls = [
        reverse("settings:sla_escalation_edit", kwargs={"escalation_id": policy.pk}),
        reverse("settings:sla_escalation_delete", kwargs={"escalation_id": policy.pk}),
        reverse("settings:sla_alert_edit", kwargs={"alert_rule_id": rule.pk}),
        reverse("settings:sla_alert_delete", kwargs={"alert_rule_id": rule.pk}),
        reverse("sla:escalate", kwargs={"number": ticket.number}),
    ]
    sign_in(client, outsider, tenant_b)  # an administrator of tenant B, on B's host
    for url in urls:
        assert client.get(url).status_code == 404, url
    posts = [reverse("settings:sla_escalation_active", kwargs={"escalation_id": policy.pk}),
             reverse("settings:sla_alert_active", kwargs={"alert_rule_id": rule.pk}),
             reverse("sla:escalate", kwargs={"number": ticket.number})]  # fmt: skip
    for url in posts:
        assert client.post(url, {"active": "0", "note": "x"}).status_code == 404, url
    client.defaults["HTTP_HOST"] = "alpha.localhost"  # B's admin on A's host: not a member
    for url in urls:
        assert client.get(url).status_code in {302, 404}, url
    with tenant_context(tenant_a):
        assert EscalationPolicy.objects.get().is_active and AlertRule.objects.get().is_active


def test_agent_escalates_with_a_reason(client, tenant_a, agent, teams):
    ticket = make_ticket(tenant_a, team=teams["one"], assignee=agent)
    sign_in(client, agent, tenant_a)
    detail = client.get(reverse("tickets:detail", kwargs={"number": ticket.number}))
    url = reverse("sla:escalate", kwargs={"number": ticket.number})
    assert url in detail.content.decode()
    form = client.get(url, **HTMX)
    assert form.status_code == 200 and 'name="note"' in form.content.decode()
    assert "<html" not in form.content.decode()  # the fragment
    empty = client.post(url, {"note": "  "}, **HTMX)
    assert empty.status_code == 422 and 'name="note"' in empty.content.decode()
    done = client.post(url, {"note": "Needs the billing system", "token": "abc"}, **HTMX)
    assert (
        done.status_code == 200 and f"/{ticket.number}/?timeline=1" in done.headers["HX-Redirect"]
    )
    again = client.post(url, {"note": "Needs the billing system", "token": "abc"})  # no JS
    assert again.status_code == 302
    with tenant_context(tenant_a):
        moved = Ticket.objects.get(pk=ticket.pk)
        assert (moved.team_id, moved.assignee_id) == (teams["two"].pk, teams["taylor"].pk)
        assert Escalation.objects.filter(ticket=ticket).count() == 1
        event = TicketEvent.objects.get(ticket=ticket, kind="escalated")
        assert event.data["note"] == "Needs the billing system"
    page = client.get(again.url).content.decode()
    assert "escalated to Tier 2 (Billing L2): Needs the billing system" in page


def test_escalate_page_works_without_javascript(client, tenant_a, agent, teams):
    ticket = make_ticket(tenant_a, team=teams["one"])
    sign_in(client, agent, tenant_a)
    url = reverse("sla:escalate", kwargs={"number": ticket.number})
    page = client.get(url).content.decode()
    assert "<html" in page and 'name="token"' in page and "required" in page
    response = client.post(url, {"note": ""})
    assert response.status_code == 422 and "<html" in response.content.decode()

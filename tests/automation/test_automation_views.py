"""Settings › Triggers and the condition/action builder: posted rows become validated JSON,
bad rows say what is wrong, rows are added and removed with and without JavaScript, order,
pause and delete, and the audit log."""

from __future__ import annotations

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from tests.helpers import sign_in
from tickets.automation import triggers
from tickets.automation.forms import RuleBuilder, split_values
from tickets.automation.models import Trigger
from tickets.models import Team

pytestmark = pytest.mark.django_db

ROWS = {
    "name": "VIP refunds",
    "event": "customer_replied",
    "is_active": "on",
    "match": "all",
    "cond-0-field": "requester_tier",
    "cond-0-op": "in",
    "cond-0-value": ["vip", "premium"],
    "cond-4-field": "text",
    "cond-4-op": "contains_any",
    "cond-4-value": "退款，refund, 返金",
    "cond-7-field": "",  # a blank row is ignored
    "act-0-action": "set_priority",
    "act-0-value": "urgent",
    "act-1-action": "notify",
    "act-1-to": "address",
    "act-1-address": "lead@alpha.example",
    "act-1-via": "email",
    "act-1-subject": "VIP #{{ ticket.number }}",
    "act-1-body": "",
    "act-2-action": "escalate",
    "act-2-target": "next",
    "act-2-raise": "1",
}


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


def test_a_trigger_is_built_from_rows_and_saved_as_json(admin_client, tenant_a):
    response = admin_client.post("/settings/triggers/new/", ROWS)
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(tenant_a):
        trigger = Trigger.objects.get()
        assert (trigger.name, trigger.event, trigger.is_active, trigger.match) == (
            "VIP refunds",
            "customer_replied",
            True,
            "all",
        )
        assert trigger.conditions == [
            {"field": "requester_tier", "op": "in", "value": ["vip", "premium"]},
            {"field": "text", "op": "contains_any", "value": ["退款", "refund", "返金"]},
        ]
        assert trigger.actions == [
            {"action": "set_priority", "value": "urgent"},
            {
                "action": "notify",
                "value": {
                    "to": "lead@alpha.example",
                    "via": "email",
                    "subject": "VIP #{{ ticket.number }}",
                    "body": "",
                },
            },
            {"action": "escalate", "value": {"tier": "next", "raise_priority": True}},
        ]
        assert AuditEvent.objects.filter(action="trigger.create").count() == 1
    # And back: the edit page shows the rows as saved.
    page = admin_client.get(f"/settings/triggers/{trigger.pk}/").content.decode()
    assert 'value="退款, refund, 返金"' in page
    assert 'value="lead@alpha.example"' in page and 'name="act-2-raise" value="1" checked' in page


def test_bad_rows_say_what_is_wrong_and_nothing_is_saved(admin_client, tenant_a):
    bad = {
        **ROWS,
        "cond-4-op": "matches",
        "cond-4-value": "(unclosed",
        "act-1-address": "not an address",
        "idle_hours": "",
    }
    response = admin_client.post("/settings/triggers/new/", bad)
    html = response.content.decode()
    assert response.status_code == 422
    assert "Condition 2: the pattern is not valid" in html
    assert "Action 2: notify the assignee, the team" in html
    idle = admin_client.post("/settings/triggers/new/", {**ROWS, "event": "idle"})
    assert idle.status_code == 422 and "idle hours" in idle.content.decode()
    webhook = admin_client.post(
        "/settings/triggers/new/",
        {**ROWS, "act-1-action": "webhook", "act-1-url": "https://169.254.169.254/latest/"},
    )
    assert "public internet" in webhook.content.decode()
    with tenant_context(tenant_a):
        assert not Trigger.objects.exists()


def test_rows_are_added_and_removed_without_javascript(admin_client, tenant_a):
    added = admin_client.post("/settings/triggers/new/", {**ROWS, "builder-add": "cond"})
    assert added.status_code == 200 and 'name="cond-8-field"' in added.content.decode()
    removed = admin_client.post("/settings/triggers/new/", {**ROWS, "builder-remove": "cond-4"})
    html = removed.content.decode()
    assert 'name="cond-4-field"' not in html and 'name="cond-0-field"' in html
    with tenant_context(tenant_a):
        assert not Trigger.objects.exists()  # re-rendered, not saved


def test_the_row_endpoint_adds_a_row_and_adapts_the_value_input(admin_client, tenant_a):
    with tenant_context(tenant_a):
        Team.objects.create(name="Billing", tier=2)
    added = admin_client.get(
        "/settings/rule-builder/row/",
        {"row": "cond", "set": "trigger", "cond-next": "3"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'id="cond-3"' in added and "autofocus" in added
    assert 'id="cond-next" name="cond-next" value="4" hx-swap-oob="true"' in added
    # The field changed to "team": its tests and a select of the teams.
    team = admin_client.get(
        "/settings/rule-builder/row/",
        {
            "row": "cond",
            "index": "3",
            "set": "trigger",
            "cond-3-field": "team",
            "cond-3-op": "contains_any",
        },
    ).content.decode()
    assert '<option value="in" selected>' in team and "Billing" in team and "multiple" in team
    assert "hx-swap-oob" not in team
    tags = admin_client.get(
        "/settings/rule-builder/row/",
        {"row": "act", "index": "0", "set": "macro", "act-0-action": "add_tags"},
    ).content.decode()
    assert "Separate several with commas" in tags
    # A macro builder never offers the trigger-only actions.
    assert "notify" not in tags and "webhook" not in tags
    assert (
        admin_client.get(
            "/settings/rule-builder/row/", {"row": "cond", "set": "nope", "index": "1"}
        ).status_code
        == 404
    )
    assert admin_client.get("/settings/rule-builder/row/?remove=1").content == b""


def test_order_pause_and_delete(admin_client, tenant_a, admin):
    with tenant_context(tenant_a):
        first = triggers.trigger_save(
            actor=admin,
            name="First",
            event="created",
            actions=[{"action": "add_tags", "value": ["a"]}],
        )
        second = triggers.trigger_save(
            actor=admin,
            name="Second",
            event="created",
            actions=[{"action": "add_tags", "value": ["b"]}],
        )
    page = admin_client.get("/settings/triggers/").content.decode()
    assert page.index("First") < page.index("Second") and "add tags a" in page
    admin_client.post(f"/settings/triggers/{second.pk}/move/", {"direction": "up"})
    page = admin_client.get("/settings/triggers/").content.decode()
    assert page.index("Second") < page.index("First")
    admin_client.post(f"/settings/triggers/{first.pk}/active/", {"active": "0"})
    admin_client.post(f"/settings/triggers/{second.pk}/delete/")
    with tenant_context(tenant_a):
        assert list(Trigger.objects.values_list("name", "is_active")) == [("First", False)]
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"trigger.move", "trigger.deactivate", "trigger.delete"} <= actions


def test_builder_round_trips_every_kind_of_row(tenant_a, agent):
    with tenant_context(tenant_a):
        team = Team.objects.create(name="Billing", tier=2)
        conditions = [
            {"field": "assignee", "op": "is_empty", "value": None},
            {"field": "hours_idle", "op": "gte", "value": 4.0},
            {"field": "subject", "op": "matches", "value": r"订单\s*\d+"},
            {"field": "tags", "op": "has_none", "value": ["spam"]},
            {"field": "automatic", "op": "is_false", "value": None},
        ]
        actions = [
            {"action": "set_team", "value": team.pk},
            {"action": "assign_to", "value": agent.pk},
            {"action": "assign_auto", "value": None},
            {"action": "send_reply", "value": {"body": "Hi {{ requester.name }}"}},
            {"action": "webhook", "value": {"url": "https://hooks.example.com/a", "body": ""}},
            {"action": "escalate", "value": {"team": team.pk, "raise_priority": False}},
            {
                "action": "notify",
                "value": {"to": "team", "via": "in_app", "subject": "s", "body": "b"},
            },
        ]
        shown = RuleBuilder(None, conditions=conditions, actions=actions)
        data = {}
        for row in shown.condition_rows:
            data[f"{row.name}-field"], data[f"{row.name}-op"] = row.field, row.op
            if row.kind != "none":
                data[f"{row.name}-value"] = row.text
        for row in shown.action_rows:
            data[f"{row.name}-action"] = row.action
            for part, value in row.parts.items():
                if part == "raise":
                    if value:
                        data[f"{row.name}-raise"] = "1"
                else:
                    data[f"{row.name}-{part}"] = value
        posted = RuleBuilder(data)
        assert posted.is_valid(), [r.error for r in posted.condition_rows + posted.action_rows]
        assert posted.conditions == conditions
        assert posted.actions == actions


def test_builder_refuses_an_action_its_kind_of_rule_does_not_take(tenant_a):
    with tenant_context(tenant_a):
        data = {"act-0-action": "webhook", "act-0-url": "https://hooks.example.com/a",
                "act-1-action": "set_priority", "act-1-value": "high"}  # fmt: skip
        posted = RuleBuilder(data, action_set="routing")
        assert not posted.is_valid()  # not silently dropped and saved without it
        assert "“webhook” is not available here" in posted.action_rows[0].error
        assert posted.action_rows[1].error == ""


def test_values_split_on_ascii_and_chinese_commas():
    assert split_values("退款，refund、返金; a\nb,,") == ["退款", "refund", "返金", "a", "b"]

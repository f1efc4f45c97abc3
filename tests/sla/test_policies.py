"""Which policy a ticket gets, its targets, and the first-response promise (real Postgres)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from helpdesk.tenancy.context import tenant_context
from sla.models import SLAPolicy
from sla.policies import (
    conditions_match,
    first_response_promise,
    policy_for,
    targets_for,
    validate_conditions,
)
from tests.factories import ContactFactory, make_ticket
from tests.sla.factories import BusinessCalendarFactory, SLAPolicyFactory
from tickets.models import Organization, Team, Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cond(field: str, *values: str, op: str = "in") -> dict:
    return {"field": field, "op": op, "value": list(values)}


def ticket_for(contact, **fields) -> Ticket:
    """An unsaved ticket: matching reads fields only."""
    fields.setdefault("priority", Ticket.Priority.NORMAL)
    return Ticket(requester=contact, **fields)


@pytest.fixture
def contact(tenant_a):
    return ContactFactory(tenant=tenant_a, user=None)


def test_first_active_policy_in_position_order_wins(tenant_a, contact):
    with tenant_context(tenant_a):
        SLAPolicyFactory(tenant=tenant_a, name="Everyone", position=30)
        SLAPolicyFactory(
            tenant=tenant_a, name="Off", position=5, conditions=[cond("priority", "urgent")],
            is_active=False,
        )  # fmt: skip
        SLAPolicyFactory(
            tenant=tenant_a, name="Urgent", position=10, conditions=[cond("priority", "urgent")]
        )
        SLAPolicyFactory(
            tenant=tenant_a, name="Urgent email", position=20,
            conditions=[cond("priority", "urgent"), cond("channel", "email")],
        )  # fmt: skip
        assert policy_for(ticket_for(contact, priority="urgent", channel="email")).name == "Urgent"
        assert policy_for(ticket_for(contact, priority="low")).name == "Everyone"
        SLAPolicy.objects.filter(name="Urgent").update(position=40)
        assert (
            policy_for(ticket_for(contact, priority="urgent", channel="email")).name
            == "Urgent email"
        )


def test_no_policy_matches(tenant_a, contact):
    with tenant_context(tenant_a):
        SLAPolicyFactory(tenant=tenant_a, conditions=[cond("priority", "urgent")])
        assert policy_for(ticket_for(contact, priority="low")) is None


def test_requester_tier_is_the_effective_tier(tenant_a):
    with tenant_context(tenant_a):
        gold = Organization.objects.create(name="Gold Corp", tier="vip")
        SLAPolicyFactory(tenant=tenant_a, name="VIP", conditions=[cond("requester_tier", "vip")])
        SLAPolicyFactory(tenant=tenant_a, name="Standard", position=100_000)
    member = ContactFactory(tenant=tenant_a, user=None, tier="standard", organization=gold)
    loner = ContactFactory(tenant=tenant_a, user=None, tier="premium")
    vip = ContactFactory(tenant=tenant_a, user=None, tier="vip")
    with tenant_context(tenant_a):
        assert policy_for(ticket_for(member)).name == "VIP"
        assert policy_for(ticket_for(loner)).name == "Standard"
        assert policy_for(ticket_for(vip)).name == "VIP"


def test_match_any_not_in_category_and_team(tenant_a, contact):
    with tenant_context(tenant_a):
        billing = Team.objects.create(name="Billing")
        other = Team.objects.create(name="Other")
        SLAPolicyFactory(
            tenant=tenant_a, name="Complaints or billing", match="any",
            conditions=[cond("category", "complaint"), cond("team", str(billing.pk))],
        )  # fmt: skip
        SLAPolicyFactory(
            tenant=tenant_a, name="Not chat", conditions=[cond("channel", "chat", op="not_in")]
        )
        assert policy_for(ticket_for(contact, category="complaint")).name == "Complaints or billing"
        assert policy_for(ticket_for(contact, team=billing)).name == "Complaints or billing"
        assert policy_for(ticket_for(contact, team=other, channel="email")).name == "Not chat"
        assert policy_for(ticket_for(contact, team=other, channel="chat")) is None
        assert policy_for(ticket_for(contact, channel="chat")) is None


def test_conditions_logic_by_hand():
    facts = {"priority": "high", "channel": "email", "requester_tier": "vip", "category": "",
             "team": ""}  # fmt: skip
    assert conditions_match([], "all", facts)
    assert conditions_match([cond("priority", "high", "urgent")], "all", facts)
    assert not conditions_match([cond("priority", "high", op="not_in")], "all", facts)
    both = [cond("priority", "low"), cond("channel", "email")]
    assert conditions_match(both, "any", facts)
    assert not conditions_match(both, "all", facts)
    assert not conditions_match([cond("team", "3")], "all", facts)  # no team set
    assert not conditions_match([cond("mailbox", "1")], "all", facts)  # unknown field


def test_targets_with_per_priority_overrides(tenant_a):
    with tenant_context(tenant_a):
        policy = SLAPolicyFactory(
            tenant=tenant_a, first_response_minutes=480, next_response_minutes=960,
            resolution_minutes=1440,
            per_priority={"urgent": {"first_response": 60, "resolution": 240},
                          "low": {"next_response": None}},
        )  # fmt: skip
    assert targets_for(policy, "normal") == {
        "first_response": 480, "next_response": 960, "resolution": 1440,
    }  # fmt: skip
    assert targets_for(policy, "urgent") == {
        "first_response": 60, "next_response": 960, "resolution": 240,
    }  # fmt: skip
    assert targets_for(policy, "low")["next_response"] is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("conditions", [cond("subject", "x")], "unknown field"),
        ("conditions", [cond("priority", "urgent", op="contains_any")], "does not apply"),
        ("conditions", [cond("priority", "asap")], "unknown value"),
        ("conditions", [cond("team", "billing")], "unknown value"),
        ("conditions", [{"field": "priority", "op": "in", "value": []}], "at least one"),
        ("conditions", {"priority": "urgent"}, "must be a list"),
        ("per_priority", {"asap": {"first_response": 1}}, "Unknown priority"),
        ("per_priority", {"urgent": {"first_reply": 1}}, "unknown target"),
        ("per_priority", {"urgent": {"resolution": "4h"}}, "whole minutes"),
        ("per_priority", {"urgent": {"resolution": -5}}, "whole minutes"),
    ],
)
def test_policy_validation(tenant_a, field, value, message):
    with tenant_context(tenant_a):
        policy = SLAPolicy(name="Bad", **{field: value})
        with pytest.raises(ValidationError, match=message):
            policy.full_clean(exclude=["tenant"])


def test_validate_conditions_normalises_values():
    assert validate_conditions([{"field": "team", "op": "in", "value": 3}]) == [
        {"field": "team", "op": "in", "value": ["3"]}
    ]


def test_policy_of_another_tenant_is_never_used(tenant_a, tenant_b, contact):
    SLAPolicyFactory(tenant=tenant_b, name="Bravo's catch-all", position=0)
    with tenant_context(tenant_a):
        assert policy_for(ticket_for(contact)) is None
        SLAPolicyFactory(tenant=tenant_a, name="Alpha's", position=50)
        assert policy_for(ticket_for(contact)).name == "Alpha's"
    other = ContactFactory(tenant=tenant_b, user=None)
    with tenant_context(tenant_b):
        assert policy_for(ticket_for(other)).name == "Bravo's catch-all"


# --- The first-response promise ---------------------------------------------------------------


@pytest.fixture
def office(tenant_a):
    return BusinessCalendarFactory(tenant=tenant_a, is_default=True)  # Shanghai, split shift


def test_promise_while_open(tenant_a, contact, office):
    with tenant_context(tenant_a):
        SLAPolicyFactory(tenant=tenant_a, name="Standard", first_response_minutes=120)
        created = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)  # Monday morning
        promise = first_response_promise(ticket_for(contact, created_at=created), now=created)
    assert promise.open_now and promise.opens_at is None
    # 10:00–12:00 uses up the morning: due at its closing time, not at 13:00.
    assert promise.due == datetime(2026, 12, 7, 12, 0, tzinfo=SHANGHAI)
    assert (promise.policy, promise.minutes, promise.business_hours) == ("Standard", 120, True)
    with tenant_context(tenant_a):
        eleven = created.replace(hour=11)
        promise = first_response_promise(ticket_for(contact, created_at=eleven), now=eleven)
    assert promise.due == datetime(2026, 12, 7, 14, 0, tzinfo=SHANGHAI)  # over the lunch break


def test_promise_while_closed(tenant_a, contact, office):
    with tenant_context(tenant_a):
        SLAPolicyFactory(tenant=tenant_a, name="Standard", first_response_minutes=120)
        created = datetime(2026, 12, 5, 22, 0, tzinfo=SHANGHAI)  # Saturday night
        promise = first_response_promise(ticket_for(contact, created_at=created), now=created)
    assert not promise.open_now
    assert promise.opens_at == datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)
    assert promise.due == datetime(2026, 12, 7, 11, 0, tzinfo=SHANGHAI)
    assert promise.opens_at.tzinfo is UTC


def test_promise_of_a_calendar_time_policy_still_says_when_the_team_opens(
    tenant_a, contact, office
):
    with tenant_context(tenant_a):
        SLAPolicyFactory(
            tenant=tenant_a, name="Urgent", business_hours=False, first_response_minutes=60,
            per_priority={"urgent": {"first_response": 30}},
        )  # fmt: skip
        created = datetime(2026, 12, 5, 22, 0, tzinfo=SHANGHAI)
        ticket = ticket_for(contact, priority="urgent", created_at=created)
        promise = first_response_promise(ticket, now=created)
    assert promise.due == datetime(2026, 12, 5, 22, 30, tzinfo=SHANGHAI)
    assert not promise.open_now
    assert promise.opens_at == datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)


def test_promise_without_policy_or_calendar(tenant_a, contact):
    with tenant_context(tenant_a):
        promise = first_response_promise(ticket_for(contact))
    assert promise.due is None and promise.open_now and promise.policy == ""


def test_promise_for_a_real_ticket(tenant_a, office):
    ticket = make_ticket(tenant_a, priority="high")
    with tenant_context(tenant_a):
        SLAPolicyFactory(tenant=tenant_a, name="Standard", first_response_minutes=480)
        ticket = Ticket.objects.select_related("requester__organization").get(pk=ticket.pk)
        promise = first_response_promise(ticket)
    assert promise.policy == "Standard"
    assert promise.due is not None and promise.due > ticket.created_at

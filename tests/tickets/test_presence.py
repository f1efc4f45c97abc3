"""Presence on a ticket (tickets.presence): real Redis, a sorted set per (tenant, ticket)."""

from __future__ import annotations

import time

import pytest

from helpdesk.tenancy.context import tenant_context
from tests.factories import MembershipFactory, make_ticket
from tickets import presence
from tickets.presence import PRESENCE_WINDOW, TYPING_WINDOW, Viewer, presence_beat


@pytest.fixture
def people(tenant_a):
    ada = MembershipFactory(tenant=tenant_a, user__email="ada@alpha.test").user
    bo = MembershipFactory(tenant=tenant_a, user__email="bo@alpha.test").user
    cy = MembershipFactory(tenant=tenant_a, user__email="cy@alpha.test").user
    return ada, bo, cy


@pytest.fixture
def ticket(tenant_a, people):
    ticket = make_ticket(tenant_a)
    yield ticket
    for user in people:
        presence.presence_leave(ticket=ticket, user=user)


def test_others_are_listed_not_myself_typists_first(ticket, people):
    ada, bo, cy = people
    now = time.time()
    assert presence_beat(ticket=ticket, user=ada, now=now) == []
    presence_beat(ticket=ticket, user=bo, now=now)
    presence_beat(ticket=ticket, user=cy, typing=True, now=now)
    assert presence_beat(ticket=ticket, user=ada, now=now + 1) == [
        Viewer(user_id=cy.pk, typing=True),
        Viewer(user_id=bo.pk, typing=False),
    ]


def test_viewers_without_a_heartbeat_for_30_seconds_are_gone(ticket, people):
    ada, bo, _cy = people
    now = time.time()
    presence_beat(ticket=ticket, user=bo, typing=True, now=now)
    later = now + TYPING_WINDOW + 1
    assert presence_beat(ticket=ticket, user=ada, now=later) == [Viewer(bo.pk, typing=False)]
    assert presence_beat(ticket=ticket, user=ada, now=now + PRESENCE_WINDOW + 1) == []


def test_keys_expire(ticket, people):
    ada, _bo, _cy = people
    presence_beat(ticket=ticket, user=ada, typing=True)
    client = presence._client(presence.settings.REDIS_URL)
    for key in presence._keys(ticket):
        assert 0 < client.ttl(key) <= presence.KEY_TTL


def test_tickets_and_tenants_do_not_share_presence(tenant_a, tenant_b, ticket, people):
    ada, bo, _cy = people
    other_ticket = make_ticket(tenant_a)
    same_number_elsewhere = make_ticket(tenant_b)
    outsider = MembershipFactory(tenant=tenant_b).user
    try:
        presence_beat(ticket=other_ticket, user=bo)
        presence_beat(ticket=same_number_elsewhere, user=outsider)
        assert presence_beat(ticket=ticket, user=ada) == []
        with tenant_context(tenant_b):
            assert same_number_elsewhere.number == ticket.number
    finally:
        presence.presence_leave(ticket=other_ticket, user=bo)
        presence.presence_leave(ticket=same_number_elsewhere, user=outsider)


def test_redis_down_means_nobody_shown_not_an_error(ticket, people, settings):
    presence._client.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    try:
        assert presence_beat(ticket=ticket, user=people[0]) == []
    finally:
        presence._client.cache_clear()

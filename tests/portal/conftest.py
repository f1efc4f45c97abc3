"""The portal's cast, in tenant alpha (see tests/conftest.py): Alice and Bob of Globex (an
organization that may or may not share its requests), Carol on her own, an agent; and Bravo's
customer Dmitri in the other tenant. Tickets are made through tickets.services."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from helpdesk.tenancy.context import tenant_context
from tests.factories import ContactFactory, make_ticket
from tests.helpers import sign_in
from tickets.models import Contact, Organization, Ticket


@dataclass
class Cast:
    tenant: object
    other: object
    globex: Organization
    alice: Contact
    bob: Contact
    carol: Contact
    dmitri: Contact
    alices: Ticket  # Alice's request
    bobs: Ticket  # Bob's (same organization)
    carols: Ticket
    dmitris: Ticket  # tenant bravo; number 1 there, like Alice's here


@pytest.fixture
def cast(tenant_a, tenant_b, agent) -> Cast:
    with tenant_context(tenant_a):
        globex = Organization.objects.create(name="Globex")
    alice = ContactFactory(
        tenant=tenant_a, name="Alice Ng", email="alice@globex.test", organization=globex
    )
    bob = ContactFactory(
        tenant=tenant_a, name="Bob Li", email="bob@globex.test", organization=globex
    )
    carol = ContactFactory(tenant=tenant_a, name="Carol Wu", email="carol@example.test")
    dmitri = ContactFactory(tenant=tenant_b, name="Dmitri", email="dmitri@example.test")
    alices = make_ticket(tenant_a, requester=alice, subject="Invoice is wrong", channel="portal")
    bobs = make_ticket(tenant_a, requester=bob, subject="Delivery late", channel="portal")
    carols = make_ticket(tenant_a, requester=carol, subject="Password reset", channel="portal")
    dmitris = make_ticket(tenant_b, requester=dmitri, subject="退款", channel="portal")
    return Cast(
        tenant_a, tenant_b, globex, alice, bob, carol, dmitri, alices, bobs, carols, dmitris
    )


def share(cast: Cast, shared: bool = True) -> None:
    with tenant_context(cast.tenant):
        Organization.objects.filter(pk=cast.globex.pk).update(shared_requests=shared)


def as_customer(client, contact: Contact, tenant):
    return sign_in(client, contact.user, tenant)

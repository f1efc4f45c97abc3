from __future__ import annotations

import pytest

from helpdesk.tenancy.context import CrossTenantWriteError, TenantNotSetError, tenant_context
from helpdesk.tenancy.models import Membership
from tests.factories import MembershipFactory, UserFactory


def test_scoped_manager_raises_without_a_tenant(db):
    with pytest.raises(TenantNotSetError):
        list(Membership.objects.all())


def test_scoped_manager_filters_to_current_tenant(tenant_a, tenant_b):
    MembershipFactory.create_batch(2, tenant=tenant_a)
    MembershipFactory(tenant=tenant_b)
    with tenant_context(tenant_a):
        assert Membership.objects.count() == 2
    with tenant_context(tenant_b):
        assert Membership.objects.count() == 1


def test_new_rows_take_the_current_tenant(tenant_a):
    with tenant_context(tenant_a):
        membership = Membership.objects.create(user=UserFactory())
    assert membership.tenant_id == tenant_a.pk


def test_saving_another_tenants_row_raises(tenant_a, tenant_b):
    membership = MembershipFactory(tenant=tenant_a)
    with tenant_context(tenant_b), pytest.raises(CrossTenantWriteError):
        membership.save()


def test_all_tenants_is_the_explicit_cross_tenant_door(tenant_a, tenant_b):
    # The owner connection only sees committed rows, so commit some first.
    MembershipFactory(tenant=tenant_a)
    MembershipFactory(tenant=tenant_b)
    assert Membership.objects.all_tenants().db == "owner"


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_all_tenants_sees_every_tenant(tenant_a, tenant_b):
    MembershipFactory(tenant=tenant_a)
    MembershipFactory(tenant=tenant_b)
    tenants = set(Membership.objects.all_tenants().values_list("tenant_id", flat=True))
    assert tenants == {tenant_a.pk, tenant_b.pk}

"""Factories for tenants, people and memberships. Tenant-owned rows are created inside their
tenant's context (pass `tenant=`), exactly as the application itself must."""

from __future__ import annotations

import factory

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from tickets.models import Contact

PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"t{n}")
    name = factory.LazyAttribute(lambda o: f"{o.slug.title()} Ltd")
    timezone = "Europe/London"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create and results:
            instance.save(update_fields=["password"])


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    """Create inside `tenant`'s context; the row's tenant comes from the context."""

    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = kwargs.pop("tenant")
        with tenant_context(tenant):
            return super()._create(model_class, *args, **kwargs)


class MembershipFactory(TenantOwnedFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Membership.Role.AGENT


class ContactFactory(TenantOwnedFactory):
    class Meta:
        model = Contact

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@customer.test")
    user = factory.SubFactory(
        UserFactory,
        email=factory.SelfAttribute("..email"),
        full_name=factory.SelfAttribute("..name"),
    )


def make_ticket(tenant, *, requester=None, subject="Printer on fire", body="It is on fire.", **kw):
    """A ticket made the way the product makes them: through tickets.services."""
    from tickets.services import ticket_create

    requester = requester or ContactFactory(tenant=tenant, user=None)
    with tenant_context(tenant):
        return ticket_create(requester=requester, subject=subject, body_text=body, **kw)

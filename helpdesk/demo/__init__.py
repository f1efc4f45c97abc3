"""Demo data (DESIGN.md §4): two tenants, their staff and customers. Idempotent: a second run
changes nothing and creates nothing twice. Later apps add their own seeders to SEEDERS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from tickets.models import Contact

PASSWORD = "demo-pass-123"  # noqa: S105 - the documented demo password (DESIGN.md §4)


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    language: str
    timezone: str
    accent: str
    staff: dict[str, tuple[str, str]]  # local part -> (full name, role)
    customers: dict[str, str]  # email -> name


ROLE = Membership.Role
TENANTS = [
    DemoTenant(
        slug="acme",
        name="Acme Support",
        language="en",
        timezone="Europe/London",
        accent="#2457c5",
        staff={
            "admin": ("Ada Admin", ROLE.ADMIN),
            "manager": ("Morgan Manager", ROLE.MANAGER),
            "agent1": ("Alex Agent", ROLE.AGENT),
            "agent2": ("Sam Agent", ROLE.AGENT),
            "tier2": ("Taylor Tier-Two", ROLE.AGENT),
        },
        customers={"alice@customer.test": "Alice Walker", "bob@customer.test": "Bob Stone"},
    ),
    DemoTenant(
        slug="huaxia",
        name="华夏客服中心",
        language="zh-hans",
        timezone="Asia/Shanghai",
        accent="#c0392b",
        staff={
            "admin": ("王管理", ROLE.ADMIN),
            "manager": ("李经理", ROLE.MANAGER),
            "agent1": ("张客服", ROLE.AGENT),
            "agent2": ("刘客服", ROLE.AGENT),
            "tier2": ("陈工程师", ROLE.AGENT),
        },
        customers={"alice@customer.test": "艾丽斯", "bob@customer.test": "鲍勃"},
    ),
]

# Per-app seeders, each called as seeder(tenant, spec) inside the tenant's context.
SEEDERS: list[Callable[[Tenant, DemoTenant], None]] = []


def _register_seeders() -> None:
    from knowledge.demo import seed_knowledge
    from sla.demo import seed_sla
    from sla.demo_escalation import seed_escalation
    from tickets.automation.demo import seed_automation
    from tickets.demo import seed_tickets

    SEEDERS.extend([seed_tickets, seed_sla, seed_automation, seed_escalation, seed_knowledge])


def _user(email: str, full_name: str, language: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, PASSWORD, full_name=full_name, language=language)
    return user


@transaction.atomic
def seed_tenant(spec: DemoTenant) -> Tenant:
    tenant, _ = Tenant.objects.get_or_create(
        slug=spec.slug,
        defaults={
            "name": spec.name,
            "default_language": spec.language,
            "timezone": spec.timezone,
            "accent_color": spec.accent,
        },
    )
    with tenant_context(tenant):
        for local, (full_name, role) in spec.staff.items():
            user = _user(f"{local}@{spec.slug}.test", full_name, spec.language)
            Membership.objects.get_or_create(user=user, defaults={"role": role})
        for email, name in spec.customers.items():
            user = _user(email, name, "")
            Contact.objects.get_or_create(
                email=email, defaults={"name": name, "user": user, "language": spec.language}
            )
        for seeder in SEEDERS:
            seeder(tenant, spec)
    return tenant


def seed() -> list[Tenant]:
    if not SEEDERS:
        _register_seeders()
    return [seed_tenant(spec) for spec in TENANTS]

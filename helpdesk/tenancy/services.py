from __future__ import annotations

from django.db import transaction

from helpdesk.accounts.models import User

from .context import tenant_context
from .models import AuditEvent, Membership, Tenant
from .resolve import forget_host_cache


def audit(*, actor: User | None, action: str, summary: str, **data) -> AuditEvent:
    """Record a configuration/security change in the current tenant."""
    return AuditEvent.objects.create(actor=actor, action=action, summary=summary, data=data)


class SignupError(Exception):
    pass


@transaction.atomic
def tenant_signup(
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_name: str,
    password: str,
    language: str = "en",
    timezone: str = "UTC",
) -> Tenant:
    """Create a tenant and its first administrator. An address that already has an account
    elsewhere joins with that account's password (proved here), never with a new one."""
    user = User.objects.filter(email__iexact=admin_email).first()
    if user is None:
        user = User.objects.create_user(
            admin_email, password, full_name=admin_name, language=language
        )
    elif not user.check_password(password):
        raise SignupError("existing-account")
    tenant = Tenant.objects.create(
        slug=slug, name=name, default_language=language, timezone=timezone
    )
    with tenant_context(tenant):
        Membership.objects.create(user=user, role=Membership.Role.ADMIN)
        audit(actor=user, action="tenant.created", summary=f"Help desk {name} created")
    forget_host_cache()
    return tenant


@transaction.atomic
def tenant_update_settings(*, tenant: Tenant, actor: User, **fields) -> Tenant:
    changed = [f for f, v in fields.items() if getattr(tenant, f) != v]
    for field in changed:
        setattr(tenant, field, fields[field])
    if changed:
        tenant.full_clean()
        tenant.save(update_fields=changed)
        audit(
            actor=actor,
            action="tenant.updated",
            summary="Settings changed: " + ", ".join(changed),
            fields=changed,
        )
        forget_host_cache()
    return tenant

"""Small helpers shared by tests."""

from __future__ import annotations


def host_of(tenant) -> str:
    from django.conf import settings

    return f"{tenant.slug}.{settings.HELPDESK_BASE_DOMAIN}"


def sign_in(client, user, tenant):
    """Log `user` in on `tenant`'s host the way the login view does (session bound to it)."""
    from helpdesk.tenancy.middleware import SESSION_TENANT_KEY

    client.defaults["HTTP_HOST"] = host_of(tenant)
    client.force_login(user)
    session = client.session
    session[SESSION_TENANT_KEY] = tenant.pk
    session.save()
    return client


def task_callbacks(callbacks: list) -> list:
    """The on-commit callbacks that enqueue work, leaving out cache invalidation
    (tickets.services._counts_changed_on_commit)."""
    return [c for c in callbacks if not getattr(c, "cache_only", False)]

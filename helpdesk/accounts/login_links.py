"""One-time sign-in links for portal customers: signed, 15 minutes, valid on one tenant's host,
and spent by the sign-in itself (the signature covers last_login, which signing in changes)."""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.resolve import tenant_base_url

from .models import User

SALT = "helpdesk.accounts.login-link"
MAX_AGE_SECONDS = 15 * 60


def _state(user: User) -> str:
    return user.last_login.isoformat() if user.last_login else "never"


def login_link_for(user: User) -> str:
    tenant = require_current_tenant()
    token = signing.dumps({"u": user.pk, "t": tenant.pk, "s": _state(user)}, salt=SALT)
    return tenant_base_url(tenant) + reverse("accounts:login_link", kwargs={"token": token})


def user_for_login_link(token: str) -> User | None:
    """The user a link signs in, if it is genuine, fresh, unused and for the current tenant."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if data.get("t") != require_current_tenant().pk:
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or data.get("s") != _state(user):
        return None
    return user

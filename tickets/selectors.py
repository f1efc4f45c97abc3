from __future__ import annotations

from helpdesk.accounts.models import User

from .models import Contact


def contact_for_user(user: User) -> Contact | None:
    """The current tenant's portal contact signed in as `user`, if any."""
    if not user.is_authenticated:
        return None
    return Contact.objects.filter(user=user).first()

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from helpdesk.tenancy.context import get_current_tenant

from .models import User, normalise_email
from .selectors import contact_for_user, membership_for_user


class TenantMemberBackend(ModelBackend):
    """Email + password, accepted only on the host of a tenant where the person is an active
    staff member or a portal contact. Everywhere else the answer is the same "wrong email or
    password", so the form tells nobody which tenants an address belongs to."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None or get_current_tenant() is None:
            return None
        try:
            user = User.objects.get(email__iexact=normalise_email(username))
        except User.DoesNotExist:
            User().set_password(password)  # same work either way: no timing oracle
            return None
        if not (user.check_password(password) and self.user_can_authenticate(user)):
            return None
        if membership_for_user(user) is None and contact_for_user(user) is None:
            return None
        return user

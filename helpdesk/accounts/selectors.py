from __future__ import annotations

from django.db.models import QuerySet

from helpdesk.tenancy.models import Membership

from .models import ApiToken, User


def membership_for_user(user: User) -> Membership | None:
    """The user's active staff membership in the current tenant, if any."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, is_active=True).select_related("user").first()


def contact_for_user(user: User):
    from tickets.selectors import contact_for_user as _contact_for_user  # tickets owns Contact

    return _contact_for_user(user)


def member_list() -> QuerySet[Membership]:
    return Membership.objects.select_related("user").order_by("-is_active", "user__email")


def api_token_list_for(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def user_in_tenant_by_email(email: str) -> User | None:
    """An active user with this address who is staff or a portal customer of this tenant."""
    from tickets.models import Contact

    from .models import normalise_email

    user = User.objects.filter(email__iexact=normalise_email(email), is_active=True).first()
    if user is None:
        return None
    belongs = (
        Membership.objects.filter(user=user, is_active=True).exists()
        or Contact.objects.filter(user=user).exists()
    )
    return user if belongs else None

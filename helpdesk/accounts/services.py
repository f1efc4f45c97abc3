"""Writes for people: members, portal customers, profiles, API tokens."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.services import audit
from helpdesk.tenancy.tasks import enqueue_on_commit

from .models import ApiToken, User, normalise_email
from .tasks import send_login_link, send_member_invitation, send_password_reset


class AccountError(Exception):
    """A request that breaks an account rule; the message is shown to the user as is."""


@transaction.atomic
def member_invite(*, email: str, full_name: str, role: str, actor: User | None) -> Membership:
    """Add a staff member to the current tenant and mail them a link to set their password."""
    email = normalise_email(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, None, full_name=full_name)
    membership = Membership.objects.filter(user=user).first()
    if membership and membership.is_active:
        raise AccountError(_("%(email)s is already a member of this help desk.") % {"email": email})
    if membership:
        membership.role, membership.is_active, membership.invitation_sent_at = role, True, None
        membership.save(update_fields=["role", "is_active", "invitation_sent_at"])
    else:
        membership = Membership.objects.create(user=user, role=role)
    audit(actor=actor, action="member.invited", summary=f"{email} invited as {role}", role=role)
    enqueue_on_commit(send_member_invitation, membership_id=membership.pk)
    return membership


def _other_active_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(role=Membership.Role.ADMIN, is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def member_change_role(*, membership: Membership, role: str, actor: User) -> Membership:
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.ADMIN and not _other_active_admins(membership):
        raise AccountError(_("A help desk needs at least one administrator."))
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit(
        actor=actor,
        action="member.role_changed",
        summary=f"{membership.user.email}: {old} → {role}",
        old=old,
        new=role,
    )
    return membership


@transaction.atomic
def member_deactivate(*, membership: Membership, actor: User) -> Membership:
    if membership.user_id == actor.pk:
        raise AccountError(_("You cannot remove yourself."))
    if membership.role == Membership.Role.ADMIN and not _other_active_admins(membership):
        raise AccountError(_("A help desk needs at least one administrator."))
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    ApiToken.objects.filter(user=membership.user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit(actor=actor, action="member.deactivated", summary=f"{membership.user.email} removed")
    return membership


@transaction.atomic
def member_reactivate(*, membership: Membership, actor: User) -> Membership:
    membership.is_active = True
    membership.save(update_fields=["is_active"])
    audit(actor=actor, action="member.reactivated", summary=f"{membership.user.email} restored")
    return membership


def user_update_profile(*, user: User, full_name: str, language: str) -> User:
    user.full_name, user.language = full_name.strip(), language
    user.save(update_fields=["full_name", "language"])
    return user


def password_reset_request(*, email: str) -> None:
    """Mail a reset link if `email` belongs to someone in the current tenant; say nothing either
    way (the page reads the same whether or not the address is known)."""
    from .selectors import user_in_tenant_by_email

    user = user_in_tenant_by_email(email)
    if user is not None:
        enqueue_on_commit(send_password_reset, user_id=user.pk)


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` in the current tenant; returns it with the secret (shown once)."""
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        key_prefix=secret[:10],
        key_hash=ApiToken.hash_secret(secret),
    )
    audit(actor=user, action="api_token.created", summary=f"API token “{token.name}” created")
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(actor=actor, action="api_token.revoked", summary=f"API token “{token.name}” revoked")
    return token


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The live token for `secret` in the current tenant, if it belongs to an active member."""
    if not secret.startswith(ApiToken.PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash_secret(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if not Membership.objects.filter(user=token.user, is_active=True).exists():
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


@transaction.atomic
def customer_signup(*, email: str, name: str) -> None:
    """Give a customer a portal login for the current tenant: the account is linked to their
    contact (made if new) and a link to choose a password goes to the address, proving it is
    theirs before anyone can sign in with it."""
    from tickets.models import Contact

    email = normalise_email(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, None, full_name=name)
    contact = Contact.objects.filter(email__iexact=email).first()
    if contact is None:
        contact = Contact.objects.create(email=email, name=name or email, user=user)
    elif contact.user_id is None:
        contact.user = user
        contact.save(update_fields=["user"])
    enqueue_on_commit(send_password_reset, user_id=user.pk)


def login_link_request(*, email: str) -> None:
    """Mail a one-time sign-in link to a portal customer of the current tenant; say nothing
    either way."""
    from .selectors import contact_for_user, membership_for_user, user_in_tenant_by_email

    user = user_in_tenant_by_email(email)
    # Staff sign in with their password (and later a second factor), never by link.
    if user is not None and contact_for_user(user) and membership_for_user(user) is None:
        enqueue_on_commit(send_login_link, user_id=user.pk)

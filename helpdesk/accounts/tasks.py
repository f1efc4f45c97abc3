from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.resolve import tenant_base_url
from helpdesk.tenancy.tasks import tenant_task

from .models import User


def password_link(user: User) -> str:
    """An absolute link on the current tenant's host where `user` sets a new password."""
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return tenant_base_url(require_current_tenant()) + path


def _send(user: User, template: str, context: dict) -> None:
    tenant = require_current_tenant()
    language = user.language or tenant.default_language
    with translation.override(language):
        context = {"user": user, "tenant": tenant, **context}
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"accounts/email/{template}.txt", context)
    message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.send()


@tenant_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_member_invitation(*, membership_id: int) -> bool:
    """Mail the invitation once: the claim is a conditional UPDATE, released if sending fails."""
    claimed = Membership.objects.filter(pk=membership_id, invitation_sent_at__isnull=True).update(
        invitation_sent_at=timezone.now()
    )
    if not claimed:
        return False
    membership = Membership.objects.select_related("user").get(pk=membership_id)
    try:
        _send(
            membership.user,
            "invitation",
            {"membership": membership, "link": password_link(membership.user)},
        )
    except Exception:
        Membership.objects.filter(pk=membership_id).update(invitation_sent_at=None)
        raise
    return True


@tenant_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_password_reset(*, user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        _send(user, "password_reset", {"link": password_link(user)})


@tenant_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_login_link(*, user_id: int) -> None:
    from .login_links import login_link_for

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        _send(user, "login_link", {"link": login_link_for(user)})

"""Writes of Settings › Channels (mailboxes, inbound mail, chat, messaging apps); every change is
audited (helpdesk.tenancy.services.audit)."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.services import audit

from .email import process
from .models import ChannelSettings, ChatSettings, InboundEmail, Mailbox, MessagingChannel


class ChannelError(ValueError):
    pass


@transaction.atomic
def mailbox_save(*, mailbox: Mailbox, actor: User, password: str = "") -> Mailbox:
    """Create or update a mailbox; an address another mailbox (of any tenant) owns is refused.
    An empty `password` keeps the saved one (the form never shows it)."""
    created = mailbox.pk is None
    if password:
        mailbox.imap_password = password
    elif not created:
        mailbox.imap_password = (
            Mailbox.objects.filter(pk=mailbox.pk).values_list("imap_password", flat=True).get()
        )
    try:
        with transaction.atomic():
            mailbox.save()
    except IntegrityError:
        raise ChannelError(_("%(address)s is already used by another mailbox.")
                           % {"address": mailbox.address}) from None  # fmt: skip
    audit(
        actor=actor,
        action="mailbox.created" if created else "mailbox.updated",
        summary=f"Mailbox {mailbox.address} ({mailbox.get_kind_display()}) "
        f"{'added' if created else 'changed'}",
        mailbox=mailbox.pk,
    )
    return mailbox


@transaction.atomic
def mailbox_delete(*, mailbox: Mailbox, actor: User) -> None:
    address = mailbox.address
    mailbox.delete()
    audit(actor=actor, action="mailbox.deleted", summary=f"Mailbox {address} removed")


@transaction.atomic
def channel_settings_save(*, settings: ChannelSettings, actor: User) -> ChannelSettings:
    settings.save()
    audit(
        actor=actor,
        action="channels.settings",
        summary=f"Inbound mail: closed replies → {settings.closed_reply}, "
        f"attachments up to {settings.max_attachment_mb} MB",
    )
    return settings


def inbound_retry(*, inbound: InboundEmail, actor: User) -> InboundEmail:
    """Run a failed message through the pipeline again (after a fix, or a changed setting)."""
    if inbound.status != InboundEmail.Status.FAILED:
        raise ChannelError(_("Only mail that could not be processed can be retried."))
    result = process(inbound)
    audit(
        actor=actor,
        action="inbound.retried",
        summary=f"Retried inbound mail #{inbound.pk}: {result.get_status_display()}",
        inbound=inbound.pk,
    )
    return result


@transaction.atomic
def chat_settings_save(*, settings: ChatSettings, actor: User) -> ChatSettings:
    settings.save()
    audit(
        actor=actor,
        action="chat.settings",
        summary=f"Live chat {'on' if settings.enabled else 'off'}, "
        f"{settings.opens_at}-{settings.closes_at} on days {settings.days or '-'}, "
        f"{len(settings.origins())} allowed site(s)",
    )
    return settings


# --- Messaging apps ---------------------------------------------------------------------------

# The credentials that are secret: write-only in Settings, encrypted at rest.
MESSAGING_SECRETS = (
    "app_secret", "token", "encoding_aes_key", "bot_token", "access_token", "verify_token",
)  # fmt: skip


@transaction.atomic
def messaging_channel_save(
    *, channel: MessagingChannel, actor: User, secrets: Mapping[str, str] | None = None
) -> MessagingChannel:
    """Create or update a messaging channel. `secrets` are the secret credentials typed in
    (names from MESSAGING_SECRETS); an empty one keeps the saved value (the form never shows
    them). The audit row names the secrets that changed, never their values."""
    secrets = dict(secrets or {})
    unknown = set(secrets) - set(MESSAGING_SECRETS)
    if unknown:
        raise ValueError(f"Not secret credentials: {', '.join(sorted(unknown))}")
    created = channel.pk is None
    if not created:
        saved = dict(
            zip(
                MESSAGING_SECRETS,
                MessagingChannel.objects.filter(pk=channel.pk)
                .values_list(*MESSAGING_SECRETS)
                .get(),
                strict=True,
            )
        )
        for name, value in saved.items():
            setattr(channel, name, value)
    changed = sorted(name for name, value in secrets.items() if value)
    for name in changed:
        setattr(channel, name, secrets[name])
    try:
        channel.save()
    except LookupError:
        raise ChannelError(
            _("%(provider)s cannot be connected yet.")
            % {"provider": channel.get_provider_display()}
        ) from None
    audit(
        actor=actor,
        action="messaging.created" if created else "messaging.updated",
        summary=f"Messaging app {channel.get_provider_display()} “{channel.name}” "
        f"{'connected' if created else 'changed'}"
        + (f" (new {', '.join(changed)})" if changed and not created else ""),
        channel=channel.pk,
        provider=channel.provider,
        secrets_changed=changed,
    )
    return channel


@transaction.atomic
def messaging_channel_set_active(
    *, channel: MessagingChannel, actor: User, active: bool
) -> MessagingChannel:
    """Pause or resume a channel: a paused channel's webhook answers 404 (nothing is taken in)."""
    if channel.is_active == active:
        return channel
    channel.is_active = active
    channel.save(update_fields=["is_active"])
    audit(
        actor=actor,
        action="messaging.activated" if active else "messaging.deactivated",
        summary=f"Messaging app {channel.get_provider_display()} “{channel.name}” "
        f"{'resumed' if active else 'paused'}",
        channel=channel.pk,
    )
    return channel


@transaction.atomic
def messaging_channel_delete(*, channel: MessagingChannel, actor: User) -> None:
    """Remove a channel and its credentials. Tickets stay; their conversations on it (where
    replies went) go, so replies on those tickets can no longer be sent through the app."""
    label = f"{channel.get_provider_display()} “{channel.name}”"
    channel_id = channel.pk
    channel.delete()
    audit(
        actor=actor,
        action="messaging.deleted",
        summary=f"Messaging app {label} removed",
        channel=channel_id,
    )

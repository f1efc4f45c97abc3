"""Writes of Settings › Channels; every change is audited (helpdesk.tenancy.services.audit)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.services import audit

from .email import process
from .models import ChannelSettings, ChatSettings, InboundEmail, Mailbox


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

"""Where inbound messages come from and what became of them.

- `Mailbox`: a tenant's email address, polled over IMAP or fed by SMTP / the raw-MIME webhook.
- `InboundEmail`: every raw message as it arrived, stored before anything else happens, with
  its outcome (processed onto a ticket, duplicate, ignored as a loop, or failed and waiting
  for an admin). Nothing that reached us is ever dropped.
- `InboundKey`: the idempotency key of each ingested message, per channel; a unique
  constraint makes a second delivery of the same message a no-op under any concurrency.
- `ChannelSettings`: per-tenant choices for inbound mail.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from helpdesk.lib.secrets import EncryptedCharField
from helpdesk.tenancy.models import TenantModel


def new_token() -> str:
    return secrets.token_urlsafe(24)


class ChannelSettings(TenantModel):
    class ClosedReply(models.TextChoices):
        REOPEN = "reopen", _("Reopen the closed ticket")
        FOLLOW_UP = "follow-up", _("Open a follow-up ticket linked to it")

    closed_reply = models.CharField(
        _("when a customer replies to a closed ticket"),
        max_length=10,
        choices=ClosedReply.choices,
        default=ClosedReply.FOLLOW_UP,
    )
    max_attachment_mb = models.PositiveSmallIntegerField(
        _("largest attachment accepted from email (MB)"), default=20
    )

    class Meta:
        verbose_name = _("channel settings")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="channelsettings_tenant_uniq")
        ]


class Mailbox(TenantModel):
    class Kind(models.TextChoices):
        FORWARD = "forward", _("Forwarded to us (SMTP or webhook)")
        IMAP = "imap", _("Polled over IMAP")

    class AfterFetch(models.TextChoices):
        SEEN = "seen", _("Mark as read")
        MOVE = "move", _("Move to a folder")

    name = models.CharField(_("name"), max_length=100)
    address = models.EmailField(_("address"), help_text=_("Mail sent here becomes tickets."))
    kind = models.CharField(_("how mail arrives"), max_length=8, choices=Kind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # IMAP polling
    imap_host = models.CharField(_("IMAP server"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_ssl = models.BooleanField(_("use TLS"), default=True)
    imap_username = models.CharField(_("IMAP user name"), max_length=200, blank=True)
    imap_password = EncryptedCharField(_("IMAP password"), max_length=200, blank=True)
    imap_folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    after_fetch = models.CharField(
        _("after fetching"), max_length=8, choices=AfterFetch.choices, default=AfterFetch.SEEN
    )
    processed_folder = models.CharField(_("move to folder"), max_length=200, blank=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    # The raw-MIME webhook /channels/email/<token>/ (providers that POST inbound mail).
    webhook_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        constraints = [
            # One owner per address across the deployment: SMTP delivery finds the tenant by it.
            models.UniqueConstraint(Lower("address"), name="mailbox_address_uniq"),
        ]

    def __str__(self) -> str:
        return self.address


class InboundEmail(TenantModel):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        DUPLICATE = "duplicate", _("Duplicate (already processed)")
        FAILED = "failed", _("Could not be processed")
        RETRIED = "retried", _("Processed on retry")

    class Via(models.TextChoices):
        IMAP = "imap", "IMAP"
        SMTP = "smtp", "SMTP"
        WEBHOOK = "webhook", _("Webhook")
        COMMAND = "command", _("Command line")

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=8, choices=Via.choices)
    raw = models.BinaryField(help_text="The message exactly as delivered.")
    size = models.PositiveIntegerField(default=0)
    raw_digest = models.CharField(max_length=64, help_text="sha256 of the raw bytes")
    header_message_id = models.CharField("Message-ID", max_length=500, blank=True)
    sender = models.CharField(max_length=320, blank=True)
    recipients = models.TextField(blank=True, help_text="To and Cc addresses, one per line")
    subject = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="What was dropped or noticed, one per line")
    thread_reason = models.CharField(max_length=100, blank=True)
    is_auto = models.BooleanField(default=False, help_text="Auto-submitted, bulk or a bounce")
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inbound email")
        indexes = [
            models.Index(
                fields=["tenant", "-received_at"],
                name="inboundemail_failed",
                condition=Q(status="failed"),
            ),
            models.Index(fields=["tenant", "ticket"], name="inboundemail_ticket"),
            models.Index(fields=["tenant", "raw_digest"], name="inboundemail_digest"),
        ]

    def __str__(self) -> str:
        return f"{self.header_message_id or self.pk} ({self.status})"


class InboundKey(TenantModel):
    """Exactly-once: (tenant, channel, key) is unique. For email the key is the Message-ID
    plus a digest of the content, so a redelivery is caught while a different message that
    reuses a Message-ID is not."""

    channel = models.CharField(max_length=16)
    key = models.CharField(max_length=600)
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.CASCADE, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "key"], name="inboundkey_tenant_channel_key_uniq"
            )
        ]


class BouncedAddress(TenantModel):
    """An address our mail bounced from (flagged on the contact; replies still go out)."""

    address = models.EmailField()
    bounces = models.PositiveIntegerField(default=0)
    last_bounce_at = models.DateTimeField()
    last_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("tenant", Lower("address"), name="bouncedaddress_uniq")
        ]


class ChatSettings(TenantModel):
    """The live chat widget of a tenant: where it may run and when agents answer live."""

    enabled = models.BooleanField(_("chat widget on"), default=True)
    title = models.CharField(_("widget title"), max_length=80, blank=True)
    greeting = models.CharField(_("greeting"), max_length=300, blank=True)
    allowed_origins = models.TextField(
        _("sites allowed to embed the widget"),
        blank=True,
        help_text=_("One origin per line, e.g. https://www.example.com"),
    )
    days = models.CharField(
        _("chat days"), max_length=20, default="0,1,2,3,4", help_text="Weekday numbers, 0 = Monday"
    )
    opens_at = models.TimeField(_("opens at"), default="09:00")
    closes_at = models.TimeField(_("closes at"), default="18:00")

    class Meta:
        verbose_name = _("chat settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="chatsettings_tenant_uniq")]

    def origins(self) -> set[str]:
        return {line.strip().rstrip("/").lower() for line in self.allowed_origins.splitlines()
                if line.strip()}  # fmt: skip


class ChatSession(TenantModel):
    """One visitor's conversation through the widget. The token is its only key: whoever
    holds it (the visitor's browser) reads and writes this conversation and nothing else."""

    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    contact = models.ForeignKey("tickets.Contact", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    visitor_email = models.EmailField(blank=True)
    origin = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)


from .messaging.models import MessagingChannel  # noqa: E402,F401

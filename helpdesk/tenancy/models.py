from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .context import CrossTenantWriteError, require_current_tenant
from .managers import TenantManager

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
    _("Use 1–40 lowercase letters, digits or hyphens; start and end with a letter or digit."),
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


def validate_slug_not_reserved(value: str) -> None:
    if value in settings.HELPDESK_RESERVED_SLUGS:
        raise ValidationError(
            _("“%(value)s” is reserved; choose another."), params={"value": value}
        )


def logo_path(instance: Tenant, filename: str) -> str:
    return f"tenants/{instance.pk}/brand/{filename}"


class Tenant(models.Model):
    """A company using the help desk. The registry of tenants is global (not row-secured):
    the host middleware must read it before any tenant is known."""

    slug = models.CharField(
        _("address"),
        max_length=40,
        unique=True,
        validators=[slug_validator, validate_slug_not_reserved],
    )
    name = models.CharField(_("name"), max_length=120)
    default_language = models.CharField(
        _("default language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    accent_color = models.CharField(
        _("accent colour"),
        max_length=7,
        default="#2457c5",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #2457c5."))],
    )
    logo = models.FileField(
        _("logo"),
        upload_to=logo_path,
        max_length=300,
        blank=True,
        help_text=_("PNG, JPEG or WebP, up to 1 MB; shown in the header of the help centre."),
    )
    portal_reopen_days = models.PositiveSmallIntegerField(
        _("customers may reopen a solved request for (days)"),
        default=7,
        help_text=_("0 means customers cannot reopen; they open a new request instead."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantDomain(models.Model):
    """A custom domain a tenant registered (support.example.com) besides <slug>.<base domain>."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=253)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("custom domain")
        constraints = [models.UniqueConstraint(Lower("domain"), name="tenantdomain_domain_uniq")]

    def __str__(self) -> str:
        return self.domain


class TenantModel(models.Model):
    """Base of every tenant-owned model.

    Inheriting gives: a `tenant` column filled from the current tenant, a default manager that
    filters by it (and raises without one), row-level security and tenant-safe composite foreign
    keys applied by `migrate` (helpdesk/tenancy/rls.py), and a guard against writing a row of
    one tenant inside another tenant's context.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", editable=False, db_index=True
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        tenant = require_current_tenant()
        if self.tenant_id is None:
            self.tenant_id = tenant.pk
        elif self.tenant_id != tenant.pk:
            raise CrossTenantWriteError(
                f"{type(self).__name__} of tenant {self.tenant_id} saved inside tenant {tenant.pk}"
            )
        super().save(*args, **kwargs)


class Membership(TenantModel):
    """A staff member's role in one tenant. Users are global; roles live here."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MANAGER = "manager", _("Manager")
        AGENT = "agent", _("Agent")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    is_active = models.BooleanField(_("active"), default=True)
    invitation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_tenant_user_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def can_view_reports(self) -> bool:
        return self.role in {self.Role.ADMIN, self.Role.MANAGER}


class AuditEvent(TenantModel):
    """Who changed what in the tenant's configuration and security (the settings timeline)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created")]

    def __str__(self) -> str:
        return self.summary

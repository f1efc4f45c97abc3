from __future__ import annotations

import uuid
import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Tenant, slug_validator, validate_slug_not_reserved

COMMON_TIMEZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
]


def timezone_choices() -> list[tuple[str, str]]:
    rest = sorted(zoneinfo.available_timezones() - set(COMMON_TIMEZONES))
    return [(tz, tz) for tz in COMMON_TIMEZONES + rest]


class SignupForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=120)
    slug = forms.CharField(
        label=_("Help desk address"),
        max_length=40,
        validators=[slug_validator, validate_slug_not_reserved],
    )
    admin_name = forms.CharField(label=_("Your name"), max_length=150)
    admin_email = forms.EmailField(label=_("Your work email"), max_length=254)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        min_length=8,
    )
    language = forms.ChoiceField(label=_("Default language"), choices=settings.LANGUAGES)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].help_text = _(
            "Lowercase letters, digits and hyphens. Your help desk will live at "
            "your-address.%(domain)s"
        ) % {"domain": settings.HELPDESK_BASE_DOMAIN}

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if Tenant.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("That address is taken; choose another."))
        return slug

    def clean_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class TenantSettingsForm(forms.Form):
    name = forms.CharField(label=_("Help desk name"), max_length=120)
    default_language = forms.ChoiceField(label=_("Default language"), choices=settings.LANGUAGES)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices)
    accent_color = forms.RegexField(
        label=_("Accent colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    portal_reopen_days = forms.IntegerField(
        label=_("Customers may reopen a solved request for (days)"),
        min_value=0,
        max_value=365,
        required=False,  # left empty: unchanged
        help_text=_("0 means customers cannot reopen; they open a new request instead."),
    )
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG, JPEG or WebP, up to 1 MB; shown in the header of the help centre."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    @classmethod
    def for_tenant(cls, tenant: Tenant, data=None, files=None) -> TenantSettingsForm:
        initial = {f: getattr(tenant, f) for f in cls.base_fields if hasattr(tenant, f)}
        initial.pop("logo", None)
        return cls(data, files, initial=initial)

    def clean_logo(self):
        """Raster images only, recognised by their first bytes (not the name or the browser's
        word), so nothing scriptable (SVG, HTML) is ever served from the tenant's host. The
        file is renamed: a fresh name per upload also busts caches of /brand/logo."""
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("The logo must be 1 MB or smaller."))
        head = upload.read(16)
        upload.seek(0)
        extension = logo_type(head)
        if extension is None:
            raise forms.ValidationError(_("Upload a PNG, JPEG or WebP image."))
        upload.name = f"logo-{uuid.uuid4().hex[:12]}.{extension}"
        return upload

    def settings_fields(self) -> dict:
        """cleaned_data for tenancy.services.tenant_update_settings: `logo` only when it
        changes (a new file, or "" to remove it)."""
        fields = dict(self.cleaned_data)
        logo, remove = fields.pop("logo", None), fields.pop("remove_logo", False)
        if fields.get("portal_reopen_days") is None:
            fields.pop("portal_reopen_days", None)
        if logo:
            fields["logo"] = logo
        elif remove:
            fields["logo"] = ""
        return fields


LOGO_MAX_BYTES = 1024 * 1024


def logo_type(head: bytes) -> str | None:
    """ "png", "jpg" or "webp" from a file's first bytes; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None

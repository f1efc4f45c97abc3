from __future__ import annotations

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

    @classmethod
    def for_tenant(cls, tenant: Tenant, data=None) -> TenantSettingsForm:
        initial = {f: getattr(tenant, f) for f in cls.base_fields}
        return cls(data, initial=initial)

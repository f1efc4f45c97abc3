"""Forms of the contact pages (customer 360) and of the ticket settings pages.

Forms only parse and validate input; the rules live in tickets.contacts and
tickets.admin_services, which the views call with the cleaned data.
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from helpdesk.accounts.models import User

from .admin_services import KEY_RE
from .models import ContactIdentity, CustomerTier, CustomField, Team

# What tickets.canned fills in (a fixed list; anything else stays as typed).
PLACEHOLDERS = (
    ("contact.name", _("the customer's full name")),
    ("contact.first_name", _("the customer's first name")),
    ("contact.email", _("the customer's email address")),
    ("ticket.number", _("the ticket number")),
    ("ticket.subject", _("the ticket subject")),
    ("agent.name", _("your full name")),
    ("agent.first_name", _("your first name")),
)
_BRACES = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def _language_choices(any_label) -> list[tuple[str, str]]:
    return [("", any_label), *settings.LANGUAGES]


def split_list(text: str, *, separators: str = ",") -> list[str]:
    """'a, b,,c' → ['a', 'b', 'c'] (also splits on new lines)."""
    parts = re.split(f"[{re.escape(separators)}\n]", text or "")
    return [p.strip() for p in parts if p.strip()]


# --- Contacts -------------------------------------------------------------------------------


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("Email address"), required=False, max_length=254)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    organization = forms.CharField(
        label=_("Organization"),
        required=False,
        max_length=150,
        help_text=_("Type a name; a new organization is created when none matches."),
    )
    shared_requests = forms.BooleanField(
        label=_("Members of the organization see each other's requests"),
        required=False,
        help_text=_("In the portal, every contact of this organization sees all its requests."),
    )
    tier = forms.ChoiceField(label=_("Customer tier"), choices=CustomerTier.choices)
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = _language_choices(_("Not set"))
        self.fields["organization"].widget.attrs.update(list="org-names", autocomplete="off")
        self.fields["phone"].widget.attrs.update(type="tel", autocomplete="off")

    @classmethod
    def for_contact(cls, contact, data=None) -> ContactForm:
        initial = {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "organization": contact.organization.name if contact.organization_id else "",
            "shared_requests": contact.organization_id and contact.organization.shared_requests,
            "tier": contact.tier,
            "language": contact.language,
        }
        return cls(data, initial=initial, prefix="profile")


class ContactNotesForm(forms.Form):
    notes = forms.CharField(
        label=_("Notes about this customer"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Visible to staff only."),
    )


class IdentityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Channel"), choices=ContactIdentity.Kind.choices)
    value = forms.CharField(label=_("Address, number or id"), max_length=254)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "identity-%s")
        super().__init__(*args, **kwargs)
        self.fields["value"].widget.attrs.update(autocomplete="off")


class MergeForm(forms.Form):
    source = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


# --- Canned responses -----------------------------------------------------------------------


def placeholder_help() -> str:
    items = format_html_join(
        "", "<li><code>{{{{ {} }}}}</code> {}</li>", ((k, label) for k, label in PLACEHOLDERS)
    )
    return format_html("{}<ul>{}</ul>", _("Placeholders you can use:"), items)


class CannedForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(
        label=_("Text"), max_length=20_000, widget=forms.Textarea(attrs={"rows": 9})
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("Offered on tickets in this language; “Any language” everywhere."),
    )
    shared = forms.BooleanField(
        label=_("Shared with the whole team"),
        required=False,
        help_text=_("Unticked, only you see it."),
    )

    def __init__(self, *args, allow_shared: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = _language_choices(_("Any language"))
        self.fields["body"].help_text = placeholder_help()
        if not allow_shared:
            del self.fields["shared"]

    @classmethod
    def for_canned(cls, canned, data=None, *, allow_shared: bool = True) -> CannedForm:
        initial = {
            "title": canned.title,
            "body": canned.body,
            "language": canned.language,
            "shared": canned.owner_id is None,
        }
        return cls(data, initial=initial, allow_shared=allow_shared)

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        known = {key for key, _label in PLACEHOLDERS}
        unknown = sorted({m for m in _BRACES.findall(body) if m not in known})
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholder: %(names)s. Use one of the placeholders in the list."),
                params={"names": ", ".join(f"{{{{ {name} }}}}" for name in unknown)},
            )
        return body


# --- Teams ----------------------------------------------------------------------------------


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    tier = forms.TypedChoiceField(
        label=_("Tier"),
        choices=Team.Tier.choices,
        coerce=int,
        help_text=_("Tier 1 answers first; escalations go to tier 2, then tier 3."),
    )
    skills = forms.CharField(
        label=_("Skills"),
        required=False,
        max_length=1000,
        help_text=_("Comma-separated, e.g. billing, refunds, 中文. Routing matches on them."),
    )
    description = forms.CharField(label=_("Description"), required=False, max_length=300)
    assignment = forms.ChoiceField(
        label=_("Automatic assignment"),
        required=False,  # missing: unchanged (a new team starts manual)
        choices=Team.Assignment.choices,
        initial=Team.Assignment.MANUAL,
        widget=forms.RadioSelect,
        help_text=_("Who gets a ticket once routing has given it to this team: only online "
                    "members with the skills it needs and room under their capacity."),
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "team-%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_team(cls, team, data=None) -> TeamForm:
        initial = {
            "name": team.name,
            "tier": team.tier,
            "skills": ", ".join(team.skills or []),
            "description": team.description,
            "assignment": team.assignment,
        }
        return cls(data, initial=initial)

    def clean_skills(self) -> list[str]:
        return split_list(self.cleaned_data["skills"])


class TeamMemberForm(forms.Form):
    user = forms.TypedChoiceField(label=_("Staff member"), coerce=int)

    def __init__(self, *args, candidates: list[User], **kwargs):
        kwargs.setdefault("auto_id", "member-%s")
        super().__init__(*args, **kwargs)
        self.candidates = {u.pk: u for u in candidates}
        self.fields["user"].choices = [("", _("Choose someone…"))] + [
            (u.pk, f"{u.get_full_name()} · {u.email}" if u.get_full_name() else u.email)
            for u in candidates
        ]

    def clean_user(self) -> User:
        return self.candidates[self.cleaned_data["user"]]


# --- Custom fields --------------------------------------------------------------------------


class CustomFieldForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=100)
    key = forms.CharField(
        label=_("Key"),
        max_length=50,
        help_text=_("Lowercase letters, digits, - and _; used in the API and cannot change later."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomField.Kind.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For drop-downs: one choice per line."),
    )
    position = forms.IntegerField(
        label=_("Order"), required=False, min_value=0, max_value=999, initial=0,
        help_text=_("Smaller numbers come first on the ticket page."),
    )  # fmt: skip

    def __init__(self, *args, editing: bool = False, **kwargs):
        kwargs.setdefault("auto_id", "cf-%s")
        super().__init__(*args, **kwargs)
        self.fields["key"].widget.attrs.update(autocomplete="off", spellcheck="false")
        if editing:
            self.fields["key"].disabled = True
            self.fields["key"].required = False
            self.fields["key"].help_text = _(
                "The key cannot change: tickets store values under it."
            )

    @classmethod
    def for_field(cls, field, data=None) -> CustomFieldForm:
        initial = {
            "label": field.label,
            "key": field.key,
            "kind": field.kind,
            "choices": "\n".join(field.choices or []),
            "position": field.position,
        }
        return cls(data, initial=initial, editing=True)

    def clean_key(self) -> str:
        key = (self.cleaned_data.get("key") or "").strip().lower()
        if not self.fields["key"].disabled and not KEY_RE.match(key):
            raise forms.ValidationError(
                _("Use 1–50 lowercase letters, digits, hyphens or underscores.")
            )
        return key

    def clean_choices(self) -> list[str]:
        return split_list(self.cleaned_data["choices"], separators="")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == CustomField.Kind.CHOICE and not data.get("choices"):
            self.add_error("choices", _("A drop-down needs at least one choice."))
        return data

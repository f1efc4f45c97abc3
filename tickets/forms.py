"""Forms of the ticket page and of "new ticket". They parse and validate; the writes are the
services' (tickets.services, tickets.delivery)."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.accounts.models import User
from helpdesk.lib.widgets import FastSelect

from .attachments import AttachmentError, attachment_validate
from .models import CustomField, Team, Ticket

logger = logging.getLogger(__name__)
MAX_FILES = 10
BODY_MAX = 50_000


# --- Submitted once -------------------------------------------------------------------------
# A refresh or a double click must not send a reply or open a ticket twice: each form carries a
# random token, and the first request that claims it (an atomic SET NX in Redis) wins.

TOKEN_TTL = 60 * 60 * 6


def form_token() -> str:
    return secrets.token_urlsafe(18)


def _token_key(scope: str, token: str) -> str:
    return f"form-once:{scope}:{token}"


def form_token_claim(*, scope: str, token: str) -> bool:
    """True for the first claim of `token` in `scope`; a form without a token always passes.
    Best effort: with Redis unreachable the submission goes ahead (never block a reply)."""
    if not token:
        return True
    try:
        return cache.add(_token_key(scope, token), "", TOKEN_TTL)
    except Exception:  # noqa: BLE001 - any cache failure means "no record", not an error
        logger.warning("form tokens unavailable; %s accepted unchecked", scope)
        return True


def form_token_result(*, scope: str, token: str) -> str:
    """What the first submission produced (e.g. the new ticket's number), if it said."""
    try:
        return (cache.get(_token_key(scope, token)) or "") if token else ""
    except Exception:  # noqa: BLE001
        return ""


def form_token_done(*, scope: str, token: str, result: str) -> None:
    if token:
        try:
            cache.set(_token_key(scope, token), result, TOKEN_TTL)
        except Exception:  # noqa: BLE001
            logger.warning("form tokens unavailable")


def form_token_release(*, scope: str, token: str) -> None:
    """The submission failed: the same form may be sent again."""
    if token:
        try:
            cache.delete(_token_key(scope, token))
        except Exception:  # noqa: BLE001
            logger.warning("form tokens unavailable")


# --- Composer -------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


STATUS_AFTER_REPLY = [
    ("", gettext_lazy("Keep status")),
    (Ticket.Status.OPEN, Ticket.Status.OPEN.label),
    (Ticket.Status.PENDING, Ticket.Status.PENDING.label),
    (Ticket.Status.ON_HOLD, Ticket.Status.ON_HOLD.label),
    (Ticket.Status.SOLVED, Ticket.Status.SOLVED.label),
]


class ComposerForm(forms.Form):
    REPLY, NOTE = "reply", "note"

    kind = forms.ChoiceField(
        label=gettext_lazy("Message type"),
        choices=[(REPLY, gettext_lazy("Reply")), (NOTE, gettext_lazy("Internal note"))],
        widget=forms.RadioSelect,
        initial=REPLY,
    )
    body = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        max_length=BODY_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 7}),
    )
    attachments = MultipleFileField(label=gettext_lazy("Attach files"), required=False)
    set_status = forms.ChoiceField(
        label=gettext_lazy("Then set status"), choices=STATUS_AFTER_REPLY, required=False
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "composer-%s")
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs.update(
            {"placeholder": _("Write your reply…"), "data-composer-text": ""}
        )
        if not self.is_bound and not self.initial.get("token"):
            self.initial["token"] = form_token()

    def clean_attachments(self) -> list[UploadedFile]:
        files = self.cleaned_data["attachments"]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(_("Attach at most %(n)d files.") % {"n": MAX_FILES})
        errors = []
        for upload in files:
            try:
                attachment_validate(upload)
            except AttachmentError as error:
                errors.append(str(error))
        if errors:
            raise forms.ValidationError(errors)
        return files

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            "attachments" in data
            and not (data.get("body") or "").strip()
            and not data["attachments"]
        ):
            if data.get("kind") == self.NOTE:
                self.add_error("body", _("Write a note before saving it."))
            else:
                self.add_error("body", _("Write a reply before sending it."))
        return data


# --- Properties -----------------------------------------------------------------------------

UNSET = ""
NONE_VALUE = "none"


def _custom_field(definition: CustomField) -> forms.Field:
    label = definition.label
    if definition.kind == CustomField.Kind.NUMBER:
        return forms.DecimalField(label=label, required=False, max_digits=20, decimal_places=6)
    if definition.kind == CustomField.Kind.CHOICE:
        options = [(str(c), str(c)) for c in definition.choices or []]
        return forms.ChoiceField(label=label, required=False, choices=[("", "—"), *options])
    if definition.kind == CustomField.Kind.CHECKBOX:
        return forms.NullBooleanField(label=label, required=False)
    if definition.kind == CustomField.Kind.DATE:
        return forms.DateField(
            label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
    return forms.CharField(label=label, required=False, max_length=500)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class PropertiesForm(forms.Form):
    """The side panel's properties.

    Edits are the fields whose submitted value differs from what the agent saw (`seen`, the
    values the form was rendered with); with htmx a select saves on its own and names itself
    (`only`). So a stale form never reverts what someone else changed in the meantime, and the
    conflict notice can re-post just the agent's own edits on top of the new version.
    """

    STANDARD = ("status", "priority", "type", "category", "assignee", "team")

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    seen = forms.CharField(widget=forms.HiddenInput, required=False, max_length=5000)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, widget=FastSelect)
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), required=False, widget=FastSelect)
    type = forms.ChoiceField(label=gettext_lazy("Type"), required=False, widget=FastSelect)
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False, widget=FastSelect)
    assignee = forms.ChoiceField(label=gettext_lazy("Assignee"), required=False, widget=FastSelect)
    team = forms.ChoiceField(label=gettext_lazy("Team"), required=False, widget=FastSelect)

    def __init__(
        self,
        *args,
        ticket: Ticket,
        agents: Sequence[User],
        teams: Sequence[Team],
        custom_fields: Sequence[CustomField] = (),
        custom_editable: bool = True,
        autosave_url: str = "",
        **kwargs,
    ):
        kwargs.setdefault("auto_id", "prop-%s")
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        self.agents = {str(a.pk): a for a in agents}
        if ticket.assignee_id and str(ticket.assignee_id) not in self.agents:
            self.agents[str(ticket.assignee_id)] = ticket.assignee  # no longer staff here
        self.teams = {str(t.pk): t for t in teams}
        self.custom_definitions = list(custom_fields)
        self.custom_editable = custom_editable
        self.fields["status"].choices = Ticket.Status.choices
        self.fields["priority"].choices = Ticket.Priority.choices
        self.fields["type"].choices = Ticket.Type.choices
        self.fields["category"].choices = Ticket.Category.choices
        self.fields["assignee"].choices = [(NONE_VALUE, _("Unassigned"))] + [
            (pk, user.get_full_name()) for pk, user in self.agents.items()
        ]
        self.fields["team"].choices = [(NONE_VALUE, _("No team"))] + [
            (pk, team.name) for pk, team in self.teams.items()
        ]
        if custom_editable:
            for definition in self.custom_definitions:
                self.fields[f"cf_{definition.key}"] = _custom_field(definition)
        if autosave_url:  # htmx: each control saves itself on change (and names itself)
            for name, field in self.fields.items():
                if name not in ("version", "seen"):
                    field.widget.attrs.update({"hx-post": autosave_url, "hx-trigger": "change"})
        if not self.is_bound:
            current = self.current()
            self.initial.update(current, seen=json.dumps(self._raw(current)))

    def current(self) -> dict[str, Any]:
        ticket = self.ticket
        values: dict[str, Any] = {
            "version": ticket.version,
            "status": ticket.status,
            "priority": ticket.priority,
            "type": ticket.type,
            "category": ticket.category,
            "assignee": str(ticket.assignee_id) if ticket.assignee_id else NONE_VALUE,
            "team": str(ticket.team_id) if ticket.team_id else NONE_VALUE,
        }
        if self.custom_editable:
            stored = ticket.custom_fields or {}
            for definition in self.custom_definitions:
                values[f"cf_{definition.key}"] = stored.get(definition.key)
        return values

    def _raw(self, values: dict[str, Any]) -> dict[str, str]:
        """Values as the browser would post them back."""
        raw = {}
        for name, value in values.items():
            if name == "version":
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            raw[name] = "" if value is None else str(value)
        return raw

    def custom_values(self) -> list[tuple[str, Any]]:
        """(label, value) of every custom field, for reading."""
        stored = self.ticket.custom_fields or {}
        return [(d.label, stored.get(d.key)) for d in self.custom_definitions]

    def custom_bound_fields(self) -> list[forms.BoundField]:
        if not self.custom_editable:
            return []
        return [self[f"cf_{d.key}"] for d in self.custom_definitions]

    def edited_names(self) -> list[str]:
        """The fields the agent changed in this submission."""
        names = [n for n in self.data if n in self.fields and n not in ("version", "seen")]
        only = getattr(self, "_only", None)
        if only in names:
            return [only]
        try:
            seen = json.loads(self.data.get("seen") or "null")
        except ValueError:
            seen = None
        if not isinstance(seen, dict):
            return names  # no record of what was seen: everything posted is an edit
        return [n for n in names if self.data.get(n, "") != seen.get(n, "")]

    def changes(self, *, only: str | None = None) -> dict[str, Any]:
        """Keyword arguments for services.ticket_update: the agent's edits that differ from the
        ticket as it is, limited to the field `only` when given."""
        self._only = only
        data, ticket = self.cleaned_data, self.ticket
        edited = self.edited_names()
        changes: dict[str, Any] = {}
        for name in (n for n in edited if n in self.STANDARD):
            value = data.get(name)
            if name == "assignee":
                value = None if value in (NONE_VALUE, UNSET) else self.agents[value]
                if getattr(value, "pk", None) != ticket.assignee_id:
                    changes[name] = value
            elif name == "team":
                value = None if value in (NONE_VALUE, UNSET) else self.teams[value]
                if getattr(value, "pk", None) != ticket.team_id:
                    changes[name] = value
            elif value and value != getattr(ticket, name):
                changes[name] = value
        custom = dict(ticket.custom_fields or {})
        for definition in self.custom_definitions:
            name = f"cf_{definition.key}"
            if name in edited and name in self.fields:
                value = _json_value(data.get(name))
                if value in ("", None):
                    custom.pop(definition.key, None)
                else:
                    custom[definition.key] = value
        if custom != (ticket.custom_fields or {}):
            changes["custom_fields"] = custom
        return changes

    def display(self, name: str, value: Any) -> str:
        """A value of field `name` as people read it (for the conflict notice)."""
        if name == "assignee":
            return value.get_full_name() if value else _("Unassigned")
        if name == "team":
            return value.name if value else _("No team")
        if name in ("status", "priority", "type", "category"):
            return str(dict(self.fields[name].choices).get(value, value))
        if value is True:
            return _("Yes")
        if value is False:
            return _("No")
        if value in ("", None):
            return "—"
        return str(value)


class TagsForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    tags = forms.CharField(
        label=gettext_lazy("Tags"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Separate tags with commas."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "tags-%s")
        super().__init__(*args, **kwargs)
        self.fields["tags"].widget.attrs.update(
            {"placeholder": _("e.g. refund, vip"), "autocomplete": "off"}
        )

    def names(self) -> list[str]:
        raw = self.cleaned_data["tags"].replace("，", ",")  # a Chinese comma counts too
        return [name.strip() for name in raw.split(",") if name.strip()]


# --- Related tickets ------------------------------------------------------------------------


class TicketNumberForm(forms.Form):
    number = forms.IntegerField(label=gettext_lazy("Ticket number"), min_value=1)

    def __init__(self, *args, prefix_id: str = "other", **kwargs):
        kwargs.setdefault("auto_id", f"{prefix_id}-%s")
        super().__init__(*args, **kwargs)
        self.fields["number"].widget.attrs.update({"placeholder": "123", "inputmode": "numeric"})


class SplitForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject of the new ticket"), required=False,
                              max_length=250)  # fmt: skip


# --- New ticket on a customer's behalf ------------------------------------------------------


class TicketCreateForm(forms.Form):
    requester_email = forms.EmailField(label=gettext_lazy("Customer's email address"))
    requester_name = forms.CharField(
        label=gettext_lazy("Customer's name"),
        required=False,
        max_length=150,
        help_text=gettext_lazy("Used when this address is new to us."),
    )
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=250)
    body = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("How they contacted us"),
        choices=[
            (Ticket.Channel.PHONE, Ticket.Channel.PHONE.label),
            (Ticket.Channel.EMAIL, Ticket.Channel.EMAIL.label),
            (Ticket.Channel.CHAT, Ticket.Channel.CHAT.label),
            (Ticket.Channel.WEB, Ticket.Channel.WEB.label),
        ],
        initial=Ticket.Channel.PHONE,
        help_text=gettext_lazy("Replies to an email ticket are sent to the customer by email."),
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=Ticket.Priority.choices, initial="normal"
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "new-%s")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", form_token())
        self.fields["subject"].widget.attrs["autocomplete"] = "off"

    def clean_subject(self) -> str:
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError(_("Give the ticket a subject."))
        return subject

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError(_("Describe what the customer needs."))
        return body

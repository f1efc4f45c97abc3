"""Forms of Settings › Channels. They parse and validate; channels_in.admin_services writes."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.attachments import AttachmentError, attachment_validate
from tickets.forms import MAX_FILES, MultipleFileField

from .models import ChannelSettings, ChatSettings, Mailbox


class MailboxForm(forms.ModelForm):
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the saved password."),
    )

    class Meta:
        model = Mailbox
        fields = [
            "name", "address", "kind", "is_active", "imap_host", "imap_port", "imap_ssl",
            "imap_username", "imap_password", "imap_folder", "after_fetch", "processed_folder",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("kind", Mailbox.Kind.FORWARD)
        super().__init__(*args, **kwargs)
        if not self.instance.pk or not self.instance.imap_password:
            self.fields["imap_password"].help_text = ""
        for name in ("imap_host", "imap_username", "imap_folder", "processed_folder"):
            self.fields[name].widget.attrs["autocomplete"] = "off"
        self.fields["address"].widget.attrs["autocomplete"] = "off"

    def clean_address(self) -> str:
        return self.cleaned_data["address"].strip().lower()

    def clean(self):
        data = super().clean()
        if data.get("kind") == Mailbox.Kind.IMAP:
            for name in ("imap_host", "imap_username"):
                if not data.get(name):
                    self.add_error(name, _("Needed to poll over IMAP."))
            has_password = data.get("imap_password") or (
                self.instance.pk and self.instance.imap_password
            )
            if not has_password:
                self.add_error("imap_password", _("Needed to poll over IMAP."))
        if data.get("after_fetch") == Mailbox.AfterFetch.MOVE and not data.get("processed_folder"):
            self.add_error("processed_folder", _("Name the folder processed mail moves to."))
        return data


class ChannelSettingsForm(forms.ModelForm):
    class Meta:
        model = ChannelSettings
        fields = ["closed_reply", "max_attachment_mb"]
        widgets = {"closed_reply": forms.RadioSelect}

    def clean_max_attachment_mb(self) -> int:
        value = self.cleaned_data["max_attachment_mb"]
        if not 1 <= value <= 50:
            raise forms.ValidationError(_("Choose between 1 and 50 MB."))
        return value


class RequestForm(forms.Form):
    """The public "submit a request" form (web form and portal). `website` is a honeypot:
    hidden from people (and from assistive technology), filled in by bots."""

    name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Your email address"))
    subject = forms.CharField(label=_("Subject"), max_length=250)
    description = forms.CharField(
        label=_("How can we help?"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text=_(
            "The more detail, the faster the answer: order numbers, what you tried, what you saw."
        ),  # fmt: skip
    )
    attachments = MultipleFileField(label=_("Attach files"), required=False)
    website = forms.CharField(required=False, label=_("Leave this field empty"))
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, contact=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact = contact
        if contact is not None:  # signed-in customers are known: no name or address to type
            del self.fields["name"]
            del self.fields["email"]
        self.fields["website"].widget.attrs.update(
            {"tabindex": "-1", "autocomplete": "off", "aria-hidden": "true"}
        )
        for name in ("name", "email"):
            if name in self.fields:
                self.fields[name].widget.attrs["autocomplete"] = name

    def clean_attachments(self):
        files = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_FILES:
            raise forms.ValidationError(_("Attach at most %(n)d files.") % {"n": MAX_FILES})
        for upload in files:
            try:
                attachment_validate(upload)
            except AttachmentError as error:
                raise forms.ValidationError(str(error)) from error
        return files

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


WEEKDAYS = [
    ("0", _("Monday")), ("1", _("Tuesday")), ("2", _("Wednesday")), ("3", _("Thursday")),
    ("4", _("Friday")), ("5", _("Saturday")), ("6", _("Sunday")),
]  # fmt: skip


class ChatSettingsForm(forms.ModelForm):
    chat_days = forms.MultipleChoiceField(
        label=_("Chat days"), choices=WEEKDAYS, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    class Meta:
        model = ChatSettings
        fields = ["enabled", "title", "greeting", "opens_at", "closes_at", "allowed_origins"]
        widgets = {
            "opens_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "allowed_origins": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chat_days"].initial = [d for d in self.instance.days.split(",") if d]
        self.fields["allowed_origins"].widget.attrs["placeholder"] = "https://www.example.com"

    def clean_allowed_origins(self) -> str:
        lines = []
        for line in self.cleaned_data["allowed_origins"].splitlines():
            origin = line.strip().rstrip("/")
            if not origin:
                continue
            if not re.fullmatch(r"https?://[a-z0-9.-]+(:\d{1,5})?", origin.lower()):
                raise forms.ValidationError(
                    _("“%(origin)s” is not an origin like https://www.example.com.")
                    % {"origin": origin}
                )
            lines.append(origin.lower())
        return "\n".join(lines)

    def clean(self):
        data = super().clean()
        if data.get("opens_at") and data.get("closes_at") and data["opens_at"] >= data["closes_at"]:
            self.add_error("closes_at", _("Closing time must be after opening time."))
        return data

    def save(self, commit: bool = True):
        self.instance.days = ",".join(sorted(self.cleaned_data.get("chat_days") or []))
        return super().save(commit=commit)

"""Forms of Settings › Channels. They parse and validate; channels_in.admin_services writes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext_lazy as _

from tickets.attachments import AttachmentError, attachment_validate
from tickets.forms import MAX_FILES, MultipleFileField

from .admin_services import MESSAGING_SECRETS
from .models import ChannelSettings, ChatSettings, Mailbox, MessagingChannel


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


# --- Messaging apps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """One MessagingChannel field as a provider's console names it."""

    name: str
    label: Any  # lazy translation
    required: bool = True


C = Credential
AES_KEY = C("encoding_aes_key", _("EncodingAESKey"))
# Which fields each provider's adapter reads (channels_in/messaging/<provider>.py), in the order
# the provider's console shows them. Required: what receiving and replying need.
MESSAGING_FIELDS: dict[str, tuple[Credential, ...]] = {
    "wechat": (C("app_id", _("AppID")), C("app_secret", _("AppSecret")), C("token", _("Token")),
               C("encoding_aes_key", _("EncodingAESKey"), required=False)),
    "wechat_kf": (C("app_id", _("CorpID")), C("app_secret", _("WeChat Customer Service Secret")),
                  C("token", _("Token")), AES_KEY,
                  C("account_id", _("Customer service account (open_kfid)"), required=False)),
    "wecom": (C("app_id", _("CorpID")), C("account_id", _("AgentID")),
              C("app_secret", _("App Secret")), C("token", _("Token")), AES_KEY),
    "dingtalk": (C("app_id", _("AppKey (Client ID)")),
                 C("app_secret", _("AppSecret (Client Secret)")),
                 C("account_id", _("Robot code"), required=False)),
    "feishu": (C("app_id", _("App ID")), C("app_secret", _("App Secret")),
               C("token", _("Verification Token"), required=False),
               C("encoding_aes_key", _("Encrypt Key"), required=False)),
    "whatsapp": (C("account_id", _("Phone number ID")), C("access_token", _("Access token")),
                 C("app_secret", _("Meta App Secret")), C("verify_token", _("Verify token"))),
    "telegram": (C("bot_token", _("Bot token")), C("token", _("Webhook secret token"))),
    "messenger": (C("account_id", _("Page ID"), required=False),
                  C("access_token", _("Page access token")),
                  C("app_secret", _("Meta App Secret")), C("verify_token", _("Verify token"))),
}  # fmt: skip
WECHAT_FAMILY = {"wechat", "wechat_kf", "wecom"}


class SecretInput(forms.PasswordInput):
    """Never renders a value; not `required` in the HTML once a value is saved (empty keeps it)."""

    def __init__(self, *, saved: bool, attrs=None):
        super().__init__(attrs, render_value=False)
        self.saved = saved

    def use_required_attribute(self, initial) -> bool:
        return not self.saved and super().use_required_attribute(initial)


class SecretField(forms.CharField):
    """A write-only credential: required until one is saved; then empty means "keep it"."""

    def __init__(self, *, saved: bool, **kwargs):
        self.saved = saved
        attrs = {"autocomplete": "new-password", "spellcheck": "false"}
        super().__init__(widget=SecretInput(saved=saved, attrs=attrs), **kwargs)

    def validate(self, value) -> None:
        if value in self.empty_values and self.saved:
            return
        super().validate(value)


class MessagingChannelForm(forms.ModelForm):
    """A messaging channel's name and the credentials its provider uses, nothing else.

    Secret credentials are plain form fields (SecretField), not model fields: rendered empty
    (never the saved value, not even after an error), required until one is saved, handed to
    admin_services.messaging_channel_save, which keeps the saved value when one is left empty."""

    class Meta:
        model = MessagingChannel
        fields = ["name", "app_id", "account_id"]

    def __init__(self, *args, provider: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.credentials = MESSAGING_FIELDS[provider]
        used = {c.name for c in self.credentials}
        for name in ("app_id", "account_id"):
            if name not in used:
                del self.fields[name]
        for credential in self.credentials:
            model_field = MessagingChannel._meta.get_field(credential.name)
            if credential.name in MESSAGING_SECRETS:
                self.fields[credential.name] = self._secret_field(credential, model_field)
            else:
                field = self.fields[credential.name]
                field.label, field.required = credential.label, credential.required
                field.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        self.fields["name"].widget.attrs["autocomplete"] = "off"
        self.fields["name"].help_text = _("For you and your agents, e.g. the account's name.")
        self.order_fields(["name", *(c.name for c in self.credentials)])

    def _secret_field(self, credential: Credential, model_field) -> SecretField:
        saved = self.has_saved(credential.name)
        help_text = conditional_escape(model_field.help_text)
        if saved:
            help_text = format_html(
                "<strong>{}</strong> {}", _("Saved — leave empty to keep it."), help_text
            )
        return SecretField(
            saved=saved,
            label=credential.label,
            required=credential.required,
            max_length=model_field.max_length,
            help_text=help_text,
        )

    def has_saved(self, name: str) -> bool:
        return self.instance.pk is not None and bool(getattr(self.instance, name))

    @property
    def secrets(self) -> dict[str, str]:
        """The secret credentials typed in (empty: keep the saved one)."""
        return {c.name: self.cleaned_data.get(c.name, "") for c in self.credentials
                if c.name in MESSAGING_SECRETS}  # fmt: skip

    def _present(self, name: str) -> bool:
        return bool(self.cleaned_data.get(name)) or self.has_saved(name)

    def clean(self):
        data = super().clean()
        key = data.get("encoding_aes_key")
        if key and self.provider in WECHAT_FAMILY and not re.fullmatch(r"[A-Za-z0-9]{43}", key):
            self.add_error("encoding_aes_key", _("The EncodingAESKey is 43 letters and digits."))
        agent = data.get("account_id")
        if agent and self.provider == "wecom" and not agent.isdigit():
            self.add_error("account_id", _("The AgentID is a number."))
        token = data.get("token")
        if (
            token
            and self.provider == "telegram"
            and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", token)
        ):
            self.add_error("token", _("Telegram allows 1–256 letters, digits, “_” and “-” here."))
        bot = data.get("bot_token")
        if bot and not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", bot):
            self.add_error(
                "bot_token", _("A bot token looks like 123456789:AAE… (from @BotFather).")
            )
        if (self.provider == "feishu" and not self._present("token")
                and not self._present("encoding_aes_key")):  # fmt: skip
            self.add_error("token", _("Give the Verification Token, the Encrypt Key, or both."))
        return data

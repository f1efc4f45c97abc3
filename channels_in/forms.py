"""Forms of Settings › Channels. They parse and validate; channels_in.admin_services writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ChannelSettings, Mailbox


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
        super().__init__(*args, **kwargs)
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

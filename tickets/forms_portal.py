"""Forms of the customer portal (tickets/views/portal.py). They parse and validate; the
writes are tickets.portal's."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from . import portal
from .forms import MultipleFileField, form_token


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Your reply"),
        max_length=portal.REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": gettext_lazy("Write a message before sending it.")},
    )
    attachments = MultipleFileField(label=gettext_lazy("Attach files"), required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reply-%s")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", form_token())

    def clean_attachments(self) -> list:
        problems = portal.check_attachments(self.cleaned_data["attachments"])
        if problems:
            raise forms.ValidationError(problems)
        return self.cleaned_data["attachments"]


class FollowUpForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=250)
    description = forms.CharField(
        label=gettext_lazy("What do you need?"),
        max_length=portal.REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachments = MultipleFileField(label=gettext_lazy("Attach files"), required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean_attachments(self) -> list:
        problems = portal.check_attachments(self.cleaned_data["attachments"])
        if problems:
            raise forms.ValidationError(problems)
        return self.cleaned_data["attachments"]


class ListForm(forms.Form):
    """The list's query string, validated: unknown values fall back to the defaults."""

    q = forms.CharField(label=gettext_lazy("Search by subject or number"), required=False,
                        max_length=100)  # fmt: skip
    status = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            ("open", gettext_lazy("Open")),
            ("solved", gettext_lazy("Solved")),
            ("all", gettext_lazy("All")),
        ],  # fmt: skip
    )
    scope = forms.ChoiceField(required=False, choices=[(s, s) for s in portal.SCOPES])

"""Forms of the public help centre: the search box and "Was this helpful?"."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .search import MAX_QUERY_CHARS


class PublicSearchForm(forms.Form):
    q = forms.CharField(label=_("Search the help centre"), max_length=MAX_QUERY_CHARS,
                        required=False, strip=True)  # fmt: skip


class FeedbackForm(forms.Form):
    # Slugs are unique per language: the article's language says which one was read.
    language = forms.ChoiceField(choices=settings.LANGUAGES, widget=forms.HiddenInput)
    helpful = forms.ChoiceField(label=_("Was this article helpful?"),
                                choices=[("yes", _("Yes")), ("no", _("No"))])  # fmt: skip
    comment = forms.CharField(
        label=_("Anything we should add or change? (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    @property
    def is_helpful(self) -> bool:
        return self.cleaned_data["helpful"] == "yes"

"""Forms of Settings › Routing, Auto-replies and Agents, and of the availability menu.

They parse and label input; the rules are in tickets.automation.admin_services. A routing
rule's conditions and actions come from the shared builder (tickets.automation.forms.RuleBuilder).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tickets.models import CustomerTier, Organization, Ticket

from .admin_services import MAX_BODY, MAX_CAPACITY, MAX_SUBJECT
from .autoreply import NO_AUTO_REPLY_CHANNELS
from .models import AgentProfile, AutoReply, RoutingRule


def _languages(blank: str) -> list[tuple[str, str]]:
    return [("", blank), *((code, str(name)) for code, name in settings.LANGUAGES)]


class RoutingRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    stop = forms.BooleanField(
        label=_("Stop here"),
        required=False,
        initial=True,
        help_text=_("When this rule matches, the rules below it are not tried."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "rule-%s")
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(autocomplete="off")

    @classmethod
    def for_rule(cls, rule: RoutingRule | None, data=None) -> RoutingRuleForm:
        if rule is None:
            return cls(data)
        return cls(data, initial={"name": rule.name, "is_active": rule.is_active,
                                  "stop": rule.stop})  # fmt: skip


class RoutingTestForm(forms.Form):
    """A message to try the rules on. Prefixed, so it can share the rule editor's form."""

    subject = forms.CharField(label=_("Subject"), max_length=250, required=False)
    body = forms.CharField(
        label=_("Message"),
        max_length=20_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Ticket.Channel.choices, initial=Ticket.Channel.EMAIL
    )
    requester_email = forms.EmailField(
        label=_("Sender's email"),
        required=False,
        help_text=_("A known customer's tier and organization are used unless you pick others."),
    )
    language = forms.ChoiceField(label=_("Language"), required=False)
    requester_tier = forms.ChoiceField(label=_("Customer tier"), required=False)
    organization = forms.TypedChoiceField(
        label=_("Organization"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "test")
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = _languages(_("Not known"))
        self.fields["requester_tier"].choices = [
            ("", _("The sender's, or standard")),
            *CustomerTier.choices,
        ]
        organizations = Organization.objects.order_by("name").values_list("pk", "name")[:500]
        self.fields["organization"].choices = [
            ("", _("The sender's, or none")),
            *organizations,
        ]
        self.fields["requester_email"].widget.attrs.update(autocomplete="off")
        self.fields["subject"].widget.attrs.update(autocomplete="off")

    def clean(self) -> dict:
        data = super().clean()
        if not (data.get("subject") or "").strip() and not (data.get("body") or "").strip():
            raise forms.ValidationError(_("Type a subject or a message to test with."))
        return data


DEFAULT_SUBJECT = "[#{{ ticket.number }}] {{ ticket.subject }}"
DEFAULT_BODY = _(
    "Hello {{ requester.name }},\n\n"
    "thank you for writing to us. Your request number is {{ ticket.number }}.\n"
    "{{ sla.first_response }}\n\n"
    "{{ kb.articles }}\n\n"
    "You can follow your request here: {{ request_url }}"
)


def _auto_reply_channels() -> list[tuple[str, str]]:
    return [("", _("Every channel"))] + [
        (value, label)
        for value, label in Ticket.Channel.choices
        if value not in NO_AUTO_REPLY_CHANNELS
    ]


class AutoReplyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        help_text=_("Live chat, phone and API tickets get no acknowledgement."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("The ticket's language. The most specific template wins."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=MAX_SUBJECT)
    body = forms.CharField(
        label=_("Message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 10})
    )
    suggest_articles = forms.BooleanField(
        label=AutoReply._meta.get_field("suggest_articles").verbose_name.capitalize(),
        required=False,
        initial=True,
        help_text=AutoReply._meta.get_field("suggest_articles").help_text,
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reply-%s")
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = _auto_reply_channels()
        self.fields["language"].choices = _languages(_("Every language"))
        self.fields["name"].widget.attrs.update(autocomplete="off")
        self.fields["subject"].widget.attrs.update(autocomplete="off", spellcheck="true")

    @classmethod
    def for_auto_reply(cls, item: AutoReply | None, data=None) -> AutoReplyForm:
        if item is None:
            return cls(data, initial={"subject": DEFAULT_SUBJECT, "body": str(DEFAULT_BODY)})
        initial = {
            name: getattr(item, name)
            for name in ("name", "is_active", "channel", "language", "subject", "body",
                         "suggest_articles")
        }  # fmt: skip
        return cls(data, initial=initial)


class AgentForm(forms.Form):
    """An administrator's settings for one agent (a row of Settings › Agents)."""

    availability = forms.ChoiceField(
        label=_("Availability"), choices=AgentProfile.Availability.choices
    )
    capacity = forms.IntegerField(
        label=_("Capacity"),
        min_value=0,
        max_value=MAX_CAPACITY,
        help_text=AgentProfile._meta.get_field("capacity").help_text,
    )


class AvailabilityForm(forms.Form):
    availability = forms.ChoiceField(choices=AgentProfile.Availability.choices)

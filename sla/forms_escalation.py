"""Forms of Settings › Escalation policies / Alert rules and the agent's "Escalate" form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Membership
from tickets.automation.models import Notification
from tickets.models import Team, Ticket

from .alerts import recipient_labels
from .models import AlertRule, EscalationPolicy, SLATimer

Checkboxes = forms.CheckboxSelectMultiple


def _priority_raise_choices() -> list[tuple[str, str]]:
    levels = [(p.value, _("To %(level)s (if lower)") % {"level": p.label})
              for p in Ticket.Priority if p != Ticket.Priority.LOW]  # fmt: skip
    return [("", _("Leave it")), ("up", _("One step up")), *levels]


def _team_choices() -> list[tuple[int, str]]:
    return [(t.pk, f"{t.name} ({t.get_tier_display()})")
            for t in Team.objects.order_by("tier", "name")[:200]]  # fmt: skip


def _people_choices() -> list[tuple[int, str]]:
    rows = Membership.objects.filter(is_active=True).select_related("user")
    return [(m.user_id, m.user.get_full_name() or m.user.email)
            for m in rows.order_by("user__full_name", "user__email")[:500]]  # fmt: skip


class EscalationPolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    when = forms.ChoiceField(label=_("Escalate when"), choices=EscalationPolicy.When.choices,
                             widget=forms.RadioSelect)  # fmt: skip
    clock_kinds = forms.MultipleChoiceField(
        label=_("Only for these SLA clocks"), choices=SLATimer.Kind.choices, required=False,
        widget=Checkboxes, help_text=_("For SLA warnings and breaches. None ticked: any clock."),
    )  # fmt: skip
    reply_count = forms.IntegerField(
        label=_("Number of customer replies"), min_value=1, max_value=100, required=False,
        help_text=_("For “The customer's N-th reply”: escalate when an open ticket has this many."),
    )  # fmt: skip
    priorities = forms.MultipleChoiceField(
        label=_("Only tickets of these priorities"), choices=Ticket.Priority.choices,
        required=False, widget=Checkboxes, help_text=_("None ticked: any priority."),
    )  # fmt: skip
    tiers = forms.TypedMultipleChoiceField(
        label=_("Only tickets now in these tiers"), choices=Team.Tier.choices, coerce=int,
        required=False, widget=Checkboxes, help_text=_("None ticked: any tier."),
    )  # fmt: skip
    teams = forms.TypedMultipleChoiceField(
        label=_("Only tickets now in these teams"), coerce=int, required=False,
        widget=Checkboxes, help_text=_("None ticked: any team."),
    )  # fmt: skip
    target = forms.ChoiceField(
        label=_("Move the ticket to"), choices=EscalationPolicy.Target.choices,
        widget=forms.RadioSelect,
    )  # fmt: skip
    to_team = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None,
                                     help_text=_("For “A named team”."))  # fmt: skip
    reroute = forms.BooleanField(
        label=_("Re-route inside the new team"), required=False, initial=True,
        help_text=_("The team's assignment strategy picks the new assignee; someone outside the "
                    "team is always unassigned."),
    )  # fmt: skip
    raise_priority = forms.ChoiceField(label=_("Priority"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "policy-%s")
        super().__init__(*args, **kwargs)
        teams = _team_choices()
        self.fields["teams"].choices = teams
        self.fields["to_team"].choices = [("", "—"), *teams]
        self.fields["raise_priority"].choices = _priority_raise_choices()
        self.fields["name"].widget.attrs.update(autocomplete="off")

    @classmethod
    def for_policy(cls, policy: EscalationPolicy | None, data=None) -> EscalationPolicyForm:
        if policy is None:
            return cls(data, initial={"when": "sla_breached", "target": "next", "reroute": True})
        fields = ["name", "is_active", "when", "clock_kinds", "reply_count", "priorities", "tiers",
                  "teams", "target", "reroute", "raise_priority"]  # fmt: skip
        initial = {f: getattr(policy, f) for f in fields}
        return cls(data, initial={**initial, "to_team": policy.to_team_id})

    def clean(self):
        data = super().clean()
        if data.get("when") == EscalationPolicy.When.CUSTOMER_REPLIES and not data.get(
            "reply_count"
        ):
            self.add_error("reply_count", _("Say after how many customer replies."))
        if data.get("target") == EscalationPolicy.Target.TEAM and not data.get("to_team"):
            self.add_error("to_team", _("Choose the team."))
        return data


def _recipient_choices() -> list[tuple[str, str]]:
    return list(recipient_labels().items())


class AlertRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    event = forms.ChoiceField(label=_("Alert when"), choices=AlertRule.Event.choices,
                              widget=forms.RadioSelect)  # fmt: skip
    clock_kinds = forms.MultipleChoiceField(
        label=_("Only for these SLA clocks"), choices=SLATimer.Kind.choices, required=False,
        widget=Checkboxes, help_text=_("None ticked: any clock."),
    )  # fmt: skip
    level = forms.ChoiceField(
        label=_("Level"), choices=Notification.Level.choices, widget=forms.RadioSelect,
        help_text=_("Warnings and critical alerts ask to be acknowledged."),
    )  # fmt: skip
    recipients = forms.MultipleChoiceField(label=_("Tell"), required=False, widget=Checkboxes)
    users = forms.TypedMultipleChoiceField(label=_("And these people"), coerce=int,
                                           required=False)  # fmt: skip
    via = forms.MultipleChoiceField(
        label=_("How"), widget=Checkboxes,
        choices=[("in_app", _("In the app (the bell)")), ("email", _("By email")),
                 ("webhook", _("Webhook call"))],
    )  # fmt: skip
    webhook_url = forms.URLField(label=_("Webhook URL"), max_length=500, required=False,
                                 assume_scheme="https",
                                 help_text=_("https only, on the public internet."))  # fmt: skip
    ack_within_minutes = forms.IntegerField(
        label=_("If nobody acknowledges within (minutes)"), min_value=1, max_value=10080,
        required=False, help_text=_("Empty: no chain; the alert is sent once."),
    )  # fmt: skip
    step2_recipients = forms.MultipleChoiceField(label=_("Then tell"), required=False,
                                                 widget=Checkboxes)  # fmt: skip
    step2_users = forms.TypedMultipleChoiceField(label=_("And these people"), coerce=int,
                                                 required=False)  # fmt: skip
    step3_recipients = forms.MultipleChoiceField(label=_("Still nobody: tell"), required=False,
                                                 widget=Checkboxes)  # fmt: skip
    step3_users = forms.TypedMultipleChoiceField(label=_("And these people"), coerce=int,
                                                 required=False)  # fmt: skip

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "alert-%s")
        super().__init__(*args, **kwargs)
        people = _people_choices()
        for name in ("recipients", "step2_recipients", "step3_recipients"):
            self.fields[name].choices = _recipient_choices()
        for name in ("users", "step2_users", "step3_users"):
            self.fields[name].choices = people
            self.fields[name].widget.attrs.update(size=min(6, max(3, len(people))))
        self.fields["name"].widget.attrs.update(autocomplete="off")

    @classmethod
    def for_rule(cls, rule: AlertRule | None, data=None) -> AlertRuleForm:
        if rule is None:
            return cls(data, initial={"event": "sla_breached", "level": "warning",
                                      "recipients": ["assignee"], "via": ["in_app"]})  # fmt: skip
        names = ("name", "is_active", "event", "clock_kinds", "level", "recipients", "users", "via",
                 "webhook_url", "ack_within_minutes")  # fmt: skip
        initial = {f: getattr(rule, f) for f in names}
        for number, step in enumerate(rule.chain[:2], start=2):
            initial[f"step{number}_recipients"] = step.get("recipients") or []
            initial[f"step{number}_users"] = step.get("users") or []
        return cls(data, initial=initial)

    def clean(self):
        from tickets.automation.notifications import webhook_url_problem

        data = super().clean()
        if (
            not data.get("recipients")
            and not data.get("users")
            and "webhook" not in (data.get("via") or [])
        ):
            self.add_error("recipients", _("Choose who is told."))
        if "webhook" in (data.get("via") or []):
            url = data.get("webhook_url") or ""
            problem = webhook_url_problem(url) if url else _("Give the webhook's address.")
            if problem:
                self.add_error("webhook_url", problem)
        chain = []
        for number in (2, 3):
            step = {"recipients": data.get(f"step{number}_recipients") or [],
                    "users": data.get(f"step{number}_users") or []}  # fmt: skip
            if step["recipients"] or step["users"]:
                chain.append(step)
        if chain and not data.get("ack_within_minutes"):
            self.add_error("ack_within_minutes", _("Say how long to wait for an acknowledgement."))
        data["chain"] = chain
        return data

    def rule_fields(self) -> dict:
        data = self.cleaned_data
        names = ["name", "is_active", "event", "clock_kinds", "level", "recipients", "users", "via",
                 "webhook_url", "ack_within_minutes", "chain"]  # fmt: skip
        return {n: data.get(n) for n in names} | {"webhook_url": data.get("webhook_url") or ""}


class EscalateForm(forms.Form):
    """The agent's "Escalate": why (required), and a one-time token against double submits."""

    note = forms.CharField(
        label=_("Why does it need escalating?"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown on the timeline and to the next tier."),
    )  # fmt: skip
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "escalate-%s")
        super().__init__(*args, **kwargs)

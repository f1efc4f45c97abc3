"""Forms of Settings › SLA policies and Business calendars (docs/sla.md › Settings pages).

They parse and label what an administrator types; the rules live in sla.policies (conditions,
overrides) and sla.calendar (hours), and the writes in sla.admin_services.

- `PolicyForm`: name, match all/any, one checkbox group per condition field with "is any of" /
  "is none of", calendar and "business hours only", targets as hours + minutes, and a table of
  per-priority overrides (blank inherits, "no target" removes the target for that priority).
- `CalendarForm`: name, time zone, 24/7, a text box of hours per weekday ("09:00-12:00,
  13:00-18:00"; overnight "22:00-06:00"), the country whose holidays apply, "make default".
- `CalendarDateForm`: one date closed, worked with normal hours, or with special hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.forms import COMMON_TIMEZONES, timezone_choices
from tickets.automation.models import Match
from tickets.models import CustomerTier, Team, Ticket

from . import calendar as calmath
from .models import BusinessCalendar, CalendarDate, SLAPolicy
from .policies import TARGETS, ConditionError, validate_conditions, validate_per_priority

MAX_HOURS = 24 * 366  # a year: anything longer is a typo
TARGET_LABELS = {
    "first_response": _("First response"),
    "next_response": _("Next response"),
    "resolution": _("Resolution"),
}
TARGET_HELP = {
    "first_response": _("From the ticket's creation to the first public answer by an agent."),
    "next_response": _("From each customer reply that waits to the agent's next answer."),
    "resolution": _("From the ticket's creation to solved (pending and on-hold pause it)."),
}
OP_CHOICES = [("in", _("is any of")), ("not_in", _("is none of"))]


# --- Policies ----------------------------------------------------------------------------------


@dataclass
class ConditionGroup:
    """One condition field on the form: its op radio and its value checkboxes."""

    name: str
    label: str
    op: BoundField
    values: BoundField


@dataclass
class TargetCell:
    """A target as hours + minutes (and, for an override, a "no target" box)."""

    kind: str
    label: str
    hours: BoundField
    minutes: BoundField
    none: BoundField | None = None

    @property
    def errors(self) -> list[str]:
        found = [*self.hours.errors, *self.minutes.errors]
        return found + (list(self.none.errors) if self.none is not None else [])


@dataclass
class PriorityRow:
    value: str
    label: str
    cells: list[TargetCell]


def condition_fields() -> list[tuple[str, Any, list[tuple[str, str]]]]:
    """(field, label, choices) of what a policy can look at; teams are read when asked."""
    teams = [(str(pk), name) for pk, name in Team.objects.order_by("tier", "name")
             .values_list("pk", "name")[:200]]  # fmt: skip
    return [
        ("priority", _("Priority"), list(Ticket.Priority.choices)),
        ("channel", _("Channel"), list(Ticket.Channel.choices)),
        ("requester_tier", _("Customer tier"), list(CustomerTier.choices)),
        ("category", _("Category"), list(Ticket.Category.choices)),
        ("team", _("Team"), teams),
    ]


def _split(minutes: int | None) -> tuple[int | None, int | None]:
    """90 -> (1, 30); 120 -> (2, None); 30 -> (None, 30): no "0" to read past."""
    if minutes is None:
        return None, None
    hours, rest = divmod(minutes, 60)
    return hours or None, rest or None


def _minutes_widget(label: str, *, placeholder: str) -> forms.NumberInput:
    return forms.NumberInput(
        attrs={
            "min": 0,
            "step": 1,
            "inputmode": "numeric",
            "class": "duration-input",
            "placeholder": placeholder,
            "aria-label": label,
        }  # fmt: skip
    )


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    match = forms.ChoiceField(
        label=_("Applies when the ticket meets"),
        choices=Match.choices,
        initial=Match.ALL,
        widget=forms.RadioSelect,
    )
    calendar = forms.ModelChoiceField(
        label=_("Business calendar"),
        queryset=None,  # the tenant's, set per form (the manager needs a tenant)
        required=False,
        help_text=_("Its opening hours, holidays and make-up working days count."),
    )
    business_hours = forms.BooleanField(
        label=_("Count business hours only"),
        required=False,
        initial=True,
        help_text=_(
            "Off: the clock runs around the clock, nights, weekends and holidays included."
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "policy-%s")
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(autocomplete="off")
        calendars = BusinessCalendar.objects.order_by("-is_default", "name")
        self.fields["calendar"].queryset = calendars
        default = next((c for c in calendars if c.is_default), None)
        self.fields["calendar"].empty_label = (
            _("The default calendar (%(name)s)") % {"name": default.name}
            if default
            else _("The default calendar (none yet: 24/7)")
        )
        self.condition_specs = condition_fields()
        for name, label, choices in self.condition_specs:
            self.fields[f"cond_{name}_op"] = forms.ChoiceField(
                label=_("%(field)s: how to match") % {"field": label},
                choices=OP_CHOICES, initial="in", required=False, widget=forms.RadioSelect,
            )  # fmt: skip
            self.fields[f"cond_{name}"] = forms.MultipleChoiceField(
                label=label, choices=choices, required=False,
                widget=forms.CheckboxSelectMultiple,
            )  # fmt: skip
        for kind in TARGETS:
            self._duration_fields(kind, TARGET_LABELS[kind])
        for value, label in Ticket.Priority.choices:
            for kind in TARGETS:
                what = _("%(priority)s, %(target)s") % {"priority": label,
                                                        "target": TARGET_LABELS[kind]}  # fmt: skip
                self._duration_fields(f"pp_{value}_{kind}", what, override=True)
                self.fields[f"pp_{value}_{kind}_none"] = forms.BooleanField(
                    label=_("No target"), required=False,
                    widget=forms.CheckboxInput(attrs={"aria-label": _("%(what)s: no target")
                                                      % {"what": what}}),
                )  # fmt: skip

    def _duration_fields(self, prefix: str, label: Any, *, override: bool = False) -> None:
        hint = "—" if override else ""  # blank: the target above
        self.fields[f"{prefix}_h"] = forms.IntegerField(
            label=_("%(what)s: hours") % {"what": label}, required=False, min_value=0,
            max_value=MAX_HOURS, widget=_minutes_widget(_("%(what)s: hours") % {"what": label},
                                                        placeholder=hint),
        )  # fmt: skip
        self.fields[f"{prefix}_m"] = forms.IntegerField(
            label=_("%(what)s: minutes") % {"what": label}, required=False, min_value=0,
            max_value=MAX_HOURS * 60, widget=_minutes_widget(_("%(what)s: minutes")
                                                             % {"what": label}, placeholder=hint),
        )  # fmt: skip

    @classmethod
    def for_policy(cls, policy: SLAPolicy | None, data=None) -> PolicyForm:
        if policy is None:
            return cls(data)
        return cls(data, initial=policy_initial(policy))

    # -- Pieces for the template --

    @property
    def condition_groups(self) -> list[ConditionGroup]:
        return [ConditionGroup(name, str(label), self[f"cond_{name}_op"], self[f"cond_{name}"])
                for name, label, _choices in self.condition_specs]  # fmt: skip

    @property
    def target_cells(self) -> list[TargetCell]:
        return [TargetCell(kind, str(TARGET_LABELS[kind]), self[f"{kind}_h"], self[f"{kind}_m"])
                for kind in TARGETS]  # fmt: skip

    @property
    def priority_rows(self) -> list[PriorityRow]:
        rows = []
        for value, label in Ticket.Priority.choices:
            cells = [TargetCell(kind, str(TARGET_LABELS[kind]), self[f"pp_{value}_{kind}_h"],
                                self[f"pp_{value}_{kind}_m"], self[f"pp_{value}_{kind}_none"])
                     for kind in TARGETS]  # fmt: skip
            rows.append(PriorityRow(value, str(label), cells))
        return rows

    @property
    def has_overrides(self) -> bool:
        if self.is_bound:
            return any(self.data.get(k) for k in self.data if k.startswith("pp_"))
        return any(self.initial.get(k) not in (None, False, "") for k in self.initial
                   if k.startswith("pp_"))  # fmt: skip

    # -- Cleaning --

    def _duration(self, prefix: str) -> int | None:
        """Hours + minutes as minutes; None when blank (or already wrong: its error shows)."""
        if f"{prefix}_h" in self.errors or f"{prefix}_m" in self.errors:
            return None
        hours, minutes = self.cleaned_data.get(f"{prefix}_h"), self.cleaned_data.get(f"{prefix}_m")
        if hours is None and minutes is None:
            return None
        total = (hours or 0) * 60 + (minutes or 0)
        if total == 0:
            self.add_error(f"{prefix}_h", _("A target of 0 minutes is late at once; leave it "
                                            "blank for no target."))  # fmt: skip
            return None
        if total > MAX_HOURS * 60:
            self.add_error(f"{prefix}_h", _("At most a year."))
            return None
        return total

    def clean(self) -> dict:
        data = super().clean()
        conditions = []
        for name, _label, _choices in self.condition_specs:
            values = data.get(f"cond_{name}") or []
            if values:
                conditions.append({"field": name, "op": data.get(f"cond_{name}_op") or "in",
                                   "value": list(values)})  # fmt: skip
        targets = {kind: self._duration(kind) for kind in TARGETS}
        per_priority: dict[str, dict[str, int | None]] = {}
        for value, _label in Ticket.Priority.choices:
            for kind in TARGETS:
                prefix = f"pp_{value}_{kind}"
                typed = any(self.data.get(f"{prefix}_{p}", "") != "" for p in "hm")
                minutes = self._duration(prefix)
                if data.get(f"{prefix}_none") and typed:
                    self.add_error(
                        f"{prefix}_none", _("Give a time or tick “no target”, not both.")
                    )
                elif data.get(f"{prefix}_none"):
                    per_priority.setdefault(value, {})[kind] = None
                elif minutes is not None:
                    per_priority.setdefault(value, {})[kind] = minutes
        if self.errors:
            return data
        try:
            data["conditions"] = validate_conditions(conditions)
            data["per_priority"] = validate_per_priority(per_priority)
        except ConditionError as error:  # the form offers only valid values; a stale team id
            raise forms.ValidationError(str(error)) from None
        data.update({f"{kind}_minutes": minutes for kind, minutes in targets.items()})
        return data

    def policy_fields(self) -> dict[str, Any]:
        """What sla.admin_services.policy_save takes (after is_valid())."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "is_active": data["is_active"],
            "match": data["match"],
            "conditions": data["conditions"],
            "calendar": data["calendar"],
            "business_hours": data["business_hours"],
            "first_response_minutes": data["first_response_minutes"],
            "next_response_minutes": data["next_response_minutes"],
            "resolution_minutes": data["resolution_minutes"],
            "per_priority": data["per_priority"],
        }


def policy_initial(policy: SLAPolicy) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": policy.name, "is_active": policy.is_active, "match": policy.match,
        "calendar": policy.calendar_id, "business_hours": policy.business_hours,
    }  # fmt: skip
    for condition in policy.conditions or []:
        name = condition.get("field")
        if f"cond_{name}" in initial:  # a second condition on one field: the first one shows
            continue
        initial[f"cond_{name}_op"] = condition.get("op", "in")
        initial[f"cond_{name}"] = [str(v) for v in condition.get("value") or []]
    for kind in TARGETS:
        initial[f"{kind}_h"], initial[f"{kind}_m"] = _split(getattr(policy, f"{kind}_minutes"))
    for priority, targets in (policy.per_priority or {}).items():
        for kind, minutes in (targets or {}).items():
            prefix = f"pp_{priority}_{kind}"
            if minutes is None:
                initial[f"{prefix}_none"] = True
            else:
                initial[f"{prefix}_h"], initial[f"{prefix}_m"] = _split(minutes)
    return initial


def conditions_unshown(policy: SLAPolicy | None) -> bool:
    """Conditions this form cannot show exactly (two on one field, written through the API)."""
    if policy is None:
        return False
    fields = [c.get("field") for c in policy.conditions or []]
    return len(fields) != len(set(fields))


# --- Calendars ---------------------------------------------------------------------------------

DAY_LABELS = {
    "mon": _("Monday"), "tue": _("Tuesday"), "wed": _("Wednesday"), "thu": _("Thursday"),
    "fri": _("Friday"), "sat": _("Saturday"), "sun": _("Sunday"),
}  # fmt: skip
# First the countries our tenants are in; then every other one the holidays package knows.
COMMON_COUNTRIES = ["CN", "HK", "TW", "SG", "JP", "GB", "US", "DE"]
COUNTRY_NAMES = {
    "CN": _("China (mainland)"), "HK": _("Hong Kong"), "TW": _("Taiwan"),
    "SG": _("Singapore"), "JP": _("Japan"), "GB": _("United Kingdom"),
    "US": _("United States"), "DE": _("Germany"),
}  # fmt: skip
_TIME = re.compile(r"^(\d{1,2})[:：.](\d{2})$")
_SEPARATORS = re.compile(r"[,，;；、\n]+")
_DASH = re.compile(r"\s*(?:-|–|—|~|～|to|至|到)\s*")


def country_name(code: str) -> str:
    if code in COUNTRY_NAMES:
        return str(COUNTRY_NAMES[code])
    return _registry_names().get(code, code)


@lru_cache(maxsize=1)
def _registry_names() -> dict[str, str]:
    """ISO code -> English name of every country the holidays package supports (read once)."""
    from holidays.registry import COUNTRIES

    from .public_holidays import supported_countries

    supported = set(supported_countries())
    names = {}
    for class_name, code, *_rest in COUNTRIES.values():
        if code in supported:
            names[code] = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", class_name)
    return names


def country_choices() -> list[tuple[str, Any]]:
    names = _registry_names()
    common = [(c, f"{country_name(c)} ({c})") for c in COMMON_COUNTRIES if c in names]
    rest = sorted(
        ((c, f"{n} ({c})") for c, n in names.items() if c not in COMMON_COUNTRIES),
        key=lambda pair: pair[1],
    )
    return [("", _("None")), (_("Common"), common), (_("Every country"), rest)]


def zone_choices() -> list[tuple[Any, Any]]:
    rest = [zone for zone in timezone_choices() if zone[0] not in COMMON_TIMEZONES]
    return [(_("Common"), [(z, z) for z in COMMON_TIMEZONES]), (_("Every time zone"), rest)]


def hours_text(intervals: list | None) -> str:
    """[["09:00", "12:00"], ["13:00", "18:00"]] -> "09:00-12:00, 13:00-18:00"."""
    return ", ".join(f"{start}-{end}" for start, end in intervals or [])


def parse_hours_text(text: str) -> list[list[str]]:
    """ "09:00-12:00, 13:00-18:00" -> [["09:00", "12:00"], ["13:00", "18:00"]]; blank: closed.
    Accepts 9:00, Chinese punctuation (，：～) and "to"/"至"; checked by sla.calendar."""
    text = (text or "").strip()
    if not text:
        return []
    intervals = []
    for part in _SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        pieces = _DASH.split(part)
        if len(pieces) != 2:
            raise forms.ValidationError(
                _("“%(part)s” is not a time range like 09:00-18:00."), params={"part": part}
            )
        pair = []
        for piece in pieces:
            found = _TIME.match(piece.strip())
            if not found or int(found[2]) > 59 or int(found[1]) * 60 + int(found[2]) > 1440:
                raise forms.ValidationError(
                    _("“%(time)s” is not a time between 00:00 and 24:00."), params={"time": piece}
                )
            pair.append(f"{int(found[1]):02d}:{found[2]}")
        intervals.append(pair)
    try:
        calmath.parse_intervals(intervals)
    except calmath.CalendarError as error:
        message = str(error)
        if "overlap" in message:
            raise forms.ValidationError(_("These times overlap.")) from None
        if "whole day" in message:
            raise forms.ValidationError(_("Write 00:00-24:00 for a whole day.")) from None
        if "24:00" in message:
            raise forms.ValidationError(_("A time range cannot start at 24:00.")) from None
        raise forms.ValidationError(message) from None
    return intervals


class HoursField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)
        self.widget.attrs.update(autocomplete="off", spellcheck="false",
                                 placeholder=pgettext_lazy("opening hours", "Closed"))  # fmt: skip

    def clean(self, value: Any) -> list[list[str]]:
        return parse_hours_text(super().clean(value))


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=zone_choices)
    always_open = forms.BooleanField(
        label=_("Open 24/7"), required=False,
        help_text=_("Every day, all day; the weekly hours below are ignored."),
    )  # fmt: skip
    holiday_country = forms.ChoiceField(
        label=_("Public holidays of"), choices=country_choices, required=False,
        help_text=_("Its public holidays close the calendar and its make-up working days "
                    "(调休) open it with Monday's hours."),
    )  # fmt: skip
    is_default = forms.BooleanField(
        label=_("Default calendar"), required=False,
        help_text=_("Policies without a calendar of their own count on it."),
    )  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "calendar-%s")
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(autocomplete="off")
        for day in calmath.DAYS:
            self.fields[f"hours_{day}"] = HoursField(label=DAY_LABELS[day])

    @classmethod
    def for_calendar(cls, calendar: BusinessCalendar | None, data=None) -> CalendarForm:
        from .models import default_weekly_hours

        if calendar is None:
            weekly, initial = default_weekly_hours(), {"timezone": "Asia/Shanghai",
                                                       "holiday_country": "CN"}  # fmt: skip
        else:
            weekly = calendar.weekly_hours or {}
            initial = {"name": calendar.name, "timezone": calendar.timezone,
                       "always_open": calendar.always_open,
                       "holiday_country": calendar.holiday_country,
                       "is_default": calendar.is_default}  # fmt: skip
        initial.update({f"hours_{day}": hours_text(weekly.get(day)) for day in calmath.DAYS})
        return cls(data, initial=initial)

    @property
    def day_fields(self) -> list[BoundField]:
        return [self[f"hours_{day}"] for day in calmath.DAYS]

    def calendar_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "timezone": data["timezone"],
            "always_open": data["always_open"],
            "holiday_country": data["holiday_country"],
            "weekly_hours": {day: data[f"hours_{day}"] for day in calmath.DAYS},
            "make_default": data["is_default"],
        }


class CalendarDateForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("What happens"), choices=CalendarDate.Kind.choices)
    hours = HoursField(
        label=_("Special hours"), help_text=_("Only for special hours, e.g. 10:00-14:00.")
    )
    name = forms.CharField(
        label=_("Note"), max_length=100, required=False,
        help_text=_("e.g. Company anniversary, stocktaking."),
    )  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "date")
        super().__init__(*args, **kwargs)
        self.fields["hours"].widget.attrs["placeholder"] = "10:00-14:00"
        self.fields["name"].widget.attrs.update(autocomplete="off")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == CalendarDate.Kind.HOURS and "hours" in data and not data["hours"]:
            self.add_error("hours", _("Give the hours of that day, e.g. 10:00-14:00."))
        return data


# --- In words, for the lists -------------------------------------------------------------------


def duration_text(minutes: int | None) -> str:
    """90 -> "1 h 30 min"; None -> "—" (no target)."""
    if minutes is None:
        return "—"
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": rest}
    if hours:
        return _("%(h)d h") % {"h": hours}
    return _("%(m)d min") % {"m": rest}


def targets_text(policy: SLAPolicy) -> str:
    """ "1 h / 2 h / 4 h": first response / next response / resolution."""
    return " / ".join(duration_text(getattr(policy, f"{kind}_minutes")) for kind in TARGETS)


def overridden_text(policy: SLAPolicy) -> str:
    labels = dict(Ticket.Priority.choices)
    names = [
        str(labels.get(p, p)) for p in Ticket.Priority.values if (policy.per_priority or {}).get(p)
    ]
    if not names:
        return ""
    return _("Own targets for %(priorities)s") % {"priorities": ", ".join(names)}


def condition_labels() -> dict[str, tuple[str, dict[str, str]]]:
    """field -> (label, {value: label}), for the summaries (one query, for the teams)."""
    return {name: (str(label), {str(v): str(lab) for v, lab in choices})
            for name, label, choices in condition_fields()}  # fmt: skip


def conditions_text(conditions: list[dict], match: str,
                    labels: dict[str, tuple[str, dict[str, str]]]) -> str:  # fmt: skip
    """ "Priority is any of Urgent, High and Customer tier is VIP"."""
    if not conditions:
        return _("Every ticket")
    parts = []
    for condition in conditions:
        name = condition.get("field", "")
        label, values = labels.get(name, (name, {}))
        gone = _("#%(id)s (deleted)") if name == "team" else "%(id)s"
        raw = condition.get("value") or []
        shown = ", ".join(values.get(str(v), gone % {"id": v}) for v in raw)
        op = dict(OP_CHOICES).get(condition.get("op", "in"), "")
        parts.append(f"{label} {op} {shown}")
    joiner = f" {_('and')} " if match == "all" else f" {_('or')} "
    return joiner.join(parts)


def weekly_text(calendar: BusinessCalendar) -> str:
    """ "Mon–Fri 09:00-12:00, 13:00-18:00" style: runs of days with the same hours."""
    if calendar.always_open:
        return _("Open 24/7")
    short = {"mon": _("Mon"), "tue": _("Tue"), "wed": _("Wed"), "thu": _("Thu"), "fri": _("Fri"),
             "sat": _("Sat"), "sun": _("Sun")}  # fmt: skip
    weekly = calendar.weekly_hours or {}
    runs: list[tuple[list[str], str]] = []
    for day in calmath.DAYS:
        text = hours_text(weekly.get(day))
        if runs and runs[-1][1] == text:
            runs[-1][0].append(day)
        else:
            runs.append(([day], text))
    parts = []
    for days, text in runs:
        if not text:
            continue
        name = str(short[days[0]]) if len(days) == 1 else f"{short[days[0]]}–{short[days[-1]]}"
        parts.append(f"{name} {text}")
    return "; ".join(parts) or _("Never open")

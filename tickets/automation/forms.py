"""Forms of Settings › Triggers and Macros, and the condition/action builder they share with
any other rule editor (routing rules reuse it).

The builder (`RuleBuilder`) turns posted rows into the JSON lists tickets.automation.rules
validates, and back:

    cond-<n>-field, cond-<n>-op, cond-<n>-value (repeated for a multiple choice)
    act-<n>-action, act-<n>-value, and for structured actions act-<n>-<part>
        notify:   to (assignee/team/followers/requester/address), address, via, subject, body
        webhook:  url, body          send_reply / add_note: body
        escalate: target ("next", "tier:<n>" or "team:<id>"), raise ("1")
    match ("all" / "any"), cond-next / act-next (the index the next added row gets)

Rows are taken in index order; a row whose field or action is empty is ignored, so a blank
row costs nothing. Without JavaScript the "add" and "remove" buttons are submit buttons
(`builder-add=cond|act`, `builder-remove=cond-<n>|act-<n>`; `builder-refresh` re-renders after
a field changed): the view re-renders the form (`builder.edit_only`) instead of saving. With
htmx they ask the row endpoint (tickets.views.automation.rule_row) for one row instead.
Render it with {% include "tickets/automation/_rule_builder.html" with builder=builder %}.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from tickets.models import Team

from . import rules, triggers  # noqa: F401 - triggers registers its actions with rules
from .macros import MACRO_ACTIONS
from .models import Macro, Match, Trigger

ROUTING_ACTIONS = (
    "set_team",
    "set_priority",
    "set_type",
    "set_category",
    "set_status",
    "set_topic",
    "add_tags",
    "remove_tags",
    "require_skills",
    "assign_to",
    "assign_auto",
)
# Which actions a builder offers, by name (the row endpoint takes the name, never a list).
ACTION_SETS: dict[str, tuple[str, ...] | None] = {
    "trigger": None,  # everything registered with rules.action
    "macro": MACRO_ACTIONS,
    "routing": ROUTING_ACTIONS,
}
_SPLIT = re.compile(r"[,，、;；\n]")


def split_values(text: str) -> list[str]:
    """'退款, refund，返金' → ['退款', 'refund', '返金'] (ASCII and CJK commas, new lines)."""
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


@dataclass
class Option:
    value: str
    label: str
    selected: bool = False


def _options(pairs: Iterable[tuple[Any, Any]], selected: Iterable[str]) -> list[Option]:
    chosen = {str(v) for v in selected}
    return [Option(str(v), str(label), str(v) in chosen) for v, label in pairs]


@dataclass
class ConditionRow:
    index: int
    number: int
    field: str = ""
    op: str = ""
    values: list[str] = dc_field(default_factory=list)
    error: str = ""
    prefix: str = ""
    fields: list[Option] = dc_field(default_factory=list)
    ops: list[Option] = dc_field(default_factory=list)
    choices: list[Option] = dc_field(default_factory=list)
    kind: str = "none"  # choices, list, pattern, text, number, none

    @property
    def name(self) -> str:
        return f"{self.prefix}cond-{self.index}"

    @property
    def text(self) -> str:
        return ", ".join(self.values) if self.kind == "list" else (self.values or [""])[0]


@dataclass
class ActionRow:
    index: int
    number: int
    action: str = ""
    parts: dict[str, Any] = dc_field(default_factory=dict)
    error: str = ""
    prefix: str = ""
    actions: list[Option] = dc_field(default_factory=list)
    choices: list[Option] = dc_field(default_factory=list)
    kind: str = "none"  # choice, user, tags, text, none, notify, webhook, template, escalate
    to_options: list[Option] = dc_field(default_factory=list)
    via_options: list[Option] = dc_field(default_factory=list)
    targets: list[Option] = dc_field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.prefix}act-{self.index}"


def _condition_fields() -> list[tuple[str, str]]:
    from tickets.models import CustomField

    fields = [(name, str(spec.label)) for name, spec in rules.FIELDS.items()]
    custom = CustomField.objects.order_by("position", "label").values_list("key", "label")[:100]
    return fields + [(rules.CUSTOM_PREFIX + key, str(label)) for key, label in custom]


def _condition_kind(spec: rules.FieldSpec | None, op: str) -> str:
    if spec is None or not op or op in rules.VALUELESS_OPS:
        return "none"
    if op in {"gte", "lte"}:
        return "number"
    if op == "matches":
        return "pattern"
    if op == "eq":
        return "text"
    if spec.kind == "choice" and spec.choices is not None:
        return "choices"
    return "list"


def _condition_value(spec: rules.FieldSpec | None, op: str, raw: list[str]) -> Any:
    kind = _condition_kind(spec, op)
    if kind == "none":
        return None
    if kind in {"number", "pattern", "text"}:
        return raw[0] if raw else ""
    if kind == "choices":
        return [v for v in raw if v]
    return split_values(",".join(raw))


NOTIFY_TO = [
    ("assignee", gettext_lazy("the assignee")),
    ("team", gettext_lazy("everyone in the ticket's team")),
    ("followers", gettext_lazy("the ticket's followers")),
    ("requester", gettext_lazy("the requester (by email)")),
    ("address", gettext_lazy("an email address…")),
]
VIA = [("in_app", gettext_lazy("in the app")), ("email", gettext_lazy("by email"))]


def _agent_choices() -> list[tuple[str, str]]:
    """Active members by name (rules' own list orders by a field User does not have)."""
    from helpdesk.accounts.selectors import member_list

    members = member_list().filter(is_active=True).order_by("user__full_name", "user__email")
    return [(str(m.user_id), m.user.get_full_name() or m.user.email) for m in members[:500]]


def _escalate_targets() -> list[tuple[str, str]]:
    targets = [("next", str(gettext_lazy("the next tier's first team")))]
    targets += [(f"tier:{value}", str(label)) for value, label in Team.Tier.choices]
    targets += [
        (f"team:{team.pk}", f"{team.name} ({team.get_tier_display()})")
        for team in Team.objects.order_by("tier", "name")[:200]
    ]
    return targets


def _action_value(kind: str, get) -> Any:
    """The JSON value of a posted action row (`get(part)` reads act-<n>-<part>)."""
    if kind in {"choice", "user", "text"}:
        return get("value").strip()
    if kind == "tags":
        return split_values(get("value"))
    if kind == "none":
        return None
    if kind == "notify":
        to = get("to")
        return {
            "to": get("address").strip() if to == "address" else to,
            "via": get("via"),
            "subject": get("subject"),
            "body": get("body"),
        }
    if kind == "webhook":
        return {"url": get("url").strip(), "body": get("body")}
    if kind == "template":
        return {"body": get("body")}
    if kind == "escalate":
        target, raise_priority = get("target"), get("raise") == "1"
        if target.startswith("team:"):
            return {"team": target[5:], "raise_priority": raise_priority}
        return {
            "tier": target[5:] if target.startswith("tier:") else "next",
            "raise_priority": raise_priority,
        }
    return get("value")


def _action_parts(kind: str, value: Any) -> dict[str, Any]:
    """The inputs of an action row for a stored (or posted) value."""
    if kind in {"choice", "user", "text"}:
        return {"value": "" if value is None else str(value)}
    if kind == "tags":
        return {"value": ", ".join(value or [])}
    if kind == "notify":
        value = value or {}
        to = value.get("to")
        to = "assignee" if to is None else str(to) or "address"  # "": an address still to type
        known = to in {key for key, _label in NOTIFY_TO}
        return {
            "to": to if known else "address",
            "address": "" if known else to,
            "via": value.get("via") or "in_app",
            "subject": value.get("subject") or "",
            "body": value.get("body") or "",
        }
    if kind in {"webhook", "template"}:
        value = value or {}
        return {"url": value.get("url") or "", "body": value.get("body") or ""}
    if kind == "escalate":
        value = value or {}
        if value.get("team"):
            target = f"team:{value['team']}"
        elif value.get("tier", "next") != "next":
            target = f"tier:{value['tier']}"
        else:
            target = "next"
        return {"target": target, "raise": bool(value.get("raise_priority"))}
    return {"value": "" if value is None else str(value)}


class RuleBuilder:
    """Conditions and actions of one rule, as rows to render and as validated JSON.

    RuleBuilder(request.POST or None, conditions=rule.conditions, actions=rule.actions,
                match=rule.match, action_set="trigger")
    builder.is_valid() -> bool; then builder.conditions / .actions / .match
    builder.errors: messages for the whole builder; each row has its own .error
    builder.edit_only: a row was added / removed without JavaScript (re-render, don't save)
    """

    def __init__(
        self,
        data: Mapping | None = None,
        *,
        conditions: Iterable[dict] = (),
        actions: Iterable[dict] = (),
        match: str = Match.ALL,
        action_set: str = "trigger",
        with_conditions: bool = True,
        with_match: bool = True,
        prefix: str = "",
    ):
        if action_set not in ACTION_SETS:
            raise ValueError(f"unknown action set {action_set!r}")
        self.data = data
        self.prefix = prefix
        self.action_set = action_set
        self.with_conditions = with_conditions
        self.with_match = with_match and with_conditions
        self.errors: list[str] = []
        self.conditions: list[dict] = []
        self.actions: list[dict] = []
        self.edit_only = False
        self._fields = _condition_fields() if with_conditions else []
        if data is None:
            self.match = match
            self.condition_rows = (
                [
                    self.condition_row(i, c.get("field", ""), c.get("op", ""), c.get("value"))
                    for i, c in enumerate(conditions)
                ]
                if with_conditions
                else []
            )
            self.action_rows = [
                self.action_row(i, a.get("action", ""), a.get("value"))
                for i, a in enumerate(actions)
            ]
        else:
            self.match = data.get(f"{prefix}match", match)
            self.condition_rows = self._posted_conditions() if with_conditions else []
            self.action_rows = self._posted_actions()
            self._edit()
        if not self.action_rows:
            self.action_rows.append(self.action_row(0))

    # -- what the template reads --

    @property
    def allowed_actions(self) -> tuple[str, ...]:
        allowed = ACTION_SETS[self.action_set]
        return tuple(rules.ACTIONS) if allowed is None else allowed

    @property
    def next_condition(self) -> int:
        return max((r.index for r in self.condition_rows), default=-1) + 1

    @property
    def next_action(self) -> int:
        return max((r.index for r in self.action_rows), default=-1) + 1

    @property
    def match_options(self) -> list[Option]:
        return _options(Match.choices, [self.match])

    # -- rows --

    def condition_row(
        self,
        index: int,
        name: str = "",
        op: str = "",
        value: Any = None,
        *,
        number: int | None = None,
        fix_op: bool = False,
    ) -> ConditionRow:
        spec = rules.field_spec(name) if name else None
        if spec is None:
            name = ""
        if spec is not None and (fix_op or not op) and op not in spec.ops:
            op = spec.ops[0]
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 4.0 hours shows as 4
        values = value if isinstance(value, list) else ([] if value is None else [str(value)])
        row = ConditionRow(
            index=index,
            number=number or index + 1,
            field=name,
            op=op,
            values=[str(v) for v in values],
            prefix=self.prefix,
        )
        row.fields = _options(self._fields or _condition_fields(), [name])
        if spec is not None:
            row.ops = _options(((o, rules.OP_LABELS.get(o, o)) for o in spec.ops), [op])
            row.kind = _condition_kind(spec, op)
            if row.kind == "choices":
                row.choices = _options(spec.choices(), row.values)
        return row

    def action_row(
        self, index: int, name: str = "", value: Any = None, *, number: int | None = None
    ) -> ActionRow:
        allowed = self.allowed_actions
        spec = rules.ACTIONS.get(name) if name in allowed else None
        if spec is None:
            name = ""
        row = ActionRow(index=index, number=number or index + 1, action=name, prefix=self.prefix)
        row.actions = _options(
            ((a, rules.ACTIONS[a].label) for a in allowed if a in rules.ACTIONS), [name]
        )
        if spec is None:
            return row
        known = {
            "choice",
            "user",
            "tags",
            "text",
            "none",
            "notify",
            "webhook",
            "template",
            "escalate",
        }
        row.kind = spec.kind if spec.kind in known else "text"
        row.parts = _action_parts(row.kind, value)
        if row.kind == "user":
            row.choices = _options(_agent_choices(), [row.parts.get("value", "")])
        elif row.kind == "choice" and spec.choices is not None:
            row.choices = _options(spec.choices(), [row.parts.get("value", "")])
        if row.kind == "notify":
            row.to_options = _options(NOTIFY_TO, [row.parts["to"]])
            row.via_options = _options(VIA, [row.parts["via"]])
        if row.kind == "escalate":
            row.targets = _options(_escalate_targets(), [row.parts["target"]])
        return row

    def row_from_data(self, kind: str, index: int, data: Mapping) -> ConditionRow | ActionRow:
        """One row re-rendered from the request (the endpoint: a field or action changed)."""
        key = f"{self.prefix}{kind}-{index}"
        if kind == "cond":
            name = data.get(f"{key}-field", "")
            spec = rules.field_spec(name) if name else None
            op = data.get(f"{key}-op", "")
            if spec is not None and op not in spec.ops:
                op = spec.ops[0]
            raw = self._getlist(data, f"{key}-value")
            return self.condition_row(index, name, op, _condition_value(spec, op, raw), fix_op=True)
        name = data.get(f"{key}-action", "")
        spec = rules.ACTIONS.get(name)
        value = (
            _action_value(spec.kind, lambda part: data.get(f"{key}-{part}", "")) if spec else None
        )
        return self.action_row(index, name, value)

    # -- posted data --

    @staticmethod
    def _getlist(data: Mapping, key: str) -> list[str]:
        if hasattr(data, "getlist"):
            return [str(v) for v in data.getlist(key)]
        value = data.get(key)
        return (
            []
            if value is None
            else ([str(v) for v in value] if isinstance(value, list) else [str(value)])
        )

    def _indices(self, kind: str, part: str) -> list[int]:
        pattern = re.compile(rf"^{re.escape(self.prefix)}{kind}-(\d{{1,3}})-{part}$")
        return sorted({int(m.group(1)) for key in self.data if (m := pattern.match(key))})

    def _posted_conditions(self) -> list[ConditionRow]:
        rows = []
        for index in self._indices("cond", "field"):
            key = f"{self.prefix}cond-{index}"
            name = self.data.get(f"{key}-field", "")
            op = self.data.get(f"{key}-op", "")
            spec = rules.field_spec(name) if name else None
            value = _condition_value(spec, op, self._getlist(self.data, f"{key}-value"))
            rows.append(self.condition_row(index, name, op, value, number=len(rows) + 1))
        return rows

    def _posted_actions(self) -> list[ActionRow]:
        rows = []
        for index in self._indices("act", "action"):
            key = f"{self.prefix}act-{index}"
            name = self.data.get(f"{key}-action", "")
            spec = rules.ACTIONS.get(name)
            value = (
                _action_value(spec.kind, lambda part, key=key: self.data.get(f"{key}-{part}", ""))
                if spec
                else None
            )
            row = self.action_row(index, name, value, number=len(rows) + 1)
            if name and not row.action:  # posted, but not an action this kind of rule takes
                row.error = _("Action %(number)d: “%(name)s” is not available here.") % {
                    "number": row.number, "name": name[:50]}  # fmt: skip
            rows.append(row)
        return rows

    def _edit(self) -> None:
        """The buttons that work without JavaScript: add a row, remove one, refresh."""
        add = self.data.get(f"{self.prefix}builder-add")
        remove = self.data.get(f"{self.prefix}builder-remove", "")
        if self.data.get(f"{self.prefix}builder-refresh"):
            self.edit_only = True
        if add == "cond" and self.with_conditions:
            self.condition_rows.append(
                self.condition_row(self.next_condition, number=len(self.condition_rows) + 1)
            )
            self.edit_only = True
        elif add == "act":
            self.action_rows.append(
                self.action_row(self.next_action, number=len(self.action_rows) + 1)
            )
            self.edit_only = True
        if remove:
            kind, _sep, raw = remove.rpartition("-")
            if kind in {"cond", "act"} and raw.isdigit():
                attr = "condition_rows" if kind == "cond" else "action_rows"
                kept = [r for r in getattr(self, attr) if r.index != int(raw)]
                for number, row in enumerate(kept, start=1):
                    row.number = number
                setattr(self, attr, kept)
                self.edit_only = True

    # -- validation --

    def is_valid(self) -> bool:
        """Validate through rules.validate_conditions / validate_actions; every bad row gets
        its message (numbered as shown), and the whole list is checked once more."""
        if self.data is None or self.edit_only:
            return False
        self.errors = []
        if self.match not in Match.values:
            self.errors.append(_("Choose whether all or any condition must match."))
        conditions = [r for r in self.condition_rows if r.field]
        actions = [r for r in self.action_rows if r.action]
        for number, row in enumerate(conditions, start=1):
            row.error = self._row_error(
                rules.validate_conditions,
                number,
                [{"field": row.field, "op": row.op, "value": self._json_value(row)}],
            )
        for number, row in enumerate(actions, start=1):
            row.error = self._row_error(
                lambda items: rules.validate_actions(items, allowed=self.allowed_actions),
                number,
                [{"action": row.action, "value": self._action_json(row)}],
            )
        refused = [r for r in self.action_rows if r.error and not r.action]
        if any(r.error for r in conditions + actions + refused) or self.errors:
            return False
        try:
            self.conditions = rules.validate_conditions(
                [{"field": r.field, "op": r.op, "value": self._json_value(r)} for r in conditions]
            )
            self.actions = rules.validate_actions(
                [{"action": r.action, "value": self._action_json(r)} for r in actions],
                allowed=self.allowed_actions,
            )
        except rules.RuleError as error:
            self.errors.append(error.messages[0])
            return False
        return True

    def _json_value(self, row: ConditionRow) -> Any:
        spec = rules.field_spec(row.field)
        return _condition_value(spec, row.op, row.values if row.kind != "list" else [row.text])

    def _action_json(self, row: ActionRow) -> Any:
        return _action_value(
            row.kind,
            lambda part: str(
                row.parts.get(part, "")
                if part != "raise"
                else "1"
                if row.parts.get("raise")
                else ""
            ),
        )

    @staticmethod
    def _row_error(validate, number: int, items: list[dict]) -> str:
        try:
            validate(items)
        except rules.RuleError as error:
            message = str(error.messages[0])
            for word in (_("Condition %(n)d") % {"n": 1}, _("Action %(n)d") % {"n": 1}):
                if message.startswith(word):
                    message = word[:-1] + str(number) + message[len(word) :]
            return message
        return ""


# --- Triggers and macros -------------------------------------------------------------------------


class TriggerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    event = forms.ChoiceField(
        label=pgettext_lazy("trigger event", "When"), choices=Trigger.Event.choices
    )
    idle_hours = forms.IntegerField(
        label=gettext_lazy("Idle hours"),
        required=False,
        min_value=1,
        max_value=triggers.MAX_IDLE_HOURS,
        help_text=gettext_lazy(
            "For “Idle for some hours”: hours without any activity on an "
            "open ticket. Checked every five minutes; fires once per idle "
            "period."
        ),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    @classmethod
    def for_trigger(cls, trigger: Trigger | None, data: Mapping | None = None) -> TriggerForm:
        if trigger is None:
            return cls(data, initial={"is_active": True, "event": Trigger.Event.CREATED})
        return cls(
            data,
            initial={
                "name": trigger.name,
                "event": trigger.event,
                "idle_hours": trigger.idle_hours,
                "is_active": trigger.is_active,
            },
        )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("event") == Trigger.Event.IDLE and not data.get("idle_hours"):
            self.add_error("idle_hours", _("Say after how many idle hours it runs."))
        return data


class MacroForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    reply_kind = forms.ChoiceField(
        label=gettext_lazy("Post the text as"),
        choices=Macro.ReplyKind.choices,
        widget=forms.RadioSelect,
        initial=Macro.ReplyKind.REPLY,
    )
    reply_text = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        max_length=triggers.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    shared = forms.BooleanField(
        label=gettext_lazy("Shared with every agent"),
        required=False,
        help_text=gettext_lazy("Unticked, only you see it."),
    )

    def __init__(self, *args, allow_shared: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reply_text"].help_text = placeholder_help()
        if not allow_shared:
            del self.fields["shared"]

    @classmethod
    def for_macro(
        cls, macro: Macro | None, data: Mapping | None = None, *, allow_shared: bool = False
    ) -> MacroForm:
        if macro is None:
            return cls(data, initial={"shared": allow_shared}, allow_shared=allow_shared)
        initial = {
            "name": macro.name,
            "reply_kind": macro.reply_kind,
            "reply_text": macro.reply_text,
            "shared": macro.owner_id is None,
        }
        return cls(data, initial=initial, allow_shared=allow_shared)


def placeholder_help() -> str:
    from django.utils.html import format_html, format_html_join

    items = format_html_join(
        "",
        "<li><code>{{{{ {} }}}}</code> {}</li>",
        ((name, label) for name, label in triggers.PLACEHOLDERS.items()),
    )
    return format_html("{}<ul>{}</ul>", _("Placeholders filled in when it is used:"), items)

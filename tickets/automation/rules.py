"""The condition/action vocabulary shared by routing rules, triggers, macros and SLA policies.

A rule's conditions and actions are JSON lists an admin builds in the settings UI:

    conditions = [{"field": "requester_tier", "op": "in", "value": ["vip"]},
                  {"field": "text", "op": "contains_any", "value": ["退款", "refund"]}]
    actions    = [{"action": "set_team", "value": 3}, {"action": "add_tags", "value": ["vip"]}]

- `validate_conditions` / `validate_actions` check and normalise them (a clear message per bad
  item; never a 500 for an admin's typo); regexes are compiled with a time limit, so a
  catastrophic pattern cannot stall a worker.
- `compile_rule` turns them into plain callables once per rule version (cached per worker).
- `Facts` is what conditions look at, built once per ticket (`facts_for`).
- `evaluate` says whether a rule matches and why: a list of `Reason`s, structured so the
  timeline can render them in the reader's language ("organization tier = VIP", "keyword 退款").
- `apply_actions` applies field actions through tickets.services (one TicketEvent per change,
  with the rule's name as the reason) and returns what it did; assignment is returned as an
  intent for the assignment step (routing) or applied directly (triggers, macros).

Fields and ops are an explicit allow-list (DESIGN.md §9: request data never chooses ORM
lookups); unknown ones are validation errors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import regex
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.context import require_current_tenant
from tickets.models import CustomerTier, Team, Ticket

REGEX_TIMEOUT = 0.05  # seconds per match: a pathological pattern fails instead of hanging
MAX_CONDITIONS = 30
MAX_ACTIONS = 20
MAX_VALUES = 200
MAX_TEXT = 20_000  # characters of the body that conditions look at


class RuleError(ValidationError):
    pass


# --- What conditions look at ------------------------------------------------------------------


@dataclass
class Facts:
    channel: str = ""
    mailbox: int | None = None
    subject: str = ""
    body: str = ""
    language: str = ""
    organization: int | None = None
    requester_tier: str = CustomerTier.STANDARD
    requester_email: str = ""
    category: str = ""
    topic: str = ""
    priority: str = ""
    type: str = ""
    status: str = ""
    team: int | None = None
    assignee: int | None = None
    tags: frozenset[str] = frozenset()
    custom_fields: dict[str, Any] = field(default_factory=dict)
    hours_idle: float = 0.0
    automatic: bool = False  # the message came from a machine (auto-reply, bounce, list)
    now: datetime | None = None
    known_business_hours: str | None = None  # looked up on first use (one query)

    @property
    def business_hours(self) -> str:
        """ "open" / "closed" by the tenant's default calendar, "" without one."""
        if self.known_business_hours is None:
            self.known_business_hours = _business_hours(self.now or timezone.now())
        return self.known_business_hours

    def text_of(self, name: str) -> str:
        if name == "text":
            return f"{self.subject}\n{self.body}"
        return getattr(self, name)


def facts_for(
    ticket: Ticket,
    *,
    body: str = "",
    tags: Iterable[str] | None = None,
    mailbox: int | None = None,
    automatic: bool = False,
    now: datetime | None = None,
) -> Facts:
    """The facts of a ticket (its requester and organization should be select_related)."""
    from tickets.selectors import ticket_tag_names

    now = now or timezone.now()
    requester = ticket.requester
    return Facts(
        channel=ticket.channel,
        mailbox=mailbox,
        subject=ticket.subject,
        body=body[:MAX_TEXT],
        language=ticket.language,
        organization=ticket.organization_id,
        requester_tier=requester.effective_tier,
        requester_email=requester.email,
        category=ticket.category,
        topic=ticket.topic,
        priority=ticket.priority,
        type=ticket.type,
        status=ticket.status,
        team=ticket.team_id,
        assignee=ticket.assignee_id,
        tags=frozenset(t.lower() for t in (ticket_tag_names(ticket) if tags is None else tags)),
        custom_fields=dict(ticket.custom_fields or {}),
        now=now,
        hours_idle=max(0.0, (now - ticket.last_activity_at).total_seconds() / 3600),
        automatic=automatic,
    )


def _business_hours(now: datetime) -> str:
    from sla.calendar import calendar_for, is_open
    from sla.policies import default_calendar

    calendar = default_calendar()
    if calendar is None:
        return ""
    return "open" if is_open(calendar_for(calendar), now) else "closed"


# --- Conditions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a condition matched: a code and its parameters, rendered by `reason_text`."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class FieldSpec:
    label: Any
    kind: str  # choice, text, tags, number, flag
    ops: tuple[str, ...]
    choices: Callable[[], list[tuple[str, str]]] | None = None


def _choices(enum) -> Callable[[], list[tuple[str, str]]]:
    return lambda: [(str(v), str(label)) for v, label in enum.choices]


def _team_choices() -> list[tuple[str, str]]:
    return [(str(t.pk), t.name) for t in Team.objects.order_by("tier", "name")[:200]]


def _mailbox_choices() -> list[tuple[str, str]]:
    from channels_in.models import Mailbox

    return [(str(m.pk), f"{m.name} <{m.address}>") for m in Mailbox.objects.order_by("name")[:200]]


def _organization_choices() -> list[tuple[str, str]]:
    from tickets.models import Organization

    return [(str(o.pk), o.name) for o in Organization.objects.order_by("name")[:500]]


def _language_choices() -> list[tuple[str, str]]:
    from django.conf import settings

    return [(code, str(name)) for code, name in settings.LANGUAGES]


def _topic_choices() -> list[tuple[str, str]]:
    from .models import KeywordRule

    labels = KeywordRule.objects.filter(kind=KeywordRule.Kind.TOPIC).values_list("label", flat=True)
    return [(label, label) for label in sorted(set(labels))]


CHOICE_OPS = ("in", "not_in")
TEXT_OPS = ("contains_any", "contains_none", "matches")
FIELDS: dict[str, FieldSpec] = {
    "channel": FieldSpec(_("Channel"), "choice", CHOICE_OPS, _choices(Ticket.Channel)),
    "mailbox": FieldSpec(_("Mailbox"), "choice", CHOICE_OPS, _mailbox_choices),
    "subject": FieldSpec(_("Subject"), "text", TEXT_OPS),
    "body": FieldSpec(_("Message text"), "text", TEXT_OPS),
    "text": FieldSpec(_("Subject or message"), "text", TEXT_OPS),
    "requester_email": FieldSpec(_("Requester's email"), "text", TEXT_OPS),
    "language": FieldSpec(_("Language"), "choice", CHOICE_OPS, _language_choices),
    "organization": FieldSpec(_("Organization"), "choice", CHOICE_OPS, _organization_choices),
    "requester_tier": FieldSpec(_("Customer tier"), "choice", CHOICE_OPS, _choices(CustomerTier)),
    "category": FieldSpec(_("Inquiry type"), "choice", CHOICE_OPS, _choices(Ticket.Category)),
    "topic": FieldSpec(_("Topic"), "choice", CHOICE_OPS, _topic_choices),
    "priority": FieldSpec(_("Priority"), "choice", CHOICE_OPS, _choices(Ticket.Priority)),
    "type": FieldSpec(_("Type"), "choice", CHOICE_OPS, _choices(Ticket.Type)),
    "status": FieldSpec(_("Status"), "choice", CHOICE_OPS, _choices(Ticket.Status)),
    "team": FieldSpec(_("Team"), "choice", (*CHOICE_OPS, "is_set", "is_empty"), _team_choices),
    "assignee": FieldSpec(_("Assignee"), "choice", ("is_set", "is_empty")),
    "tags": FieldSpec(_("Tags"), "tags", ("has_any", "has_none")),
    "business_hours": FieldSpec(
        _("Business hours"),
        "choice",
        ("in",),
        lambda: [("open", str(_("open"))), ("closed", str(_("closed")))],
    ),  # fmt: skip
    "hours_idle": FieldSpec(_("Hours since the last activity"), "number", ("gte", "lte")),
    "automatic": FieldSpec(_("Sent by a machine"), "flag", ("is_true", "is_false")),
}
CUSTOM_PREFIX = "custom:"  # "custom:order_id": a tenant's custom field
CUSTOM_OPS = ("eq", "contains_any", "is_set", "is_empty", "gte", "lte")
OP_LABELS = {
    "in": _("is"),
    "not_in": _("is not"),
    "contains_any": _("contains any of"),
    "contains_none": _("contains none of"),
    "matches": _("matches the pattern"),
    "has_any": _("include any of"),
    "has_none": _("include none of"),
    "is_set": _("is set"),
    "is_empty": _("is empty"),
    "eq": _("equals"),
    "gte": _("is at least"),
    "lte": _("is at most"),
    "is_true": _("yes"),
    "is_false": _("no"),
}
VALUELESS_OPS = {"is_set", "is_empty", "is_true", "is_false"}


def field_spec(name: str) -> FieldSpec | None:
    if name.startswith(CUSTOM_PREFIX):
        from tickets.models import CustomField

        key = name[len(CUSTOM_PREFIX) :]
        custom = CustomField.objects.filter(key=key).first()
        if custom is None:
            return None
        return FieldSpec(custom.label, "custom", CUSTOM_OPS)
    return FIELDS.get(name)


def _strings(value: Any, *, where: str, lower: bool = False) -> list[str]:
    items = value if isinstance(value, list) else [value]
    cleaned = []
    for item in items[:MAX_VALUES]:
        if item is None or isinstance(item, dict | list):
            raise RuleError(_("%(where)s: values must be text.") % {"where": where})
        text = str(item).strip()
        if text:
            cleaned.append(text.lower() if lower else text)
    return cleaned


def validate_conditions(conditions: Any) -> list[dict]:
    """The conditions, checked and normalised; RuleError names the first bad one."""
    if not isinstance(conditions, list):
        raise RuleError(_("Conditions must be a list."))
    if len(conditions) > MAX_CONDITIONS:
        raise RuleError(_("At most %(n)d conditions.") % {"n": MAX_CONDITIONS})
    cleaned = []
    for n, condition in enumerate(conditions, start=1):
        where = _("Condition %(n)d") % {"n": n}
        if not isinstance(condition, dict):
            raise RuleError(_("%(where)s is not a condition.") % {"where": where})
        name, op = str(condition.get("field", "")), str(condition.get("op", ""))
        spec = field_spec(name)
        if spec is None:
            raise RuleError(_("%(where)s: unknown field “%(field)s”.")
                            % {"where": where, "field": name})  # fmt: skip
        if op not in spec.ops:
            raise RuleError(_("%(where)s: “%(op)s” does not apply to %(field)s.")
                            % {"where": where, "op": op, "field": spec.label})  # fmt: skip
        value = condition.get("value")
        if op in VALUELESS_OPS:
            value = None
        elif op in {"gte", "lte"}:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise RuleError(_("%(where)s: give a number.") % {"where": where}) from None
        elif op == "matches":
            value = str(value or "").strip()
            try:
                regex.compile(value, regex.IGNORECASE | regex.V1)
            except regex.error as error:
                raise RuleError(_("%(where)s: the pattern is not valid (%(error)s).")
                                % {"where": where, "error": error}) from None  # fmt: skip
            if not value:
                raise RuleError(_("%(where)s: give a pattern.") % {"where": where})
        elif op == "eq":
            value = str(value or "").strip()
        else:
            value = _strings(value, where=where, lower=spec.kind in {"text", "tags", "custom"})
            if not value:
                raise RuleError(_("%(where)s: give at least one value.") % {"where": where})
            if spec.choices is not None and spec.kind == "choice":
                allowed = {v for v, _label in spec.choices()}
                unknown = [v for v in value if v not in allowed]
                if unknown:
                    raise RuleError(_("%(where)s: unknown value “%(value)s”.")
                                    % {"where": where, "value": unknown[0]})  # fmt: skip
        cleaned.append({"field": name, "op": op, "value": value})
    return cleaned


Test = Callable[[Facts], Reason | None]


def _compile_condition(condition: dict) -> Test:
    name, op, value = condition["field"], condition["op"], condition["value"]
    if name.startswith(CUSTOM_PREFIX):
        return _compile_custom(name[len(CUSTOM_PREFIX) :], op, value)
    spec = FIELDS[name]

    def reason(shown: Any = value) -> Reason:
        return Reason(name, op, shown)

    if spec.kind == "text":
        if op == "matches":
            pattern = regex.compile(value, regex.IGNORECASE | regex.V1)

            def test(facts: Facts) -> Reason | None:
                try:
                    found = pattern.search(facts.text_of(name), timeout=REGEX_TIMEOUT)
                except TimeoutError:
                    return None  # too slow to decide: treated as no match
                return reason(found.group(0)[:80]) if found else None

            return test
        words = tuple(value)

        def test(facts: Facts) -> Reason | None:
            text = facts.text_of(name).lower()
            hit = next((w for w in words if w in text), None)
            if op == "contains_any":
                return reason(hit) if hit is not None else None
            return reason(list(words)) if hit is None else None

        return test
    if spec.kind == "tags":
        wanted = frozenset(value)

        def test(facts: Facts) -> Reason | None:
            common = wanted & facts.tags
            if op == "has_any":
                return reason(sorted(common)) if common else None
            return reason(sorted(wanted)) if not common else None

        return test
    if spec.kind == "number":
        limit = float(value)

        def test(facts: Facts) -> Reason | None:
            actual = float(getattr(facts, name))
            ok = actual >= limit if op == "gte" else actual <= limit
            return reason(limit) if ok else None

        return test
    if spec.kind == "flag":
        wanted_flag = op == "is_true"
        return lambda facts: reason(None) if bool(getattr(facts, name)) == wanted_flag else None
    # choice fields
    if op in {"is_set", "is_empty"}:
        want_set = op == "is_set"
        return lambda facts: reason(None) if (getattr(facts, name) not in (None, "")) == want_set \
            else None  # fmt: skip
    options = frozenset(value)

    def test(facts: Facts) -> Reason | None:
        actual = getattr(facts, name)
        actual = "" if actual is None else str(actual)
        inside = actual in options
        if op == "in":
            return reason(actual) if inside else None
        return reason(list(value)) if not inside else None

    return test


def _compile_custom(key: str, op: str, value: Any) -> Test:
    name = CUSTOM_PREFIX + key

    def test(facts: Facts) -> Reason | None:
        actual = facts.custom_fields.get(key)
        present = actual not in (None, "", [], False)
        if op == "is_set":
            return Reason(name, op, None) if present else None
        if op == "is_empty":
            return Reason(name, op, None) if not present else None
        if not present:
            return None
        text = str(actual).lower()
        if op == "eq":
            return Reason(name, op, value) if text == str(value).lower() else None
        if op == "contains_any":
            hit = next((w for w in value if w in text), None)
            return Reason(name, op, hit) if hit is not None else None
        try:
            number = float(actual)
        except (TypeError, ValueError):
            return None
        ok = number >= value if op == "gte" else number <= value
        return Reason(name, op, value) if ok else None

    return test


@dataclass(frozen=True)
class CompiledRule:
    tests: tuple[Test, ...]
    match: str

    def evaluate(self, facts: Facts) -> list[Reason] | None:
        """The reasons it matched, or None. No conditions: always matches (a catch-all)."""
        if not self.tests:
            return []
        reasons = []
        for test in self.tests:
            found = test(facts)
            if found is not None:
                reasons.append(found)
                if self.match == "any":
                    return reasons
            elif self.match == "all":
                return None
        return reasons or None


def compile_rule(conditions: list[dict], match: str = "all") -> CompiledRule:
    return CompiledRule(tuple(_compile_condition(c) for c in conditions), match)


_compiled: dict[tuple[str, int], tuple[tuple, list]] = {}
_compiled_lock = threading.Lock()


def active_compiled(name: str, model) -> list[tuple[Any, CompiledRule]]:
    """The tenant's active rows of `model` (routing rules, triggers) in position order, each
    with its compiled conditions; compiled once per worker process and kept while the rows'
    count and last change stay the same (checked once per batch of jobs). A row whose
    conditions no longer compile (saved before a field was retired) is skipped, so it cannot
    break every job."""
    from .jobs import per_batch

    tenant_id = require_current_tenant().pk
    rows = model.objects.filter(is_active=True)
    version = per_batch((name, tenant_id), lambda: tuple(
        rows.aggregate(n=Count("id"), changed=Max("updated_at")).values()))  # fmt: skip
    cached = _compiled.get((name, tenant_id))
    if cached is not None and cached[0] == version:
        return cached[1]
    compiled = []
    for row in rows.order_by("position", "id"):
        try:
            compiled.append((row, compile_rule(row.conditions, row.match)))
        except (KeyError, TypeError, ValueError, RuleError):
            continue
    with _compiled_lock:
        _compiled[(name, tenant_id)] = (version, compiled)
    return compiled


# --- Actions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    label: Any
    kind: str  # choice, tags, user, none, text, json
    validate: Callable[[Any, str], Any]
    choices: Callable[[], list[tuple[str, str]]] | None = None


ACTIONS: dict[str, ActionSpec] = {}


def action(name: str, label: Any, kind: str, choices=None):
    """Register an action's validator (triggers and macros add their own: notify, reply…)."""

    def register(validate: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
        ACTIONS[name] = ActionSpec(label, kind, validate, choices)
        return validate

    return register


def _choice_validator(enum):
    def validate(value: Any, where: str) -> str:
        if str(value) not in enum.values:
            raise RuleError(_("%(where)s: unknown value “%(value)s”.")
                            % {"where": where, "value": value})  # fmt: skip
        return str(value)

    return validate


def _agent_choices() -> list[tuple[str, str]]:
    from helpdesk.tenancy.models import Membership

    members = (
        Membership.objects.filter(is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")[:500]
    )
    return [(str(m.user_id), m.user.get_full_name() or m.user.email) for m in members]


@action("set_team", _("Set team"), "choice", _team_choices)
def _validate_team(value: Any, where: str) -> int:
    try:
        team_id = int(value)
    except (TypeError, ValueError):
        raise RuleError(_("%(where)s: choose a team.") % {"where": where}) from None
    if not Team.objects.filter(pk=team_id).exists():
        raise RuleError(_("%(where)s: that team does not exist.") % {"where": where})
    return team_id


for _name, _label, _enum in (
    ("set_priority", _("Set priority"), Ticket.Priority),
    ("set_type", _("Set type"), Ticket.Type),
    ("set_category", _("Set inquiry type"), Ticket.Category),
    ("set_status", _("Set status"), Ticket.Status),
):
    action(_name, _label, "choice", _choices(_enum))(_choice_validator(_enum))


@action("set_topic", _("Set topic"), "text")
def _validate_topic(value: Any, where: str) -> str:
    topic = str(value or "").strip()[:50]
    if not topic:
        raise RuleError(_("%(where)s: give a topic.") % {"where": where})
    return topic


def _validate_tags(value: Any, where: str) -> list[str]:
    tags = [t[:50] for t in _strings(value, where=where, lower=True)][:20]
    if not tags:
        raise RuleError(_("%(where)s: give at least one tag.") % {"where": where})
    return tags


action("add_tags", _("Add tags"), "tags")(_validate_tags)
action("remove_tags", _("Remove tags"), "tags")(_validate_tags)
action("require_skills", _("Require skills"), "tags")(_validate_tags)


@action("assign_to", _("Assign to"), "user", _agent_choices)
def _validate_assignee(value: Any, where: str) -> int:
    from helpdesk.tenancy.models import Membership

    try:
        user_id = int(value)
    except (TypeError, ValueError):
        raise RuleError(_("%(where)s: choose an agent.") % {"where": where}) from None
    if not Membership.objects.filter(user_id=user_id, is_active=True).exists():
        raise RuleError(_("%(where)s: that agent is not a member here.") % {"where": where})
    return user_id


@action("assign_auto", _("Assign by the team's strategy"), "none")
def _validate_auto(value: Any, where: str) -> None:
    return None


def validate_actions(actions: Any, *, allowed: Iterable[str] | None = None) -> list[dict]:
    if not isinstance(actions, list):
        raise RuleError(_("Actions must be a list."))
    if len(actions) > MAX_ACTIONS:
        raise RuleError(_("At most %(n)d actions.") % {"n": MAX_ACTIONS})
    allowed = set(allowed) if allowed is not None else set(ACTIONS)
    cleaned = []
    for n, item in enumerate(actions, start=1):
        where = _("Action %(n)d") % {"n": n}
        if not isinstance(item, dict):
            raise RuleError(_("%(where)s is not an action.") % {"where": where})
        name = str(item.get("action", ""))
        if name not in ACTIONS or name not in allowed:
            raise RuleError(_("%(where)s: unknown action “%(action)s”.")
                            % {"where": where, "action": name})  # fmt: skip
        cleaned.append({"action": name, "value": ACTIONS[name].validate(item.get("value"), where)})
    return cleaned


@dataclass
class Applied:
    """What a rule's actions did: `changes` (field → new value, written), tags added and
    removed, and the assignment intent left for the assignment step."""

    changes: dict[str, Any] = field(default_factory=dict)
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    assign_to: int | None = None
    assign_auto: bool = False
    extra: list[dict] = field(default_factory=list)  # actions for the caller (notify, reply…)


FIELD_ACTIONS = {
    "set_priority": "priority",
    "set_type": "type",
    "set_category": "category",
    "set_status": "status",
    "set_topic": "topic",
}


def plan_actions(actions: list[dict], applied: Applied | None = None) -> Applied:
    """Fold a rule's actions into `applied` (later rules override earlier ones' fields)."""
    applied = applied or Applied()
    for item in actions:
        name, value = item["action"], item["value"]
        if name in FIELD_ACTIONS:
            applied.changes[FIELD_ACTIONS[name]] = value
        elif name == "set_team":
            applied.changes["team"] = value
        elif name == "add_tags":
            applied.tags_added += [t for t in value if t not in applied.tags_added]
        elif name == "remove_tags":
            applied.tags_removed += [t for t in value if t not in applied.tags_removed]
        elif name == "require_skills":
            applied.skills += [s.lower() for s in value if s.lower() not in applied.skills]
        elif name == "assign_to":
            applied.assign_to, applied.assign_auto = value, False
        elif name == "assign_auto":
            applied.assign_to, applied.assign_auto = None, True
        else:
            applied.extra.append(item)
    return applied


def write_changes(ticket: Ticket, applied: Applied, *, reason: str) -> list[str]:
    """Write the field changes and tags of `applied` through tickets.services: one event per
    change, `reason` (the rule's name) on each. Returns the fields that changed."""
    from tickets import services
    from tickets.models import TicketTag

    from .jobs import per_batch

    changes = dict(applied.changes)
    if changes.get("team"):
        teams = per_batch(("teams",), lambda: Team.objects.in_bulk())  # a tenant has a few
        changes["team"] = teams.get(changes["team"])
        if changes["team"] is None:
            del changes["team"]  # deleted since the rule was saved: leave the team alone
    quiet = {"required_skills": applied.skills} if applied.skills else {}
    changed = services._apply_changes(ticket, changes, actor=None, reason=reason[:300],
                                      quiet=quiet)  # fmt: skip
    if applied.tags_added:
        added = services._add_tags(ticket, applied.tags_added)
        services.event(ticket=ticket, kind="tags", actor=None, reason=reason[:300],
                       added=sorted(added), removed=[])  # fmt: skip
    if applied.tags_removed:
        gone = TicketTag.objects.filter(ticket=ticket, tag__name__in=applied.tags_removed)
        names = sorted(gone.values_list("tag__name", flat=True))
        if names:
            gone.delete()
            services.event(ticket=ticket, kind="tags", actor=None, reason=reason[:300],
                           added=[], removed=names)  # fmt: skip
    return changed


# --- Explanations --------------------------------------------------------------------------------


def reason_text(reason: Reason | dict) -> str:
    """One matched condition in the reader's language: "customer tier = VIP", "keyword 退款"."""
    if isinstance(reason, dict):
        reason = Reason(reason.get("field", ""), reason.get("op", ""), reason.get("value"))
    spec = FIELDS.get(reason.field)
    label = spec.label if spec else reason.field.removeprefix(CUSTOM_PREFIX)
    value = reason.value
    if spec is not None and spec.choices is not None and isinstance(value, str):
        value = dict(spec.choices()).get(value, value)
    if reason.op == "contains_any":
        return _("keyword “%(word)s” in %(field)s") % {"word": value, "field": str(label).lower()}
    if reason.op == "matches":
        return _("%(field)s matches “%(text)s”") % {"field": label, "text": value}
    if reason.op in VALUELESS_OPS:
        return f"{label} {OP_LABELS[reason.op]}"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if reason.op == "in":
        return f"{label} = {value}"
    return f"{label} {OP_LABELS.get(reason.op, reason.op)} {value}"


def reasons_data(reasons: Iterable[Reason]) -> list[dict]:
    return [{"field": r.field, "op": r.op, "value": r.value} for r in reasons]

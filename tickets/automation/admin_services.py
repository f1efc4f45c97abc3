"""Settings › Routing, Auto-replies and Agents: the writes (audited) and the read-only tests.

    routing_rule_save / routing_rule_set_active / routing_rule_move / routing_rule_delete
    routing_test(facts, only=None) -> RoutingTest      "Test these rules": writes nothing
    auto_reply_save / auto_reply_delete, check_auto_reply_template, auto_reply_preview
    agent_availability_set / agent_capacity_set         an agent back online, or given more
                                                         room, picks up the team queues

Every settings change writes an AuditEvent (helpdesk.tenancy.services.audit) in the same
transaction. Conditions and actions are validated by tickets.automation.rules, the one
vocabulary routing rules share with triggers and macros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.accounts.models import User
from helpdesk.lib.ordering import move_one
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.services import audit
from helpdesk.tenancy.tasks import enqueue_on_commit
from tickets.models import OPEN_UNMERGED, Contact, CustomerTier, Team, TeamMember, Ticket

from . import assignment, explain, routing, rules, triggers
from .autoreply import EXTRA_PLACEHOLDERS
from .forms import ACTION_SETS
from .models import AgentProfile, AutoReply, RoutingRule

ROUTING_ACTIONS: tuple[str, ...] = ACTION_SETS["routing"] or ()
MAX_SUBJECT = AutoReply._meta.get_field("subject").max_length
MAX_BODY = 10_000
MAX_CAPACITY = 500


class SettingsError(Exception):
    """A setting that breaks a rule; the message is shown to the administrator as is."""


# --- Routing rules ---------------------------------------------------------------------------


def clean_routing_rule(*, name: str, match: str, conditions: Any, actions: Any) -> dict:
    name = " ".join(str(name or "").split())[:100]
    if not name:
        raise SettingsError(_("Give the rule a name."))
    if match not in {"all", "any"}:
        raise SettingsError(_("Choose whether all or any condition must match."))
    try:
        conditions = rules.validate_conditions(list(conditions))
        actions = rules.validate_actions(list(actions), allowed=ROUTING_ACTIONS)
    except rules.RuleError as error:
        raise SettingsError(error.messages[0]) from None
    if not actions:
        raise SettingsError(_("Add at least one action."))
    return {"name": name, "match": match, "conditions": conditions, "actions": actions}


@transaction.atomic
def routing_rule_save(
    *,
    actor: User,
    rule: RoutingRule | None = None,
    name: str,
    match: str = "all",
    conditions: Any = (),
    actions: Any = (),
    stop: bool = True,
    is_active: bool = True,
) -> RoutingRule:
    """Create (`rule` None; it goes last) or change a routing rule."""
    fields = clean_routing_rule(name=name, match=match, conditions=conditions, actions=actions)
    fields.update(stop=bool(stop), is_active=bool(is_active))
    if rule is None:
        last = RoutingRule.objects.aggregate(n=Max("position"))["n"]
        rule = RoutingRule.objects.create(position=(last or 0) + 1, **fields)
        audit(actor=actor, action="routing_rule.create",
              summary=f"Created routing rule “{rule.name}”"[:300], rule=rule.pk)  # fmt: skip
        return rule
    changed = [key for key, value in fields.items() if getattr(rule, key) != value]
    if not changed:
        return rule
    for key in changed:
        setattr(rule, key, fields[key])
    rule.save(update_fields=[*changed, "updated_at"])  # updated_at: workers recompile
    audit(actor=actor, action="routing_rule.update",
          summary=f"Changed routing rule “{rule.name}”: {', '.join(changed)}"[:300],
          rule=rule.pk, fields=changed)  # fmt: skip
    return rule


@transaction.atomic
def routing_rule_set_active(*, rule: RoutingRule, actor: User, active: bool) -> None:
    if rule.is_active == active:
        return
    rule.is_active = active
    rule.save(update_fields=["is_active", "updated_at"])
    audit(
        actor=actor,
        action="routing_rule.activate" if active else "routing_rule.deactivate",
        summary=f"{'Activated' if active else 'Paused'} routing rule “{rule.name}”"[:300],
        rule=rule.pk,
    )


@transaction.atomic
def routing_rule_move(*, rule: RoutingRule, actor: User, direction: str) -> bool:
    """One place up or down; positions become 1, 2, 3 … in the new order. False at an end."""
    if not move_one(RoutingRule, rule.pk, direction):
        return False
    audit(actor=actor, action="routing_rule.move",
          summary=f"Moved routing rule “{rule.name}” {direction}"[:300], rule=rule.pk)  # fmt: skip
    return True


@transaction.atomic
def routing_rule_delete(*, rule: RoutingRule, actor: User) -> None:
    audit(actor=actor, action="routing_rule.delete",
          summary=f"Deleted routing rule “{rule.name}”"[:300], rule=rule.pk)  # fmt: skip
    rule.delete()


# --- "Test these rules": what routing would do, writing nothing ----------------------------


@dataclass
class RuleOutcome:
    rule: RoutingRule
    state: str  # matched / no_match / not_tried
    reasons: list[str] = field(default_factory=list)
    actions: str = ""


@dataclass
class RoutingTest:
    outcomes: list[RuleOutcome]
    matched: list[RuleOutcome]
    sets: list[tuple[str, str]]  # (what, value) in words
    assignee: str  # who would get it, or why nobody, in words
    picked: assignment.Agent | None
    team: Team | None
    members: list[assignment.Agent]
    timeline: str  # the line the ticket's timeline would show
    only: bool = False  # one rule, tested on its own


def facts_from(
    *,
    subject: str = "",
    body: str = "",
    channel: str = Ticket.Channel.EMAIL,
    requester_email: str = "",
    language: str = "",
    requester_tier: str = "",
    organization: int | None = None,
) -> rules.Facts:
    """The facts of a pasted message. A tier or organization left blank comes from the sender's
    contact when we know them (as it would for a real message), else standard / none."""
    contact = None
    if requester_email:
        contact = (
            Contact.objects.filter(email__iexact=requester_email.strip())
            .select_related("organization")
            .first()
        )
    if not requester_tier:
        requester_tier = contact.effective_tier if contact else CustomerTier.STANDARD
    if organization is None and contact is not None:
        organization = contact.organization_id
    return rules.Facts(
        channel=channel,
        subject=subject,
        body=body[: rules.MAX_TEXT],
        language=language,
        organization=organization,
        requester_tier=requester_tier,
        requester_email=requester_email.strip(),
        status=Ticket.Status.NEW,
        priority=Ticket.Priority.NORMAL,
        now=timezone.now(),
    )


def _names(people: dict[int, str], teams: dict[int, Team]) -> explain.Names:
    def team_name(team_id: Any) -> str:
        team = teams.get(team_id)
        return f"{team.name} ({team.get_tier_display()})" if team else _("a deleted team")

    return explain.Names(lambda user_id: people.get(user_id) or _("a former member"), team_name)


def routing_test(facts: rules.Facts, *, only: RoutingRule | None = None) -> RoutingTest:
    """Which rules match `facts` in order, why, what they would set, and whom the team's
    strategy would pick right now (or why nobody). Reads only: no rule statistics, no
    round-robin position, no event. `only`: that rule alone (saved or not), active or not."""
    if only is not None:
        compiled = rules.compile_rule(only.conditions, only.match)
        reasons = compiled.evaluate(facts)
        matches = [] if reasons is None else [routing.RuleMatch(only, reasons)]
        applied = rules.plan_actions(only.actions) if matches else rules.Applied()
        candidates = [only]
    else:
        matches, applied = routing.dry_run(facts)
        candidates = [rule for rule, _compiled in routing.active_rules()]
    users = {m.user_id: m.user for m in Membership.objects.select_related("user")[:500]}
    teams = {t.pk: t for t in Team.objects.all()[:200]}
    names = _names({pk: u.get_full_name() or u.email for pk, u in users.items()}, teams)

    by_rule = {m.rule.pk: m for m in matches}
    stopped_at = next((m.rule.pk for m in matches if m.rule.stop), None) if only is None else None
    outcomes, past_stop = [], False
    for rule in candidates:
        match = by_rule.get(rule.pk)
        if past_stop:
            outcome = RuleOutcome(rule, "not_tried")
        elif match is not None:
            outcome = RuleOutcome(rule, "matched", [rules.reason_text(r) for r in match.reasons])
        else:
            outcome = RuleOutcome(rule, "no_match")
        outcome.actions = triggers.describe_actions(rule.actions, users, teams)
        outcomes.append(outcome)
        past_stop = past_stop or rule.pk == stopped_at

    team_id = applied.changes.get("team")
    team = teams.get(team_id) if team_id else None
    choice, members = _predict(applied, team)
    data: dict[str, Any] = {
        "rules": [{"id": m.rule.pk, "name": m.rule.name, "because": rules.reasons_data(m.reasons)}
                  for m in matches],
        "set": dict(applied.changes),
    }  # fmt: skip
    if applied.tags_added:
        data["tags"] = applied.tags_added
    if applied.skills:
        data["skills"] = applied.skills
    if choice is not None:
        data["assignment"] = choice.as_data()
    return RoutingTest(
        outcomes=outcomes,
        matched=[o for o in outcomes if o.state == "matched"],
        sets=_sets(applied, names),
        assignee=_assignee_text(applied, team, choice, names),
        picked=choice.agent if choice is not None else None,
        team=team,
        members=members,
        timeline=explain.routing_text(data, names) if matches else "",
        only=only is not None,
    )


def _sets(applied: rules.Applied, names: explain.Names) -> list[tuple[str, str]]:
    rows = []
    for name, value in applied.changes.items():
        if name == "team":
            rows.append((_("Team"), names.team(value)))
        else:
            label = str(Ticket._meta.get_field(name).verbose_name).capitalize()
            choices = explain.CHOICES.get(name)
            rows.append((label, str(dict(choices.choices).get(value, value)) if choices else value))
    if applied.tags_added:
        rows.append((_("Tags added"), ", ".join(applied.tags_added)))
    if applied.tags_removed:
        rows.append((_("Tags removed"), ", ".join(applied.tags_removed)))
    if applied.skills:
        rows.append((_("Skills needed"), ", ".join(applied.skills)))
    return rows


def _predict(
    applied: rules.Applied, team: Team | None
) -> tuple[assignment.Choice | None, list[assignment.Agent]]:
    """Whom assignment would pick now, read-only (no lock, no round-robin step), and the team's
    members as the strategy sees them."""
    if applied.assign_to is not None:
        member = (
            Membership.objects.filter(user_id=applied.assign_to, is_active=True)
            .select_related("user")
            .first()
        )
        if member is None:
            return assignment.Choice(None, "rule", why_not="not_a_member"), []
        agent = assignment.Agent(member.user_id, frozenset(), True, 0,
                                 name=member.user.full_name, email=member.user.email)  # fmt: skip
        return assignment.Choice(agent.user_id, "rule", agent), []
    if team is None:
        return None, []
    members = assignment.team_agents(team)
    manual = team.assignment == Team.Assignment.MANUAL
    if manual and not applied.assign_auto:
        return None, members
    strategy = Team.Assignment.ROUND_ROBIN if manual else team.assignment
    choice = assignment.choose(
        members, strategy=strategy, skills=applied.skills, last_user_id=team.last_assigned_id
    )
    return choice, members


def _assignee_text(
    applied: rules.Applied,
    team: Team | None,
    choice: assignment.Choice | None,
    names: explain.Names,
) -> str:
    if choice is not None:
        text = explain.assignment_text(choice.as_data(), names)
        return text[:1].upper() + text[1:]
    if team is None:
        return _("Nobody: no team is set, so the ticket stays in the general queue.")
    return _("Nobody: %(team)s assigns by hand, so the ticket waits in its queue.") % {
        "team": names.team(team.pk)
    }


# --- Auto-replies ------------------------------------------------------------------------------

_EXTRA = re.compile(r"\{\{\s*(" + "|".join(re.escape(p) for p in EXTRA_PLACEHOLDERS) + r")\s*\}\}")
_ANY_BRACES = re.compile(r"\{\{(.*?)\}\}", re.S)
PLACEHOLDERS: dict[str, Any] = {
    **triggers.PLACEHOLDERS,
    "sla.first_response": gettext_lazy(
        "when to expect the first answer, from the SLA policy and business hours"
    ),
    "kb.articles": gettext_lazy("up to three knowledge-base articles that match the request"),
    "request_url": gettext_lazy("a link to follow the request and reply, without an account"),
}


def check_auto_reply_template(text: Any, *, where: str, limit: int = MAX_BODY) -> str:
    """An auto-reply's subject or body: the placeholders of triggers plus {{ sla.first_response }}
    and {{ kb.articles }}, at most `limit` characters."""
    text = str(text or "").strip()
    if len(text) > limit:
        raise SettingsError(
            _("%(where)s: at most %(n)d characters.") % {"where": where, "n": limit}
        )
    stripped = _EXTRA.sub("", text)
    try:
        triggers.check_template(stripped, where=where, limit=limit)
    except rules.RuleError as error:
        unknown = next((n.strip() for n in _ANY_BRACES.findall(stripped)
                        if n.strip() not in PLACEHOLDERS), None)  # fmt: skip
        if unknown is None:
            raise SettingsError(error.messages[0]) from None
        raise SettingsError(
            _("%(where)s: unknown placeholder {{ %(name)s }}; use one of %(names)s.")
            % {"where": where, "name": unknown[:40],
               "names": ", ".join(f"{{{{ {p} }}}}" for p in PLACEHOLDERS)}
        ) from None  # fmt: skip
    return text


def _language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def clean_auto_reply(
    *, name: str, channel: str, language: str, subject: str, body: str
) -> dict[str, str]:
    name = " ".join(str(name or "").split())[:100]
    if not name:
        raise SettingsError(_("Give the auto-reply a name."))
    if channel and channel not in Ticket.Channel.values:
        raise SettingsError(_("Choose a channel, or every channel."))
    if language and language not in _language_codes():
        raise SettingsError(_("Choose a language, or every language."))
    subject = check_auto_reply_template(subject, where=_("Subject"), limit=MAX_SUBJECT)
    body = check_auto_reply_template(body, where=_("Message"))
    if not subject:
        raise SettingsError(_("Give the auto-reply a subject."))
    if not body:
        raise SettingsError(_("Write the message."))
    return {"name": name, "channel": channel, "language": language, "subject": subject,
            "body": body}  # fmt: skip


@transaction.atomic
def auto_reply_save(
    *,
    actor: User,
    auto_reply: AutoReply | None = None,
    name: str,
    subject: str,
    body: str,
    channel: str = "",
    language: str = "",
    is_active: bool = True,
    suggest_articles: bool = True,
) -> AutoReply:
    fields: dict[str, Any] = clean_auto_reply(
        name=name, channel=channel, language=language, subject=subject, body=body
    )
    fields.update(is_active=bool(is_active), suggest_articles=bool(suggest_articles))
    if auto_reply is None:
        auto_reply = AutoReply.objects.create(**fields)
        audit(actor=actor, action="auto_reply.create",
              summary=f"Created auto-reply “{auto_reply.name}”"[:300],
              auto_reply=auto_reply.pk)  # fmt: skip
        return auto_reply
    changed = [key for key, value in fields.items() if getattr(auto_reply, key) != value]
    if not changed:
        return auto_reply
    for key in changed:
        setattr(auto_reply, key, fields[key])
    auto_reply.save(update_fields=[*changed, "updated_at"])
    audit(actor=actor, action="auto_reply.update",
          summary=f"Changed auto-reply “{auto_reply.name}”: {', '.join(changed)}"[:300],
          auto_reply=auto_reply.pk, fields=changed)  # fmt: skip
    return auto_reply


@transaction.atomic
def auto_reply_delete(*, auto_reply: AutoReply, actor: User) -> None:
    audit(actor=actor, action="auto_reply.delete",
          summary=f"Deleted auto-reply “{auto_reply.name}”"[:300],
          auto_reply=auto_reply.pk)  # fmt: skip
    auto_reply.delete()


def auto_reply_shadowed(templates: list[AutoReply]) -> dict[int, AutoReply]:
    """Active templates that are never used: another active one has the same channel and
    language and comes first (template_for takes the lowest id). {shadowed id: winner}."""
    first: dict[tuple[str, str], AutoReply] = {}
    shadowed = {}
    for item in sorted((t for t in templates if t.is_active), key=lambda t: t.pk):
        key = (item.channel, item.language)
        if key in first:
            shadowed[item.pk] = first[key]
        else:
            first[key] = item
    return shadowed


def preview_ticket(*, channel: str = "", language: str = "") -> tuple[Ticket, bool]:
    """The ticket a preview is rendered for: the most recent one (of that channel and language
    when there is one), else an unsaved sample. Returns (ticket, is_sample)."""
    recent = Ticket.objects.select_related("requester", "organization").order_by("-id")
    narrowed = recent
    if channel:
        narrowed = narrowed.filter(channel=channel)
    if language:
        narrowed = narrowed.filter(language=language)
    ticket = narrowed.first() or recent.first()
    if ticket is not None:
        return ticket, False
    requester = Contact(name=_("Li Na"), email="li.na@example.com", language=language)
    sample = Ticket(
        number=1042,
        subject=_("Refund for order A-1029"),
        channel=channel or Ticket.Channel.EMAIL,
        language=language,
        requester=requester,
        snippet=_("I was charged twice for my order and would like a refund."),
    )
    return sample, True


@dataclass
class Preview:
    subject: str
    body: str
    ticket: Ticket
    sample: bool  # an unsaved sample ticket: the tenant has none yet
    notes: list[str] = field(default_factory=list)  # why a placeholder came out empty


def auto_reply_preview(
    *, subject: str, body: str, channel: str = "", language: str = ""
) -> Preview:
    """The template rendered for a recent ticket (or a sample one) as its customer would get it,
    with a note for each of {{ sla.first_response }} / {{ kb.articles }} that comes out empty.
    Reads only. Raises SettingsError for a placeholder it does not know."""
    from django.utils import translation

    from helpdesk.tenancy.context import require_current_tenant

    from . import autoreply

    subject = check_auto_reply_template(subject, where=_("Subject"), limit=MAX_SUBJECT)
    body = check_auto_reply_template(body, where=_("Message"))
    ticket, sample = preview_ticket(channel=channel, language=language)
    template = AutoReply(name="preview", subject=subject, body=body, channel=channel,
                         language=language)  # fmt: skip
    notes = []
    used = {m.group(1) for m in _EXTRA.finditer(f"{subject}\n{body}")}
    language = language or ticket.language or require_current_tenant().default_language
    with translation.override(language):  # the customer's language for what they get
        rendered_subject, rendered_body = autoreply.render(template, ticket)
        no_promise = "sla.first_response" in used and not autoreply.first_response_text(ticket)
        no_articles = "kb.articles" in used and not autoreply.articles_text(ticket)
    # The notes are for the administrator: in their language, not the customer's.
    if no_promise:
        notes.append(_("{{ sla.first_response }} is left out: no SLA policy promises this "
                       "ticket a first answer."))  # fmt: skip
    if no_articles:
        notes.append(_("{{ kb.articles }} is left out: no published article matches this "
                       "ticket."))  # fmt: skip
    return Preview(rendered_subject, rendered_body, ticket, sample, notes)


# --- Agents: availability and capacity -------------------------------------------------------


def agent_profile(user: User) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=user).first()


def _pick_up_queues(user: User) -> list[int]:
    """On commit, a queue run for each of the agent's teams that has tickets waiting."""
    teams = TeamMember.objects.filter(user=user).values("team_id")
    waiting = sorted(
        Ticket.objects.filter(OPEN_UNMERGED, team_id__in=teams, awaiting_assignment=True,
                              assignee__isnull=True)
        .order_by()
        .values_list("team_id", flat=True)
        .distinct()
    )  # fmt: skip
    from tickets.tasks import assign_queue

    for team_id in waiting:
        enqueue_on_commit(assign_queue, team_id=team_id)
    return waiting


@transaction.atomic
def agent_availability_set(*, user: User, availability: str, actor: User) -> AgentProfile:
    """Online, away or offline (the profile is made on first use). Going online picks up the
    waiting tickets of the agent's teams. Set by someone else (an administrator), audited."""
    if availability not in AgentProfile.Availability.values:
        raise SettingsError(_("Choose online, away or offline."))
    profile, created = AgentProfile.objects.select_for_update().get_or_create(
        user=user, defaults={"availability": availability}
    )
    # Without a profile an agent counts as online (assignment.team_agents).
    before = AgentProfile.Availability.ONLINE if created else profile.availability
    if before == availability:
        return profile
    if not created:
        profile.availability = availability
        profile.save(update_fields=["availability", "changed_at"])
    if actor.pk != user.pk:
        audit(actor=actor, action="agent.availability",
              summary=f"Set {user.email} {availability}"[:300], user=user.pk,
              availability=availability)  # fmt: skip
    if availability == AgentProfile.Availability.ONLINE:
        _pick_up_queues(user)
    return profile


@transaction.atomic
def agent_capacity_set(*, user: User, capacity: int, actor: User) -> AgentProfile:
    """How many open tickets assignment gives the agent at most. More room picks up the
    waiting tickets of their teams."""
    if not 0 <= int(capacity) <= MAX_CAPACITY:
        raise SettingsError(_("Capacity is 0 to %(n)d open tickets.") % {"n": MAX_CAPACITY})
    capacity = int(capacity)
    profile, created = AgentProfile.objects.select_for_update().get_or_create(
        user=user, defaults={"capacity": capacity}
    )
    before = assignment.DEFAULT_CAPACITY if created else profile.capacity
    if not created:
        if profile.capacity == capacity:
            return profile
        profile.capacity = capacity
        profile.save(update_fields=["capacity", "changed_at"])
    audit(actor=actor, action="agent.capacity",
          summary=f"Capacity of {user.email}: {before} → {capacity}"[:300], user=user.pk,
          capacity=capacity)  # fmt: skip
    if capacity > before and profile.availability == AgentProfile.Availability.ONLINE:
        _pick_up_queues(user)
    return profile


@dataclass
class AgentRow:
    membership: Membership
    availability: str
    capacity: int
    open: int
    teams: list[str]


def agent_rows() -> list[AgentRow]:
    """The staff with availability, capacity, open tickets and teams: four queries."""
    from django.db.models import Count

    members = list(
        Membership.objects.filter(is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")[:500]
    )
    ids = [m.user_id for m in members]
    profiles = {p.user_id: p for p in AgentProfile.objects.filter(user_id__in=ids)}
    open_counts = dict(
        Ticket.objects.filter(OPEN_UNMERGED, assignee_id__in=ids)
        .order_by()
        .values_list("assignee_id")
        .annotate(n=Count("id"))
    )
    teams: dict[int, list[str]] = {}
    for user_id, team_name in TeamMember.objects.filter(user_id__in=ids).order_by(
        "team__tier", "team__name"
    ).values_list("user_id", "team__name"):  # fmt: skip
        teams.setdefault(user_id, []).append(team_name)
    rows = []
    for m in members:
        profile = profiles.get(m.user_id)
        rows.append(
            AgentRow(
                membership=m,
                availability=profile.availability if profile else AgentProfile.Availability.ONLINE,
                capacity=profile.capacity if profile else assignment.DEFAULT_CAPACITY,
                open=open_counts.get(m.user_id, 0),
                teams=teams.get(m.user_id, []),
            )
        )
    return rows


# --- In words, for the lists -----------------------------------------------------------------


def condition_text(condition: dict, choices: dict[str, dict[str, str]] | None = None) -> str:
    """A stored condition in words: "Subject or message contains any of “退款”, “refund”".
    `choices` caches each field's value labels across calls (one lookup per field)."""
    choices = {} if choices is None else choices
    name, op, value = condition.get("field", ""), condition.get("op", ""), condition.get("value")
    spec = rules.field_spec(name)
    label = str(spec.label) if spec else name.removeprefix(rules.CUSTOM_PREFIX)
    op_label = str(rules.OP_LABELS.get(op, op))
    if op in rules.VALUELESS_OPS:
        return f"{label} {op_label}"
    values = value if isinstance(value, list) else [value]
    if spec is not None and spec.kind == "choice" and spec.choices is not None:
        if name not in choices:
            choices[name] = dict(spec.choices())
        shown = ", ".join(choices[name].get(str(v), str(v)) for v in values)
    elif op == "matches":
        shown = f"/{value}/"
    elif op in {"gte", "lte"}:
        shown = f"{value:g}" if isinstance(value, float) else str(value)
    else:
        shown = ", ".join(f"“{v}”" for v in values)
    return f"{label} {op_label} {shown}"


def conditions_text(
    conditions: list[dict], match: str, choices: dict[str, dict[str, str]] | None = None
) -> str:
    if not conditions:
        return _("Every ticket")
    joiner = f" {_('and')} " if match == "all" else f" {_('or')} "
    return joiner.join(condition_text(c, choices) for c in conditions)

"""Macros: a bundle of ticket changes and a reply an agent applies in one go.

    macros_for(user) -> QuerySet                  shared ones and the user's own, by name
    macro_may_edit(macro=…, user=…) -> bool       shared: administrators; personal: the owner
    macro_preview(macro=…, ticket=…, agent=…)     the reply text with its placeholders filled in
    macro_apply(macro=…, ticket=…, actor=…, …)    the changes, then the reply or note (atomic)
    macro_create / macro_update / macro_delete     settings writes (audited)

A macro's actions are the field, tag and assignment actions of tickets.automation.rules
(MACRO_ACTIONS; nothing that notifies, calls out or escalates). They are the agent's own
changes: written through tickets.services.ticket_update with the agent as actor and the reason
"macro: <name>" on every event, so they start an "updated" automation run like any edit, and
a "macro_applied" event sums the application up on the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Membership
from tickets.models import Message, Team, Ticket, TicketTag

from . import rules
from .models import Macro
from .triggers import apply_assignment, check_template, render_text

MACRO_ACTIONS = (
    "set_status",
    "set_priority",
    "set_type",
    "set_category",
    "set_topic",
    "set_team",
    "add_tags",
    "remove_tags",
    "assign_to",
    "assign_auto",
)
REPLY, NOTE = Macro.ReplyKind.REPLY, Macro.ReplyKind.NOTE


class MacroError(Exception):
    """A macro that breaks a rule, or cannot be applied; the message is shown as is."""


def _role(user: User) -> str | None:
    membership = Membership.objects.filter(user=user, is_active=True).only("role").first()
    return membership.role if membership else None


def macros_for(user: User) -> QuerySet[Macro]:
    """What `user` may apply: the shared macros and their own."""
    return Macro.objects.filter(Q(owner__isnull=True) | Q(owner=user)).order_by(
        F("owner_id").asc(nulls_first=True), "name", "id"
    )


def macro_may_edit(*, macro: Macro, user: User) -> bool:
    if macro.owner_id:
        return macro.owner_id == user.pk
    return _role(user) == Membership.Role.ADMIN


def macro_preview(*, macro: Macro, ticket: Ticket, agent: User) -> str:
    return render_text(
        macro.reply_text, ticket=ticket, agent=agent, customer=macro.reply_kind == REPLY
    )


def _clean(*, name: str, actions: Any, reply_text: str, reply_kind: str) -> dict:
    name = " ".join(str(name).split())[:100]
    if not name:
        raise MacroError(_("Give the macro a name."))
    if reply_kind not in Macro.ReplyKind.values:
        raise MacroError(_("Choose a public reply or an internal note."))
    try:
        actions = rules.validate_actions(list(actions), allowed=MACRO_ACTIONS)
        reply_text = check_template(reply_text, where=_("Reply"))
    except rules.RuleError as error:
        raise MacroError(error.messages[0]) from None
    if not actions and not reply_text:
        raise MacroError(_("A macro needs at least one action or a reply text."))
    return {"name": name, "actions": actions, "reply_text": reply_text, "reply_kind": reply_kind}


@transaction.atomic
def macro_create(
    *,
    actor: User,
    name: str,
    actions: Any = (),
    reply_text: str = "",
    reply_kind: str = REPLY,
    shared: bool = False,
) -> Macro:
    """A shared macro (administrators only) or one personal to `actor`."""
    from helpdesk.tenancy.services import audit

    role = _role(actor)
    if role is None or (shared and role != Membership.Role.ADMIN):
        raise PermissionDenied
    fields = _clean(name=name, actions=actions, reply_text=reply_text, reply_kind=reply_kind)
    macro = Macro.objects.create(owner=None if shared else actor, **fields)
    audit(
        actor=actor,
        action="macro.create",
        summary=f"Created macro “{macro.name}”",
        macro=macro.pk,
        shared=shared,
    )
    return macro


@transaction.atomic
def macro_update(
    *,
    macro: Macro,
    actor: User,
    name: str,
    actions: Any = (),
    reply_text: str = "",
    reply_kind: str = REPLY,
    shared: bool | None = None,
) -> Macro:
    """Change a macro; `shared` (administrators) shares the editor's own macro with everyone
    or makes a shared one theirs alone."""
    from helpdesk.tenancy.services import audit

    if not macro_may_edit(macro=macro, user=actor):
        raise PermissionDenied
    if shared is not None and shared != (macro.owner_id is None):
        if _role(actor) != Membership.Role.ADMIN:
            raise PermissionDenied
        macro.owner = None if shared else actor
    for key, value in _clean(
        name=name, actions=actions, reply_text=reply_text, reply_kind=reply_kind
    ).items():
        setattr(macro, key, value)
    macro.save()
    audit(
        actor=actor, action="macro.update", summary=f"Changed macro “{macro.name}”", macro=macro.pk
    )
    return macro


@transaction.atomic
def macro_delete(*, macro: Macro, actor: User) -> None:
    from helpdesk.tenancy.services import audit

    if not macro_may_edit(macro=macro, user=actor):
        raise PermissionDenied
    audit(
        actor=actor, action="macro.delete", summary=f"Deleted macro “{macro.name}”", macro=macro.pk
    )
    macro.delete()


@dataclass
class Applied:
    changed: list[str] = field(default_factory=list)
    message: Message | None = None


@transaction.atomic
def macro_apply(
    *,
    macro: Macro,
    ticket: Ticket,
    actor: User,
    body: str | None = None,
    kind: str | None = None,
    set_status: str | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> Applied:
    """Apply the macro's actions, then post the message: `body` (the composer's text, after a
    preview the agent may have edited) as `kind`, or the macro's own reply when `body` is None
    ("apply now"). An empty body posts nothing. Raises MacroError (nothing is kept)."""
    from tickets import services

    if not macros_for(actor).filter(pk=macro.pk).exists():
        raise PermissionDenied
    if ticket.merged_into_id:
        raise MacroError(
            _("This ticket was merged: apply the macro on #%(n)s instead.")
            % {"n": ticket.merged_into.number}
        )
    reason = f"macro: {macro.name}"[:300]
    result = Applied()
    # As saved (a team or agent gone since is skipped by _write, not an error now).
    plan = rules.plan_actions([a for a in macro.actions if a.get("action") in MACRO_ACTIONS])
    try:
        result.changed = _write(ticket, plan, actor=actor, reason=reason)
        if body is None:
            body, kind = macro_preview(macro=macro, ticket=ticket, agent=actor), macro.reply_kind
        kind = kind or macro.reply_kind
        if body.strip() or attachments:
            if kind == NOTE:
                result.message = services.ticket_add_note(
                    ticket=ticket, author=actor, body_text=body, attachments=attachments
                )
                if set_status:
                    services.ticket_update(
                        ticket=ticket, actor=actor, status=set_status, reason=reason
                    )
            else:
                result.message = services.ticket_reply(
                    ticket=ticket,
                    author=actor,
                    body_text=body,
                    attachments=attachments,
                    set_status=set_status or None,
                )
        elif set_status:
            services.ticket_update(ticket=ticket, actor=actor, status=set_status, reason=reason)
    except services.TicketError as error:
        raise MacroError(str(error)) from error
    services.event(
        ticket=ticket,
        kind="macro_applied",
        actor=actor,
        reason=reason,
        macro=macro.pk,
        name=macro.name,
        actions=macro.actions,
        message_id=result.message.pk if result.message else None,
    )
    Macro.objects.filter(pk=macro.pk).update(uses=F("uses") + 1)
    return result


def _write(ticket: Ticket, plan: rules.Applied, *, actor: User, reason: str) -> list[str]:
    """The macro's field changes as the agent's own edit (one "updated" job), then its tags."""
    from tickets import services

    changes: dict[str, Any] = dict(plan.changes)
    if "team" in changes:
        changes["team"] = Team.objects.filter(pk=changes["team"]).first()
        if changes["team"] is None:
            del changes["team"]  # deleted since the macro was saved
    if plan.assign_to is not None:
        user = User.objects.filter(pk=plan.assign_to).first()
        if user is not None and Membership.objects.filter(user=user, is_active=True).exists():
            changes["assignee"] = user
            if ticket.status == Ticket.Status.NEW and "status" not in changes:
                changes["status"] = Ticket.Status.OPEN
    changed = (
        services.ticket_update(ticket=ticket, actor=actor, reason=reason, **changes)
        if changes
        else []
    )
    if plan.assign_auto:
        apply_assignment(ticket, rules.Applied(assign_auto=True), reason=reason)
    if plan.tags_added:
        had = set(TicketTag.objects.filter(ticket=ticket).values_list("tag__name", flat=True))
        added = [name for name in services._add_tags(ticket, plan.tags_added) if name not in had]
        if added:
            services.event(
                ticket=ticket,
                kind="tags",
                actor=actor,
                reason=reason,
                added=sorted(added),
                removed=[],
            )
    if plan.tags_removed:
        gone = TicketTag.objects.filter(ticket=ticket, tag__name__in=plan.tags_removed)
        names = sorted(gone.values_list("tag__name", flat=True))
        if names:
            gone.delete()
            services.event(
                ticket=ticket, kind="tags", actor=actor, reason=reason, added=[], removed=names
            )
    return changed

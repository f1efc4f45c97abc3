"""Writes for the ticket settings: canned responses (预制回复), teams and their members, custom
fields. Every change writes an AuditEvent (helpdesk.tenancy.services.audit).

Who may do what is checked here too, not only by the views: shared canned responses belong to
administrators, a personal one to its owner alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.services import audit

from .models import CannedResponse, CustomField, Team, TeamMember

MAX_SKILLS = 30
MAX_CHOICES = 100
KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,48}[a-z0-9])?$")


class AdminError(Exception):
    """A settings change that breaks a rule; the message is shown to the user as is."""


def _is_admin(user: User) -> bool:
    return Membership.objects.filter(user=user, is_active=True, role=Membership.Role.ADMIN).exists()


def _is_staff(user: User) -> bool:
    return Membership.objects.filter(user=user, is_active=True).exists()


def clean_list(values: Iterable[str], *, limit: int, max_length: int, lower: bool) -> list[str]:
    """Trimmed, de-duplicated (keeping order), non-empty values."""
    out: dict[str, str] = {}
    for raw in values:
        value = " ".join(str(raw).split())[:max_length]
        value = value.lower() if lower else value
        if value and value.lower() not in out:
            out[value.lower()] = value
    return list(out.values())[:limit]


# --- Canned responses -----------------------------------------------------------------------


def canned_may_edit(*, canned: CannedResponse, user: User) -> bool:
    return canned.owner_id == user.pk if canned.owner_id else _is_admin(user)


def _check_canned(*, title: str, body: str, language: str) -> tuple[str, str, str]:
    title, body = " ".join(title.split())[:120], body.strip()
    if not title or not body:
        raise AdminError(_("A canned response needs a title and a text."))
    if language and language not in dict(settings.LANGUAGES):
        raise AdminError(_("Choose a valid language."))
    return title, body, language


@transaction.atomic
def canned_create(
    *, actor: User, title: str, body: str, language: str = "", shared: bool
) -> CannedResponse:
    """A shared response (administrators only) or one personal to `actor`."""
    if shared and not _is_admin(actor):
        raise PermissionDenied
    if not shared and not _is_staff(actor):
        raise PermissionDenied
    title, body, language = _check_canned(title=title, body=body, language=language)
    canned = CannedResponse.objects.create(
        title=title, body=body, language=language, owner=None if shared else actor
    )
    audit(
        actor=actor,
        action="canned.created",
        summary=f"Canned response “{title}” ({'shared' if shared else 'personal'}) created",
        canned=canned.pk,
    )
    return canned


@transaction.atomic
def canned_update(
    *,
    canned: CannedResponse,
    actor: User,
    title: str,
    body: str,
    language: str = "",
    shared: bool | None = None,
) -> CannedResponse:
    """Edit; `shared` (None = unchanged) moves a response between shared and personal, which
    only an administrator may do."""
    if not canned_may_edit(canned=canned, user=actor):
        raise PermissionDenied
    title, body, language = _check_canned(title=title, body=body, language=language)
    owner_id = canned.owner_id
    if shared is not None and shared != (canned.owner_id is None):
        if not _is_admin(actor):
            raise PermissionDenied
        owner_id = None if shared else actor.pk
    changes = {"title": title, "body": body, "language": language, "owner_id": owner_id}
    changed = [f for f, v in changes.items() if getattr(canned, f) != v]
    if not changed:
        return canned
    for field in changed:
        setattr(canned, field, changes[field])
    canned.save(
        update_fields=[("owner" if f == "owner_id" else f) for f in changed] + ["updated_at"]
    )
    audit(
        actor=actor,
        action="canned.updated",
        summary=f"Canned response “{canned.title}” changed: {', '.join(changed)}"[:300],
        canned=canned.pk,
        fields=changed,
    )
    return canned


@transaction.atomic
def canned_delete(*, canned: CannedResponse, actor: User) -> None:
    if not canned_may_edit(canned=canned, user=actor):
        raise PermissionDenied
    audit(
        actor=actor,
        action="canned.deleted",
        summary=f"Canned response “{canned.title}” deleted"[:300],
        canned=canned.pk,
    )
    canned.delete()


# --- Teams ----------------------------------------------------------------------------------


def _check_team(
    *, name: str, tier: int, skills: Iterable[str], description: str, assignment: str, team=None
):
    name = " ".join(name.split())[:100]
    if not name:
        raise AdminError(_("A team needs a name."))
    if tier not in Team.Tier.values:
        raise AdminError(_("Choose tier 1, 2 or 3."))
    if assignment not in Team.Assignment.values:
        raise AdminError(_("Choose how the team's tickets are assigned."))
    clash = Team.objects.filter(name__iexact=name)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise AdminError(_("There is already a team called “%(name)s”.") % {"name": name})
    return {
        "name": name,
        "tier": tier,
        "skills": clean_list(skills, limit=MAX_SKILLS, max_length=40, lower=True),
        "description": " ".join(description.split())[:300],
        "assignment": assignment,
    }


@transaction.atomic
def team_create(
    *,
    actor: User,
    name: str,
    tier: int = 1,
    skills: Iterable[str] = (),
    description: str = "",
    assignment: str = "",
) -> Team:
    values = _check_team(name=name, tier=tier, skills=skills, description=description,
                         assignment=assignment or Team.Assignment.MANUAL)  # fmt: skip
    try:
        with transaction.atomic():
            team = Team.objects.create(**values)
    except IntegrityError as error:  # created concurrently under the same name
        raise AdminError(_("There is already a team called “%(name)s”.") % values) from error
    audit(
        actor=actor,
        action="team.created",
        summary=f"Team “{team.name}” (tier {team.tier}) created"[:300],
        team=team.pk,
    )
    return team


@transaction.atomic
def team_update(
    *,
    team: Team,
    actor: User,
    name: str,
    tier: int,
    skills: Iterable[str] = (),
    description: str = "",
    assignment: str = "",
) -> Team:
    values = _check_team(name=name, tier=tier, skills=skills, description=description,
                         assignment=assignment or team.assignment, team=team)  # fmt: skip
    changed = [f for f, v in values.items() if getattr(team, f) != v]
    if not changed:
        return team
    for field in changed:
        setattr(team, field, values[field])
    try:
        with transaction.atomic():
            team.save(update_fields=changed)
    except IntegrityError as error:
        raise AdminError(_("There is already a team called “%(name)s”.") % values) from error
    audit(
        actor=actor,
        action="team.updated",
        summary=f"Team “{team.name}” changed: {', '.join(changed)}"[:300],
        team=team.pk,
        fields=changed,
    )
    return team


@transaction.atomic
def team_add_member(
    *, team: Team, user: User, actor: User, skills: Iterable[str] = ()
) -> TeamMember:
    """Only active staff of this tenant can join a team."""
    if not _is_staff(user):
        raise AdminError(_("Only staff members of this help desk can join a team."))
    if TeamMember.objects.filter(team=team, user=user).exists():
        raise AdminError(
            _("%(name)s is already in %(team)s.")
            % {"name": user.get_full_name() or user.email, "team": team.name}
        )
    member = TeamMember.objects.create(
        team=team, user=user, skills=clean_list(skills, limit=MAX_SKILLS, max_length=40, lower=True)
    )
    audit(
        actor=actor,
        action="team.member_added",
        summary=f"{user.email} added to team “{team.name}”"[:300],
        team=team.pk,
        user=user.pk,
    )
    return member


@transaction.atomic
def team_remove_member(*, member: TeamMember, actor: User) -> None:
    audit(
        actor=actor,
        action="team.member_removed",
        summary=f"{member.user.email} removed from team “{member.team.name}”"[:300],
        team=member.team_id,
        user=member.user_id,
    )
    member.delete()


# --- Custom fields --------------------------------------------------------------------------


def _check_field(*, label: str, kind: str, choices: Iterable[str], position: int) -> dict:
    label = " ".join(label.split())[:100]
    if not label:
        raise AdminError(_("A custom field needs a label."))
    if kind not in CustomField.Kind.values:
        raise AdminError(_("Choose a valid kind of field."))
    cleaned = clean_list(choices, limit=MAX_CHOICES, max_length=100, lower=False)
    if kind == CustomField.Kind.CHOICE and not cleaned:
        raise AdminError(_("A drop-down needs at least one choice."))
    return {
        "label": label,
        "kind": kind,
        "choices": cleaned if kind == CustomField.Kind.CHOICE else [],
        "position": max(0, min(int(position or 0), 32767)),
    }


@transaction.atomic
def custom_field_create(
    *,
    actor: User,
    key: str,
    label: str,
    kind: str = CustomField.Kind.TEXT,
    choices: Iterable[str] = (),
    position: int = 0,
) -> CustomField:
    """The key names the value in every ticket's custom fields, so it cannot change later."""
    key = key.strip().lower()
    if not KEY_RE.match(key):
        raise AdminError(
            _("Use 1–50 lowercase letters, digits, hyphens or underscores for the key.")
        )
    values = _check_field(label=label, kind=kind, choices=choices, position=position)
    if CustomField.objects.filter(key=key).exists():
        raise AdminError(_("There is already a field with the key “%(key)s”.") % {"key": key})
    try:
        with transaction.atomic():
            field = CustomField.objects.create(key=key, **values)
    except IntegrityError as error:
        raise AdminError(
            _("There is already a field with the key “%(key)s”.") % {"key": key}
        ) from error
    audit(
        actor=actor,
        action="custom_field.created",
        summary=f"Custom field “{field.label}” ({field.key}, {field.kind}) created"[:300],
        field=field.pk,
    )
    return field


@transaction.atomic
def custom_field_update(
    *,
    field: CustomField,
    actor: User,
    label: str,
    kind: str,
    choices: Iterable[str] = (),
    position: int = 0,
) -> CustomField:
    values = _check_field(label=label, kind=kind, choices=choices, position=position)
    changed = [f for f, v in values.items() if getattr(field, f) != v]
    if not changed:
        return field
    for name in changed:
        setattr(field, name, values[name])
    field.save(update_fields=changed)
    audit(
        actor=actor,
        action="custom_field.updated",
        summary=f"Custom field “{field.label}” ({field.key}) changed: {', '.join(changed)}"[:300],
        field=field.pk,
        fields=changed,
    )
    return field

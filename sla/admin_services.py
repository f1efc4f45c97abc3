"""Settings › SLA policies and Business calendars: the writes, each audited in its transaction.

    policy_save / policy_set_active / policy_move / policy_delete
    calendar_save / calendar_set_default / calendar_delete
    calendar_date_add / calendar_date_delete       through sla.services, which bumps the
                                                   calendar's updated_at (the cache key)

A policy change applies to new tickets, and to open tickets the next time one of the fields a
policy looks at changes (sla.timers.recompute); stored deadlines are not rewritten here.
"""

from __future__ import annotations

from datetime import date as Date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.lib import ordering
from helpdesk.tenancy.services import audit

from . import services
from .models import BusinessCalendar, CalendarDate, SLAPolicy
from .policies import TARGETS, ConditionError, validate_conditions, validate_per_priority

POLICY_FIELDS = ("name", "is_active", "match", "conditions", "calendar", "business_hours",
                 "first_response_minutes", "next_response_minutes", "resolution_minutes",
                 "per_priority")  # fmt: skip
CALENDAR_FIELDS = ("name", "timezone", "always_open", "weekly_hours", "holiday_country")


class SettingsError(Exception):
    """A setting that breaks a rule; the message is shown to the administrator as is."""


def _name(value: Any) -> str:
    return " ".join(str(value or "").split())[:100]


def _first_error(error: ValidationError) -> str:
    messages = error.messages
    return messages[0] if messages else str(error)


# --- Policies ----------------------------------------------------------------------------------


def clean_policy(**fields: Any) -> dict[str, Any]:
    """The fields of a policy, checked the way the model's validators check them."""
    fields["name"] = _name(fields.get("name"))
    if not fields["name"]:
        raise SettingsError(_("Give the policy a name."))
    if fields.get("match") not in {"all", "any"}:
        raise SettingsError(_("Choose whether all or any condition must match."))
    try:
        fields["conditions"] = validate_conditions(list(fields.get("conditions") or []))
        fields["per_priority"] = validate_per_priority(dict(fields.get("per_priority") or {}))
    except ConditionError as error:
        raise SettingsError(str(error)) from None
    for kind in TARGETS:
        minutes = fields.get(f"{kind}_minutes")
        if minutes is not None and (not isinstance(minutes, int) or minutes <= 0):
            raise SettingsError(_("Targets are whole minutes above zero."))
    calendar = fields.get("calendar")
    if calendar is not None and not BusinessCalendar.objects.filter(pk=calendar.pk).exists():
        raise SettingsError(_("That calendar does not exist."))
    fields["is_active"] = bool(fields.get("is_active", True))
    fields["business_hours"] = bool(fields.get("business_hours", True))
    return {key: fields.get(key) for key in POLICY_FIELDS}


def _name_taken(model: type[SLAPolicy] | type[BusinessCalendar], name: str, pk: int | None) -> bool:
    return model.objects.filter(name__iexact=name).exclude(pk=pk).exists()


@transaction.atomic
def policy_save(*, actor: User, policy: SLAPolicy | None = None, **fields: Any) -> SLAPolicy:
    """Create (`policy` None; it goes last) or change an SLA policy."""
    cleaned = clean_policy(**fields)
    if _name_taken(SLAPolicy, cleaned["name"], policy.pk if policy else None):
        raise SettingsError(_("There is already a policy called “%(name)s”.") % cleaned)
    if policy is None:
        last = SLAPolicy.objects.aggregate(n=Max("position"))["n"]
        policy = SLAPolicy.objects.create(position=(last or 0) + 1, **cleaned)
        audit(actor=actor, action="sla_policy.create",
              summary=f"Created SLA policy “{policy.name}”"[:300], policy=policy.pk)  # fmt: skip
        return policy
    changed = [key for key, value in cleaned.items() if getattr(policy, key) != value]
    if not changed:
        return policy
    for key in changed:
        setattr(policy, key, cleaned[key])
    policy.save(update_fields=[*changed, "updated_at"])
    audit(actor=actor, action="sla_policy.update",
          summary=f"Changed SLA policy “{policy.name}”: {', '.join(changed)}"[:300],
          policy=policy.pk, fields=changed)  # fmt: skip
    return policy


def policy_set_active(*, policy: SLAPolicy, actor: User, active: bool) -> None:
    ordering.set_active(policy, actor=actor, active=active, action="sla_policy")


def policy_move(*, policy: SLAPolicy, actor: User, direction: str) -> bool:
    """One place up or down; positions become 1, 2, 3 … in the new order. False at an end."""
    return ordering.move(policy, actor=actor, direction=direction, action="sla_policy")


def policy_delete(*, policy: SLAPolicy, actor: User) -> None:
    """Running clocks keep their deadlines and the policy's name (SLATimer.policy_name)."""
    ordering.delete(policy, actor=actor, action="sla_policy")


# --- Calendars ---------------------------------------------------------------------------------


def _clean_calendar(calendar: BusinessCalendar) -> None:
    try:
        calendar.full_clean(exclude=["tenant", "is_default"], validate_constraints=False)
    except ValidationError as error:
        first = next(iter(error.message_dict.values()), [str(error)])
        raise SettingsError(first[0]) from None


@transaction.atomic
def calendar_save(
    *, actor: User, calendar: BusinessCalendar | None = None, make_default: bool = False,
    **fields: Any,
) -> BusinessCalendar:  # fmt: skip
    """Create or change a business calendar; `make_default` moves the default flag to it."""
    fields = {key: fields[key] for key in CALENDAR_FIELDS if key in fields}
    fields["name"] = _name(fields.get("name"))
    if not fields["name"]:
        raise SettingsError(_("Give the calendar a name."))
    if _name_taken(BusinessCalendar, fields["name"], calendar.pk if calendar else None):
        raise SettingsError(_("There is already a calendar called “%(name)s”.") % fields)
    creating = calendar is None
    target = calendar or BusinessCalendar()
    changed = [key for key, value in fields.items() if getattr(target, key) != value]
    for key in changed:
        setattr(target, key, fields[key])
    _clean_calendar(target)
    if creating:
        target.save()
        audit(actor=actor, action="sla_calendar.create",
              summary=f"Created business calendar “{target.name}”"[:300],
              calendar=target.pk)  # fmt: skip
    elif changed:
        target.save(update_fields=[*changed, "updated_at"])  # updated_at: the cache key
        audit(actor=actor, action="sla_calendar.update",
              summary=f"Changed business calendar “{target.name}”: {', '.join(changed)}"[:300],
              calendar=target.pk, fields=changed)  # fmt: skip
    if make_default and not target.is_default:
        calendar_set_default(calendar=target, actor=actor)
    return target


@transaction.atomic
def calendar_set_default(*, calendar: BusinessCalendar, actor: User) -> BusinessCalendar:
    if calendar.is_default:
        return calendar
    services.calendar_make_default(calendar=calendar)
    audit(actor=actor, action="sla_calendar.default",
          summary=f"Made “{calendar.name}” the default business calendar"[:300],
          calendar=calendar.pk)  # fmt: skip
    return calendar


def calendar_users(calendar: BusinessCalendar) -> list[str]:
    """Names of the policies that count on this calendar by name (the FK is PROTECT)."""
    return list(SLAPolicy.objects.filter(calendar=calendar).order_by("position", "id")
                .values_list("name", flat=True)[:20])  # fmt: skip


def calendar_in_use_message(names: list[str]) -> str:
    return _("It is the calendar of %(policies)s. Give those policies another calendar "
             "first.") % {"policies": "、".join(f"“{n}”" for n in names)}  # fmt: skip


@transaction.atomic
def calendar_delete(*, calendar: BusinessCalendar, actor: User) -> None:
    """Refused, with the policies named, while a policy uses the calendar."""
    names = calendar_users(calendar)
    if names:
        raise SettingsError(calendar_in_use_message(names))
    audit(actor=actor, action="sla_calendar.delete",
          summary=f"Deleted business calendar “{calendar.name}”"[:300],
          calendar=calendar.pk)  # fmt: skip
    try:
        with transaction.atomic():
            calendar.delete()
    except ProtectedError:  # a policy took it in the meantime
        raise SettingsError(calendar_in_use_message(calendar_users(calendar))) from None


# --- Dates of a calendar -------------------------------------------------------------------------


@transaction.atomic
def calendar_date_add(
    *, actor: User, calendar: BusinessCalendar, date: Date, kind: str,
    hours: list | None = None, name: str = "",
) -> CalendarDate:  # fmt: skip
    """Close, open or give special hours to one date (replacing what was set on it)."""
    if kind not in CalendarDate.Kind.values:
        raise SettingsError(_("Choose what happens on that date."))
    if kind == CalendarDate.Kind.HOURS and not hours:
        raise SettingsError(_("Give the hours of that day, e.g. 10:00-14:00."))
    try:
        with transaction.atomic():
            row = services.calendar_date_set(calendar=calendar, date=date, kind=kind,
                                             hours=hours, name=_name(name))  # fmt: skip
    except ValidationError as error:
        raise SettingsError(_first_error(error)) from None
    except IntegrityError:  # someone else set that date in the same instant
        raise SettingsError(_("That date was just changed by someone else; try again.")) from None
    audit(actor=actor, action="sla_calendar.date_set",
          summary=f"Set {date.isoformat()} on “{calendar.name}” to {kind}"[:300],
          calendar=calendar.pk, date=date.isoformat(), kind=kind)  # fmt: skip
    return row


@transaction.atomic
def calendar_date_delete(*, actor: User, calendar: BusinessCalendar, row: CalendarDate) -> bool:
    removed = services.calendar_date_remove(calendar=calendar, date=row.date)
    if removed:
        audit(actor=actor, action="sla_calendar.date_remove",
              summary=f"Removed {row.date.isoformat()} from “{calendar.name}”"[:300],
              calendar=calendar.pk, date=row.date.isoformat())  # fmt: skip
    return removed

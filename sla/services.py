"""Writes for SLA configuration that the calendar cache must see.

A built calendar is cached per (calendar id, updated_at) (sla.selectors): a change to one of
its dates bumps the calendar's updated_at in the same transaction, so every process builds it
afresh on its next use.
"""

from __future__ import annotations

from datetime import date as Date

from django.db import transaction

from .models import BusinessCalendar, CalendarDate


def _touch(calendar: BusinessCalendar) -> None:
    calendar.save(update_fields=["updated_at"])


@transaction.atomic
def calendar_date_set(
    *,
    calendar: BusinessCalendar,
    date: Date,
    kind: str,
    hours: list | None = None,
    name: str = "",
) -> CalendarDate:
    """Close, open or set special hours on one date of a calendar (replacing what was there)."""
    row = CalendarDate.objects.filter(calendar=calendar, date=date).first() or CalendarDate(
        calendar=calendar, date=date
    )
    row.kind, row.name = kind, name
    row.hours = list(hours or []) if kind == CalendarDate.Kind.HOURS else []
    row.full_clean(exclude=["tenant"])
    row.save()
    _touch(calendar)
    return row


@transaction.atomic
def calendar_date_remove(*, calendar: BusinessCalendar, date: Date) -> bool:
    deleted, _ = CalendarDate.objects.filter(calendar=calendar, date=date).delete()
    if deleted:
        _touch(calendar)
    return bool(deleted)


@transaction.atomic
def calendar_make_default(*, calendar: BusinessCalendar) -> BusinessCalendar:
    """Make this the tenant's default calendar (the previous default stops being one)."""
    BusinessCalendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(
        is_default=False
    )
    if not calendar.is_default:
        calendar.is_default = True
        calendar.save(update_fields=["is_default", "updated_at"])
    return calendar

"""Factories for SLA configuration, created inside their tenant's context (pass `tenant=`)."""

from __future__ import annotations

import factory

from sla.models import BusinessCalendar, SLAPolicy
from tests.factories import TenantOwnedFactory

SPLIT = [["09:00", "12:00"], ["13:00", "18:00"]]
OFFICE_HOURS = {"mon": SPLIT, "tue": SPLIT, "wed": SPLIT, "thu": SPLIT, "fri": SPLIT,
                "sat": [], "sun": []}  # fmt: skip


class BusinessCalendarFactory(TenantOwnedFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Office {n}")
    timezone = "Asia/Shanghai"
    weekly_hours = factory.LazyFunction(lambda: dict(OFFICE_HOURS))
    holiday_country = ""
    is_default = False


class SLAPolicyFactory(TenantOwnedFactory):
    class Meta:
        model = SLAPolicy

    name = factory.Sequence(lambda n: f"Policy {n}")
    # Grows over the whole session: a test that wants a policy last gives it a position
    # far beyond (100_000), one that wants it first gives it 1.
    position = factory.Sequence(lambda n: n)
    conditions = factory.LazyFunction(list)
    first_response_minutes = 120
    next_response_minutes = 240
    resolution_minutes = 1440

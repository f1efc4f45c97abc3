"""Calendar models on real Postgres: building the Calendar, the country's dates, the tenant's own
dates on top, the in-process cache, one default per tenant, validation, isolation."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from helpdesk.tenancy.context import tenant_context
from sla import calendar as calmath
from sla.models import BusinessCalendar, CalendarDate, SLAPolicy
from sla.policies import default_calendar
from sla.selectors import calendar_for, opening_hours_for
from sla.services import calendar_date_remove, calendar_date_set, calendar_make_default
from tests.sla.factories import BusinessCalendarFactory, SLAPolicyFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEARS = (2025, 2026)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def china(tenant_a):
    return BusinessCalendarFactory(tenant=tenant_a, holiday_country="CN", is_default=True)


def test_built_from_the_model_with_chinas_dates(tenant_a, china):
    with tenant_context(tenant_a):
        cal = calendar_for(china, years=YEARS)
    assert cal.tz == SHANGHAI
    assert not calmath.is_open(cal, at(2025, 1, 29, 10, 0))  # 春节
    assert calmath.is_open(cal, at(2025, 1, 26, 10, 0))  # 调休 Sunday
    due = calmath.add_business_time(cal, at(2025, 1, 24, 17, 0), 24 * 60)
    assert due == at(2025, 2, 5, 17, 0)


def test_tenant_dates_win_over_weekly_hours_and_the_country(tenant_a, china):
    with tenant_context(tenant_a):
        # A company party on an ordinary Wednesday; the 调休 Sunday not worked here; the last
        # day of the Spring Festival worked; short hours on Christmas Eve; a Saturday worked.
        calendar_date_set(calendar=china, date=date(2025, 3, 12), kind="holiday", name="Party")
        calendar_date_set(calendar=china, date=date(2025, 1, 26), kind="holiday")
        calendar_date_set(calendar=china, date=date(2025, 2, 4), kind="workday")
        calendar_date_set(
            calendar=china, date=date(2025, 12, 24), kind="hours", hours=[["09:00", "11:00"]]
        )
        calendar_date_set(calendar=china, date=date(2025, 3, 15), kind="workday")
        cal = calendar_for(china, years=YEARS)
    assert not calmath.is_open(cal, at(2025, 3, 12, 10, 0))
    assert not calmath.is_open(cal, at(2025, 1, 26, 10, 0))
    assert calmath.is_open(cal, at(2025, 2, 4, 10, 0))
    assert calmath.is_open(cal, at(2025, 12, 24, 10, 30))
    assert not calmath.is_open(cal, at(2025, 12, 24, 11, 30))
    assert calmath.is_open(cal, at(2025, 3, 15, 13, 30))  # Monday's hours on a Saturday
    assert not calmath.is_open(cal, at(2025, 3, 15, 12, 30))


def test_the_cache_keeps_one_build_per_version(tenant_a, china):
    with tenant_context(tenant_a):
        first = calendar_for(china, years=YEARS)
        assert calendar_for(china, years=YEARS) is first
        assert calendar_for(BusinessCalendar.objects.get(pk=china.pk), years=YEARS) is first
        calendar_date_set(calendar=china, date=date(2025, 3, 12), kind="holiday")
        china.refresh_from_db()
        second = calendar_for(china, years=YEARS)
        assert second is not first
        assert not calmath.is_open(second, at(2025, 3, 12, 10, 0))
        assert calendar_date_remove(calendar=china, date=date(2025, 3, 12))
        china.refresh_from_db()
        assert calmath.is_open(calendar_for(china, years=YEARS), at(2025, 3, 12, 10, 0))


def test_building_and_computing_one_ticket_is_fast(tenant_a, china):
    import time

    with tenant_context(tenant_a):
        calendar_for(china)  # built once (holidays loaded, rows read)
        began = time.perf_counter()
        for _ in range(100):
            cal = calendar_for(china)
            calmath.add_business_time(cal, at(2026, 12, 4, 17, 0), 480)
        assert (time.perf_counter() - began) / 100 < 0.005


def test_always_open_calendar_and_24_7_policies(tenant_a):
    with tenant_context(tenant_a):
        always = BusinessCalendarFactory(
            tenant=tenant_a, timezone="Europe/Berlin", always_open=True
        )
        cal = calendar_for(always)
        saturday_3am = datetime(2026, 12, 5, 3, 0, tzinfo=ZoneInfo("Europe/Berlin"))
        assert calmath.is_open(cal, saturday_3am)
        clock = SLAPolicyFactory(tenant=tenant_a, calendar=None, business_hours=False)
        assert calendar_for(clock) is calmath.ALWAYS_OPEN
        # Without any calendar a business-hours policy runs 24/7 too, and has no opening hours.
        business = SLAPolicyFactory(tenant=tenant_a, calendar=None)
        assert calendar_for(business) is calmath.ALWAYS_OPEN
        assert opening_hours_for(business) is None


def test_policy_uses_its_calendar_or_the_default(tenant_a, china):
    with tenant_context(tenant_a):
        night = BusinessCalendarFactory(tenant=tenant_a, weekly_hours={"mon": [["22:00", "06:00"]]})
        own = SLAPolicyFactory(tenant=tenant_a, calendar=night)
        default = SLAPolicyFactory(tenant=tenant_a, calendar=None)
        assert calendar_for(own).name == night.name
        assert calendar_for(default).name == china.name
        # A policy in calendar time still knows the team's hours (for "closed until …").
        clock = SLAPolicyFactory(tenant=tenant_a, calendar=None, business_hours=False)
        assert opening_hours_for(clock).name == china.name


def test_one_default_calendar_per_tenant(tenant_a, tenant_b, china):
    BusinessCalendarFactory(tenant=tenant_b, is_default=True)  # another tenant: fine
    with tenant_context(tenant_a), pytest.raises(IntegrityError), transaction.atomic():
        BusinessCalendarFactory(tenant=tenant_a, is_default=True)
    with tenant_context(tenant_a):
        other = BusinessCalendarFactory(tenant=tenant_a)
        calendar_make_default(calendar=other)
        assert default_calendar() == other
        china.refresh_from_db()
        assert not china.is_default


def test_one_row_per_calendar_date(tenant_a, china):
    with tenant_context(tenant_a):
        calendar_date_set(calendar=china, date=date(2026, 3, 12), kind="holiday")
        calendar_date_set(calendar=china, date=date(2026, 3, 12), kind="workday", name="Moved")
        assert CalendarDate.objects.get(calendar=china, date=date(2026, 3, 12)).kind == "workday"
        with pytest.raises(IntegrityError), transaction.atomic():
            CalendarDate.objects.create(calendar=china, date=date(2026, 3, 12))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("weekly_hours", {"mon": [["09:00", "12:00"], ["11:00", "18:00"]]}, "overlap"),
        ("weekly_hours", {"monday": []}, "Unknown day"),
        ("weekly_hours", ["09:00"], "map days"),
        ("timezone", "Asia/Peking", "time zone"),
        ("holiday_country", "XX", "country"),
    ],
)
def test_calendar_validation(tenant_a, field, value, message):
    with tenant_context(tenant_a):
        model = BusinessCalendar(name="Bad", **{field: value})
        with pytest.raises(ValidationError, match=message):
            model.full_clean(exclude=["tenant"])


def test_custom_hours_are_validated(tenant_a, china):
    with tenant_context(tenant_a), pytest.raises(ValidationError, match="time like"):
        calendar_date_set(calendar=china, date=date(2026, 3, 12), kind="hours", hours=[["9", "1"]])


def test_calendars_of_another_tenant_are_invisible(tenant_a, tenant_b, china):
    theirs = BusinessCalendarFactory(tenant=tenant_b, is_default=True, name="Theirs")
    with tenant_context(tenant_b):
        assert default_calendar() == theirs
        assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Theirs"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sla_businesscalendar")
            assert cursor.fetchone()[0] == 1  # row-level security, under the manager


def test_a_policy_cannot_point_at_another_tenants_calendar(tenant_a, tenant_b):
    theirs = BusinessCalendarFactory(tenant=tenant_b)
    with tenant_context(tenant_a), pytest.raises(IntegrityError), transaction.atomic():
        SLAPolicy.objects.create(name="Sneaky", calendar_id=theirs.pk)
        with connection.cursor() as cursor:  # the composite key is checked at commit
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

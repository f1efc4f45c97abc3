"""Settings › Business calendars: weekly hours typed as text (split shifts, overnight, closed
days) with the error next to its day, time zone and holiday country checked, one default,
dates through sla.services (the built calendar sees them at once), the country's official
dates shown, a calendar in use refused with the policies named, and who may see what."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from helpdesk.lib import clock
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEvent
from sla import calendar as calmath
from sla.forms import parse_hours_text
from sla.models import BusinessCalendar, CalendarDate
from sla.selectors import calendar_for
from tests.helpers import sign_in
from tests.sla.factories import BusinessCalendarFactory, SLAPolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, tenant_a, admin):
    return sign_in(client, admin, tenant_a)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def week(**days) -> dict:
    hours = {f"hours_{d}": "09:00-12:00, 13:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    hours.update({"hours_sat": "", "hours_sun": ""})
    hours.update({f"hours_{k}": v for k, v in days.items()})
    return hours


def calendar_form(**extra) -> dict:
    return {"name": "Beijing office", "timezone": "Asia/Shanghai", "holiday_country": "CN",
            **week(), **extra}  # fmt: skip


def test_the_hours_text_is_read_generously_and_checked():
    assert parse_hours_text("09:00-12:00, 13:00-18:00") == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert parse_hours_text("9:00 – 12:00，13:00～18:00") == [
        ["09:00", "12:00"],
        ["13:00", "18:00"],
    ]
    assert parse_hours_text("22:00-06:00") == [["22:00", "06:00"]]
    assert parse_hours_text("00:00-24:00") == [["00:00", "24:00"]]
    assert parse_hours_text("  ") == []
    bad = [("9-5", "not a time"), ("09:00-25:00", "not a time"), ("09:00", "not a time range"),
           ("09:00-12:00, 11:00-13:00", "overlap"), ("24:00-02:00", "cannot start at 24:00"),
           ("00:00-00:00", "whole day")]  # fmt: skip
    for text, message in bad:
        with pytest.raises(Exception, match=message):
            parse_hours_text(text)


def test_a_calendar_is_created_from_text_hours_and_the_page_goes_on_to_its_dates(
    admin_client, tenant_a
):
    page = admin_client.get("/settings/sla/calendars/new/").content.decode()
    assert page.index('value="Asia/Shanghai"') < page.index('value="Europe/London"')
    countries = page[page.index('name="holiday_country"') :]
    assert countries.index('value="CN"') < countries.index('value="GB"') < countries.index('"FR"')
    data = calendar_form(hours_fri="09:00-12:00, 13:00-18:00, 22:00-06:00", is_default="on")
    response = admin_client.post("/settings/sla/calendars/new/", data)
    assert response.status_code == 302, text_of(response)[:2000]
    with tenant_context(tenant_a):
        calendar = BusinessCalendar.objects.get()
        assert response.url == f"/settings/sla/calendars/{calendar.pk}/"
        assert calendar.weekly_hours["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
        assert calendar.weekly_hours["fri"][-1] == ["22:00", "06:00"]
        assert calendar.weekly_hours["sat"] == [] and calendar.weekly_hours["sun"] == []
        assert (calendar.timezone, calendar.holiday_country, calendar.is_default) == (
            "Asia/Shanghai", "CN", True)  # fmt: skip
        assert {a.action for a in AuditEvent.objects.all()} == {"sla_calendar.create",
                                                                "sla_calendar.default"}  # fmt: skip
        # The night shift counts: Friday 23:00 Beijing is open.
        assert calmath.is_open(calendar_for(calendar), datetime(2026, 12, 4, 15, tzinfo=UTC))
    edit = text_of(admin_client.get(response.url))
    assert 'value="09:00-12:00, 13:00-18:00, 22:00-06:00"' in edit
    assert "Your own dates" in edit and "Add the date" in edit
    listing = text_of(admin_client.get("/settings/sla/calendars/"))
    assert "Beijing office" in listing and "Default" in listing and "China (mainland)" in listing
    assert "Mon–Thu 09:00-12:00, 13:00-18:00" in listing


def test_bad_hours_show_next_to_their_day_and_nothing_typed_is_lost(admin_client, tenant_a):
    data = calendar_form(hours_tue="09:00-12:00, 11:00-14:00", hours_sat="late")
    response = admin_client.post("/settings/sla/calendars/new/", data)
    assert response.status_code == 422
    page = text_of(response)
    tuesday = page.index('for="calendar-hours_tue"')
    assert page.index("These times overlap.") > tuesday
    assert page.index("These times overlap.") < page.index('for="calendar-hours_wed"')
    assert "“late” is not a time range like 09:00-18:00." in page
    assert 'value="09:00-12:00, 11:00-14:00"' in page and 'value="late"' in page
    bad_zone = admin_client.post(
        "/settings/sla/calendars/new/", calendar_form(timezone="Mars/Base")
    )
    assert bad_zone.status_code == 422 and "Select a valid choice" in text_of(bad_zone)
    bad_country = calendar_form(holiday_country="XX")
    assert admin_client.post("/settings/sla/calendars/new/", bad_country).status_code == 422
    with tenant_context(tenant_a):
        assert not BusinessCalendar.objects.exists()
    assert admin_client.post("/settings/sla/calendars/new/", calendar_form()).status_code == 302
    again = admin_client.post("/settings/sla/calendars/new/", calendar_form(name="BEIJING office"))
    assert again.status_code == 422
    assert "There is already a calendar called “BEIJING office”." in text_of(again)


def test_editing_a_calendar_changes_what_its_clocks_count(admin_client, tenant_a):
    with tenant_context(tenant_a):
        calendar = BusinessCalendarFactory(tenant=tenant_a, name="Office")
        saturday_noon = datetime(2026, 12, 5, 4, tzinfo=UTC)  # 12:00 in Shanghai
        assert not calmath.is_open(calendar_for(calendar), saturday_noon)
    data = calendar_form(name="Office", holiday_country="", hours_sat="10:00-14:00")
    assert admin_client.post(f"/settings/sla/calendars/{calendar.pk}/", data).status_code == 302
    with tenant_context(tenant_a):
        calendar.refresh_from_db()
        assert calmath.is_open(calendar_for(calendar), saturday_noon)
    data["always_open"] = "on"
    data["hours_mon"] = ""
    assert admin_client.post(f"/settings/sla/calendars/{calendar.pk}/", data).status_code == 302
    with tenant_context(tenant_a):
        calendar.refresh_from_db()
        assert calendar.always_open and calendar.weekly_hours["mon"] == []
    assert "Open 24/7" in text_of(admin_client.get("/settings/sla/calendars/"))


def test_one_default_at_a_time(admin_client, tenant_a):
    with tenant_context(tenant_a):
        first = BusinessCalendarFactory(tenant=tenant_a, name="First", is_default=True)
        second = BusinessCalendarFactory(tenant=tenant_a, name="Second")
    listing = text_of(admin_client.get("/settings/sla/calendars/"))
    assert listing.count("Make default") == 1
    response = admin_client.post(f"/settings/sla/calendars/{second.pk}/default/")
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert list(BusinessCalendar.objects.filter(is_default=True)) == [second]
        first.refresh_from_db()
        assert not first.is_default
        assert AuditEvent.objects.filter(action="sla_calendar.default").count() == 1


def test_dates_go_through_the_service_so_the_built_calendar_sees_them(admin_client, tenant_a):
    with tenant_context(tenant_a):
        calendar = BusinessCalendarFactory(tenant=tenant_a, name="Office")
        monday_10 = datetime(2026, 12, 7, 2, tzinfo=UTC)  # Monday 10:00 in Shanghai
        saturday_11 = datetime(2026, 12, 12, 3, tzinfo=UTC)
        assert calmath.is_open(calendar_for(calendar), monday_10)
    url = f"/settings/sla/calendars/{calendar.pk}/dates/"
    response = admin_client.post(url, {"date-date": "2026-12-07", "date-kind": "holiday",
                                       "date-name": "Company day"})  # fmt: skip
    assert response.status_code == 302 and response.url.endswith("#dates")
    admin_client.post(url, {"date-date": "2026-12-12", "date-kind": "workday"})
    admin_client.post(url, {"date-date": "2026-12-24", "date-kind": "hours",
                            "date-hours": "10:00-14:00"})  # fmt: skip
    with tenant_context(tenant_a):
        calendar.refresh_from_db()  # its updated_at was bumped: a new cache key
        built = calendar_for(calendar)
        assert not calmath.is_open(built, monday_10)
        assert calmath.is_open(built, saturday_11)
        rows = {r.date: r for r in CalendarDate.objects.all()}
        assert rows[date(2026, 12, 24)].hours == [["10:00", "14:00"]]
        assert rows[date(2026, 12, 7)].name == "Company day"
    page = text_of(admin_client.get(f"/settings/sla/calendars/{calendar.pk}/"))
    assert "Company day" in page and "Special hours" in page and "10:00-14:00" in page
    # Special hours need hours; the error stays with the form, nothing is written.
    response = admin_client.post(url, {"date-date": "2026-12-25", "date-kind": "hours"})
    assert response.status_code == 422
    assert "Give the hours of that day" in text_of(response)
    assert (
        admin_client.post(url, {"date-date": "someday", "date-kind": "holiday"}).status_code == 422
    )
    # Remove: the calendar is open on that Monday again.
    row = rows[date(2026, 12, 7)]
    response = admin_client.post(f"/settings/sla/calendars/{calendar.pk}/dates/{row.pk}/delete/")
    assert response.status_code == 302
    with tenant_context(tenant_a):
        calendar.refresh_from_db()
        assert calmath.is_open(calendar_for(calendar), monday_10)
        assert CalendarDate.objects.count() == 2
        assert AuditEvent.objects.filter(action="sla_calendar.date_set").count() == 3
        assert AuditEvent.objects.filter(action="sla_calendar.date_remove").count() == 1


def test_the_countrys_official_dates_are_listed_for_this_year_and_next(admin_client, tenant_a):
    with tenant_context(tenant_a):
        calendar = BusinessCalendarFactory(tenant=tenant_a, holiday_country="CN")
    page = text_of(admin_client.get(f"/settings/sla/calendars/{calendar.pk}/"))
    assert "Official dates: China (mainland)" in page
    year = clock.now().year
    assert f'datetime="{year}-10-01"' in page and f'datetime="{year + 1}-01-01"' in page
    assert f'datetime="{year - 1}-10-01"' not in page
    if year == 2026:  # the notice of 2025-11-04: Sunday 4 January worked (调休)
        assert re.search(r'datetime="2026-01-04".*?Make-up working day', page)
        # The Spring Festival break, 15–23 February, is one line.
        assert re.search(r'datetime="2026-02-15".*?datetime="2026-02-23".*?Closed 9 days.*?春节',
                         page)  # fmt: skip
    with tenant_context(tenant_a):
        plain = BusinessCalendarFactory(tenant=tenant_a, holiday_country="")
    assert "Official dates" not in text_of(admin_client.get(f"/settings/sla/calendars/{plain.pk}/"))


def test_a_calendar_in_use_cannot_be_deleted_and_says_by_whom(admin_client, tenant_a):
    with tenant_context(tenant_a):
        used = BusinessCalendarFactory(tenant=tenant_a, name="Used")
        SLAPolicyFactory(tenant=tenant_a, name="VIP", calendar=used)
        free = BusinessCalendarFactory(tenant=tenant_a, name="Free")
        CalendarDate.objects.create(calendar=free, date=date(2026, 12, 31))
    question = text_of(admin_client.get(f"/settings/sla/calendars/{used.pk}/delete/"))
    assert "It cannot be deleted now." in question and "“VIP”" in question
    assert 'type="submit" class="btn btn-danger"' not in question
    response = admin_client.post(f"/settings/sla/calendars/{used.pk}/delete/")
    assert response.status_code == 409
    assert "It is the calendar of “VIP”. Give those policies another calendar first." in text_of(
        response
    )
    with tenant_context(tenant_a):
        assert BusinessCalendar.objects.filter(pk=used.pk).exists()
    confirm = text_of(admin_client.get(f"/settings/sla/calendars/{free.pk}/delete/"))
    assert "Its dates go with it." in confirm and "Keep it" in confirm
    assert admin_client.post(f"/settings/sla/calendars/{free.pk}/delete/").status_code == 302
    with tenant_context(tenant_a):
        assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Used"]
        assert not CalendarDate.objects.exists()
        assert AuditEvent.objects.filter(action="sla_calendar.delete").count() == 1


def test_the_policy_form_offers_the_tenants_calendars(admin_client, tenant_a):
    with tenant_context(tenant_a):
        BusinessCalendarFactory(tenant=tenant_a, name="Default one", is_default=True)
        other = BusinessCalendarFactory(tenant=tenant_a, name="Night shift")
    page = text_of(admin_client.get("/settings/sla/new/"))
    assert "The default calendar (Default one)" in page and "Night shift" in page
    data = {"name": "Nights", "match": "all", "calendar": str(other.pk), "business_hours": "on",
            "first_response_h": "2"}  # fmt: skip
    assert admin_client.post("/settings/sla/new/", data).status_code == 302
    assert "Night shift" in text_of(admin_client.get("/settings/sla/"))


def test_empty_list(admin_client):
    page = text_of(admin_client.get("/settings/sla/calendars/"))
    assert "No business calendars yet" in page


def test_agents_get_403_and_other_tenants_404(client, tenant_a, tenant_b, agent, outsider):
    with tenant_context(tenant_a):
        calendar = BusinessCalendarFactory(tenant=tenant_a, name="Alpha hours")
        row = CalendarDate.objects.create(calendar=calendar, date=date(2026, 12, 31))
    c, d = calendar.pk, row.pk
    gets = [f"/settings/sla/calendars/{c}/", f"/settings/sla/calendars/{c}/delete/"]
    posts = [f"/settings/sla/calendars/{c}/", f"/settings/sla/calendars/{c}/default/",
             f"/settings/sla/calendars/{c}/delete/", f"/settings/sla/calendars/{c}/dates/",
             f"/settings/sla/calendars/{c}/dates/{d}/delete/"]  # fmt: skip
    sign_in(client, agent, tenant_a)
    for path in ["/settings/sla/calendars/", "/settings/sla/calendars/new/", *gets]:
        assert client.get(path).status_code == 403, path
    for path in posts:
        assert client.post(path).status_code == 403, path
    sign_in(client, outsider, tenant_b)  # B's own admin, with A's ids
    assert client.get("/settings/sla/calendars/").status_code == 200
    for path in gets:
        assert client.get(path).status_code == 404, path
    for path in posts:
        data = {**calendar_form(), "date-date": "2026-12-30", "date-kind": "holiday"}
        assert client.post(path, data).status_code == 404, path
    # B's own calendar with A's date id: still 404 (the date must belong to the calendar).
    with tenant_context(tenant_b):
        own = BusinessCalendarFactory(tenant=tenant_b)
    response = client.post(f"/settings/sla/calendars/{own.pk}/dates/{d}/delete/")
    assert response.status_code == 404
    with tenant_context(tenant_a):
        calendar.refresh_from_db()
        assert (calendar.name, calendar.is_default) == ("Alpha hours", False)
        assert CalendarDate.objects.count() == 1

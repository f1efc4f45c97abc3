"""Settings › SLA policies, Business calendars and the what-if preview in Chromium, in English
and Chinese, at desktop and phone width: no horizontal overflow, every control labelled,
"Preview impact" swapping its result in through htmx, and screenshots in artifacts/screens/
(sla-settings-*) to look at."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from helpdesk.lib import clock as wallclock
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from sla.models import CalendarDate, SLATimer
from tests.automation.test_classify_pages import UNLABELLED, in_browser
from tests.e2e import conftest as e2e
from tests.factories import PASSWORD, ContactFactory, MembershipFactory, TenantFactory, make_ticket
from tests.sla.factories import OFFICE_HOURS, BusinessCalendarFactory, SLAPolicyFactory
from tickets.models import Team, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS, tenant_url = e2e.ARTIFACTS, e2e.tenant_url
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture
def acme(transactional_db):
    tenant = TenantFactory(slug="acme", name="Acme Support")
    MembershipFactory(tenant=tenant, user__email="admin@acme.test", user__full_name="Ada Admin",
                      role=Membership.Role.ADMIN)  # fmt: skip
    alice = ContactFactory(tenant=tenant, email="alice@customer.test", name="Alice Walker")
    now = wallclock.now()
    with tenant_context(tenant):
        team = Team.objects.create(name="Billing 账务", tier=2)
        office = BusinessCalendarFactory(
            tenant=tenant,
            name="工作时间（北京）",
            is_default=True,
            holiday_country="CN",
            weekly_hours=dict(OFFICE_HOURS),
        )
        nights = [["22:00", "06:00"]]
        night = BusinessCalendarFactory(
            tenant=tenant,
            name="Night desk",
            timezone="Europe/London",
            holiday_country="GB",
            weekly_hours={"mon": nights, "tue": nights, "sat": [], "sun": []},
        )
        CalendarDate.objects.create(calendar=office, date=date(now.year, 12, 24), kind="hours",
                                    hours=[["10:00", "14:00"]], name="Christmas Eve")  # fmt: skip
        CalendarDate.objects.create(calendar=office, date=date(now.year, 12, 31), name="年终盘点")
        urgent = SLAPolicyFactory(
            tenant=tenant, name="紧急 Urgent", position=1, business_hours=False,
            conditions=[{"field": "priority", "op": "in", "value": ["urgent"]}],
            first_response_minutes=60, next_response_minutes=120, resolution_minutes=240,
        )  # fmt: skip
        vip = SLAPolicyFactory(
            tenant=tenant, name="VIP 客户", position=2, match="any", calendar=night,
            conditions=[{"field": "requester_tier", "op": "in", "value": ["vip", "premium"]},
                        {"field": "team", "op": "in", "value": [str(team.pk)]}],
            first_response_minutes=120, next_response_minutes=240, resolution_minutes=960,
            per_priority={"high": {"first_response": 30, "resolution": None}},
        )  # fmt: skip
        standard = SLAPolicyFactory(tenant=tenant, name="标准 Standard", position=3,
                                    first_response_minutes=480, next_response_minutes=480,
                                    resolution_minutes=1440, is_active=False)  # fmt: skip
    subjects = ["订单还没有发货 — order not shipped yet", "Refund for order A-1029",
                "发票抬头写错了", "Login loop on the mobile app"]  # fmt: skip
    for n in range(12):
        ticket = make_ticket(tenant, requester=alice, subject=subjects[n % 4],
                             priority=Ticket.Priority.URGENT)  # fmt: skip
        with tenant_context(tenant):
            start = now - timedelta(days=n + 1)
            SLATimer.objects.create(
                ticket=ticket, kind="first_response", policy=urgent, policy_name=urgent.name,
                target_minutes=60, business_hours=False, started_at=start,
                due_at=start + timedelta(minutes=60), state="met",
                achieved_at=start + timedelta(minutes=20 + 5 * n),
            )  # fmt: skip
    return tenant, urgent.pk, vip.pk, standard.pk, office.pk, night.pk


def _check(page, name: str, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width + 1, f"{name} is {overflow}px wide"
    assert page.evaluate(UNLABELLED) == [], f"unlabelled controls on {name}"
    assert "Traceback" not in page.content()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_sla_settings_pages(live_server, acme, lang, size):
    seen = in_browser(lambda browser: _pages(browser, live_server, acme, lang, size))
    assert seen["changed"]


def _pages(browser, live_server, acme, lang: str, size: str) -> dict:
    """In the browser's thread: no database access here."""
    tenant, urgent, vip, standard, office, night = acme
    width, height = SIZES[size]
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    port = live_server.url.rsplit(":", 1)[1]
    context.add_cookies([{"name": "django_language", "value": lang,
                          "url": f"http://acme.localhost:{port}/"}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(tenant_url(live_server, tenant, "/accounts/login/"))
    page.locator("#id_username").fill("admin@acme.test")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    pages = {
        "list": "/settings/sla/",
        "new": "/settings/sla/new/",
        "edit": f"/settings/sla/{vip}/",
        "delete": f"/settings/sla/{standard}/delete/",
        "calendars": "/settings/sla/calendars/",
        "calendar-new": "/settings/sla/calendars/new/",
        "calendar": f"/settings/sla/calendars/{office}/",
        "calendar-delete": f"/settings/sla/calendars/{night}/delete/",
        "index": "/settings/",
    }
    for name, path in pages.items():
        page.goto(tenant_url(live_server, tenant, path))
        _check(page, name, width)
        page.screenshot(path=str(shots / f"sla-settings-{name}-{lang}-{size}.png"), full_page=True)
    page.goto(tenant_url(live_server, tenant, f"/settings/sla/{vip}/"))
    for part in (".sla-conditions", ".sla-overrides"):
        page.locator(part).screenshot(
            path=str(shots / f"sla-settings-part{part.replace('.sla', '')}-{lang}-{size}.png")
        )
    # Preview impact, through htmx: a stricter first response turns met clocks into breaches.
    page.goto(tenant_url(live_server, tenant, f"/settings/sla/{urgent}/"))
    page.locator("#policy-first_response_h").fill("0")
    page.locator("#policy-first_response_m").fill("30")
    page.locator("button[name=preview]").click()
    page.wait_for_selector("#whatif .whatif-table")
    assert page.url.endswith(f"/settings/sla/{urgent}/")  # swapped in, not navigated
    _check(page, "what-if", width)
    changed = page.locator(".whatif-verdict strong").count() == 1
    page.locator("#whatif").screenshot(path=str(shots / f"sla-settings-whatif-{lang}-{size}.png"))
    # A bad hour on the calendar form: the error sits under its day.
    page.goto(tenant_url(live_server, tenant, f"/settings/sla/calendars/{office}/"))
    page.locator("#calendar-hours_tue").fill("09:00-12:00, 11:00-13:00")
    page.locator("#calendar-form button[type=submit]").first.click()
    page.wait_for_selector(".sla-day.has-error")
    _check(page, "calendar error", width)
    page.locator(".sla-week").screenshot(
        path=str(shots / f"sla-settings-calendar-error-{lang}-{size}.png")
    )
    context.close()
    return {"changed": changed}

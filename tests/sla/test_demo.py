"""The demo SLA seed: a default calendar and three policies, idempotent."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from helpdesk.tenancy.context import tenant_context
from sla import calendar as calmath
from sla.demo import seed_sla
from sla.models import BusinessCalendar, SLAPolicy
from sla.policies import default_calendar, targets_for
from sla.selectors import calendar_for
from tests.factories import TenantFactory


def test_seed_for_a_chinese_tenant_is_idempotent(db):
    tenant = TenantFactory(slug="huaxia", default_language="zh-hans", timezone="Asia/Shanghai")
    seed_sla(tenant)
    seed_sla(tenant, None)
    with tenant_context(tenant):
        calendar = default_calendar()
        assert (calendar.timezone, calendar.holiday_country) == ("Asia/Shanghai", "CN")
        assert BusinessCalendar.objects.count() == 1
        names = list(SLAPolicy.objects.order_by("position").values_list("name", flat=True))
        assert names == ["紧急", "VIP 客户", "标准"]
        standard = SLAPolicy.objects.get(name="标准")
        assert targets_for(standard, "normal") == {
            "first_response": 480, "next_response": 480, "resolution": 1440,
        }  # fmt: skip
        vip = SLAPolicy.objects.get(name="VIP 客户")
        assert targets_for(vip, "urgent")["first_response"] == 30
        cal = calendar_for(calendar, years=[2026])
    shanghai = ZoneInfo("Asia/Shanghai")
    assert not calmath.is_open(cal, datetime(2026, 2, 17, 10, tzinfo=shanghai))  # 春节
    assert calmath.is_open(cal, datetime(2026, 2, 14, 10, tzinfo=shanghai))  # 调休 Saturday


def test_seed_for_a_london_tenant_uses_its_own_holidays(db):
    tenant = TenantFactory(slug="acme", default_language="en", timezone="Europe/London")
    seed_sla(tenant)
    with tenant_context(tenant):
        calendar = default_calendar()
        assert (calendar.timezone, calendar.holiday_country) == ("Europe/London", "GB")
        assert SLAPolicy.objects.filter(name__in=["Urgent", "VIP", "Standard"]).count() == 3
        cal = calendar_for(calendar, years=[2026])
    london = ZoneInfo("Europe/London")
    assert not calmath.is_open(cal, datetime(2026, 12, 25, 10, tzinfo=london))
    assert calmath.is_open(cal, datetime(2026, 12, 29, 10, tzinfo=london))

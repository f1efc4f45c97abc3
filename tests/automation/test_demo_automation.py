"""The demo tenants' automation: the seeded history is closed (the worker will not re-route
old tickets or acknowledge them), rules and templates in each tenant's language, and a new
mail to huaxia is routed by them and acknowledged in Chinese."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from channels_in.email import receive_email
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.automation import jobs
from tickets.automation.models import AgentProfile, AutomationJob, AutoReply, RoutingRule
from tickets.models import Message, Team

pytestmark = pytest.mark.django_db


def test_demo_automation_is_ready_and_the_history_stays_history(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=StringIO())
    huaxia = Tenant.objects.get(slug="huaxia")
    with tenant_context(huaxia):
        assert not AutomationJob.objects.filter(done_at__isnull=True).exists()
        assert [r.name for r in RoutingRule.objects.all()] == [
            "VIP 退款", "系统故障", "登录问题", "其余转一线"]  # fmt: skip
        assert AutoReply.objects.get(language="").name == "确认收到"
        assert AgentProfile.objects.filter(availability="online").count() >= 3
        counts = (RoutingRule.objects.count(), AutoReply.objects.count())
    call_command("seed_demo", stdout=StringIO())  # again: nothing new
    with tenant_context(huaxia):
        assert (RoutingRule.objects.count(), AutoReply.objects.count()) == counts
        raw = (
            "From: 王先生 <wang@example.cn>\r\nTo: support@huaxia.localhost\r\n"
            "Subject: 网站宕机了\r\nMessage-ID: <demo-outage@example.cn>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n打开就是 500 错误。\r\n"
        ).encode()
        ticket = receive_email(raw, via="smtp").ticket
        for job_id in AutomationJob.objects.filter(done_at__isnull=True).values_list(
            "pk", flat=True
        ):
            jobs.run(job_id)
        ticket.refresh_from_db()
        assert ticket.priority == "urgent" and ticket.team == Team.objects.get(tier=2)
        assert ticket.assignee is not None  # least-loaded in Tier 2
        (ack,) = Message.objects.filter(ticket=ticket, direction="out", author_user__isnull=True)
        assert f"您的请求编号为 #{ticket.number}" in ack.body_text

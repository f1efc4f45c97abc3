"""Demo automation for the seeded tenants (helpdesk.demo SEEDERS): idempotent.

- The seeded history (tickets made through the services, so each left an automation job) is
  history: its jobs are closed without running, so starting the worker neither routes old
  tickets again nor acknowledges requests answered long ago.
- Tier 1 assigns round-robin, Tier 2 least-loaded; every agent is online.
- Routing rules a support lead would start with (in the tenant's language): VIP refunds to
  Tier 2 at high priority, outages urgent to Tier 2, login and app trouble to Tier 2 needing
  skills, everything else to Tier 1.
- One acknowledgement template per language, with the SLA promise and article suggestions.
"""

from __future__ import annotations

from django.utils import timezone

from helpdesk.tenancy.models import Membership, Tenant
from tickets.models import Team, TeamMember

from .models import AgentProfile, AutomationJob, AutoReply, RoutingRule

ZH = "zh-hans"
ACK = {
    "en": (
        "[#{{ ticket.number }}] We have your request",
        "Hello {{ requester.name }},\n\nthank you for writing to us. Your request has the number "
        "#{{ ticket.number }}; reply to this email to add anything.\n\n"
        "{{ sla.first_response }}\n\n{{ kb.articles }}\n\nYou can follow it here: "
        "{{ request_url }}\n\nThe support team",
    ),
    ZH: (
        "[#{{ ticket.number }}] 我们已收到您的请求",
        "{{ requester.name }}，您好：\n\n感谢您的来信，您的请求编号为 #{{ ticket.number }}。"
        "如需补充信息，直接回复本邮件即可。\n\n{{ sla.first_response }}\n\n{{ kb.articles }}\n\n"
        "查看进度：{{ request_url }}\n\n客服团队",
    ),
}


def _rules(tier1: Team, tier2: Team, zh: bool) -> list[dict]:
    def name(en: str, chinese: str) -> str:
        return chinese if zh else en

    return [
        {"name": name("VIP refunds", "VIP 退款"), "conditions": [
            {"field": "requester_tier", "op": "in", "value": ["vip"]},
            {"field": "text", "op": "contains_any", "value": ["退款", "refund", "退钱"]}],
         "actions": [{"action": "set_team", "value": tier2.pk},
                     {"action": "set_priority", "value": "high"},
                     {"action": "add_tags", "value": ["vip", "refund"]}]},
        {"name": name("Outages", "系统故障"), "conditions": [
            {"field": "text", "op": "contains_any",
             "value": ["宕机", "无法访问", "outage", "is down", "500 error"]}],
         "actions": [{"action": "set_team", "value": tier2.pk},
                     {"action": "set_priority", "value": "urgent"},
                     {"action": "add_tags", "value": ["outage"]}]},
        {"name": name("Sign-in trouble", "登录问题"), "conditions": [
            {"field": "text", "op": "contains_any",
             "value": ["登录", "密码", "验证码", "login", "sign in", "password"]}],
         "actions": [{"action": "set_team", "value": tier2.pk},
                     {"action": "require_skills", "value": ["login"]}]},
        {"name": name("Everything else to Tier 1", "其余转一线"), "conditions": [],
         "actions": [{"action": "set_team", "value": tier1.pk}]},
    ]  # fmt: skip


def seed_automation(tenant: Tenant, spec) -> None:
    from .classify import seed_labels

    now = timezone.now()
    AutomationJob.objects.filter(done_at__isnull=True).update(done_at=now)
    seed_labels(tenant)  # the agents' word on the seeded tickets; trains what it can
    tier1 = Team.objects.filter(tier=1).order_by("pk").first()
    tier2 = Team.objects.filter(tier=2).order_by("pk").first()
    if tier1 is None or tier2 is None:
        return
    Team.objects.filter(pk=tier1.pk, assignment=Team.Assignment.MANUAL).update(
        assignment=Team.Assignment.ROUND_ROBIN
    )
    Team.objects.filter(pk=tier2.pk, assignment=Team.Assignment.MANUAL).update(
        assignment=Team.Assignment.LEAST_LOADED
    )
    staff = Membership.objects.filter(user__in=TeamMember.objects.values("user")).values_list(
        "user_id", flat=True
    )
    for user_id in staff:
        AgentProfile.objects.get_or_create(user_id=user_id)
    zh = tenant.default_language == ZH
    if not RoutingRule.objects.exists():
        for position, rule in enumerate(_rules(tier1, tier2, zh), start=1):
            RoutingRule.objects.create(position=position * 10, **rule)
    if not AutoReply.objects.exists():
        for language, (subject, body) in ACK.items():
            default = language == (ZH if zh else "en")  # the tenant's language: the catch-all
            AutoReply.objects.create(
                name="确认收到" if language == ZH else "Acknowledgement",
                language="" if default else language, subject=subject, body=body,
            )  # fmt: skip

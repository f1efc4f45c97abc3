"""Demo escalation and alerts for the seeded tenants (helpdesk.demo SEEDERS): idempotent.

- Policy "First response breach → Tier 2": a breached first response moves the ticket to the
  next tier's team and re-routes it there.
- Alert rule "SLA breach → Tier 2 team (critical)": every SLA breach tells the ticket's team
  (after the escalation, Tier 2) critically in the app; if nobody acknowledges within 30
  minutes, the managers are told.
- The demo user tier2@<slug>.test is a member of a Tier 2 team (the tickets seed puts them in
  "Tier 2 Technical"; made sure here).
Runs inside the tenant's context, after the tickets and SLA seeders. Chinese tenants get
Chinese names.
"""

from __future__ import annotations

from typing import Any

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Tenant
from tickets.models import Team, TeamMember

from .models import AlertRule, EscalationPolicy

NAMES = {
    "en": ("First response breach → Tier 2", "SLA breach → Tier 2 team (critical)", "Tier 2"),
    "zh-hans": ("首次响应超时 → 二线", "SLA 超时 → 二线团队（紧急）", "二线支持"),
}


def _tier2_team(slug: str, team_name: str) -> Team:
    team = Team.objects.filter(tier=Team.Tier.TIER_2).order_by("name", "id").first()
    if team is None:
        team = Team.objects.create(name=team_name, tier=Team.Tier.TIER_2,
                                   assignment=Team.Assignment.ROUND_ROBIN)  # fmt: skip
    user = User.objects.filter(email__iexact=f"tier2@{slug}.test").first()
    if user is not None and not TeamMember.objects.filter(user=user, team__tier=2).exists():
        TeamMember.objects.get_or_create(team=team, user=user)
    return team


def seed_escalation(tenant: Tenant, spec: Any = None) -> None:
    language = getattr(spec, "language", None) or tenant.default_language or "en"
    policy_name, rule_name, team_name = NAMES.get(language, NAMES["en"])
    _tier2_team(tenant.slug, team_name)
    if not EscalationPolicy.objects.filter(name__iexact=policy_name).exists():
        top = EscalationPolicy.objects.order_by("-position").values_list("position", flat=True)
        EscalationPolicy.objects.create(
            name=policy_name, position=(top.first() or 0) + 1,
            when=EscalationPolicy.When.SLA_BREACHED, clock_kinds=["first_response"],
            target=EscalationPolicy.Target.NEXT_TIER, reroute=True,
        )  # fmt: skip
    if not AlertRule.objects.filter(name__iexact=rule_name).exists():
        top = AlertRule.objects.order_by("-position").values_list("position", flat=True)
        AlertRule.objects.create(
            name=rule_name, position=(top.first() or 0) + 1, event=AlertRule.Event.SLA_BREACHED,
            level="critical", recipients=["team"], via=["in_app"], ack_within_minutes=30,
            chain=[{"recipients": ["managers"], "users": []}],
        )  # fmt: skip

"""seed_demo's tickets: a realistic, bilingual spread, and a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from knowledge.models import Deflection, SearchLog
from tickets.models import (
    CannedResponse,
    Contact,
    Message,
    Organization,
    Team,
    TeamMember,
    Ticket,
    TicketEvent,
    TicketTag,
)
from tickets.search import query_for

MODELS = (Organization, Contact, Team, TeamMember, CannedResponse, Ticket, Message, TicketEvent,
          TicketTag, Deflection, SearchLog)  # fmt: skip


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _counts() -> dict[str, dict[str, int]]:
    out = {}
    for tenant in Tenant.objects.filter(slug__in=["acme", "huaxia"]):
        with tenant_context(tenant):
            out[tenant.slug] = {model.__name__: model.objects.count() for model in MODELS}
    return out


def _seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def test_seed_demo_twice_changes_nothing(db, django_capture_on_commit_callbacks):
    _seed()
    first = _counts()
    _seed()
    assert _counts() == first
    for slug in ("acme", "huaxia"):
        counts = first[slug]
        assert 55 <= counts["Ticket"] <= 70
        assert counts["Organization"] == 3
        assert counts["Contact"] >= 17  # 15 more besides alice and bob
        assert counts["Team"] == 3
        assert counts["CannedResponse"] == 8
        assert counts["Message"] > counts["Ticket"]
        assert counts["Deflection"] == 7 and counts["SearchLog"] >= 3  # Knowledge › Self-service


def test_seeded_tickets_look_like_a_month_of_real_work(db):
    _seed()
    tenants = {t.slug: t for t in Tenant.objects.filter(slug__in=["acme", "huaxia"])}
    for slug, home, other in [("acme", "en", "zh-hans"), ("huaxia", "zh-hans", "en")]:
        with tenant_context(tenants[slug]):
            _check_spread(home, other)
            _check_history()
    with tenant_context(tenants["huaxia"]):
        assert Ticket.objects.filter(search_vector=query_for("退款")).exists()
        _check_teams_and_canned("huaxia", "zh-hans")
    with tenant_context(tenants["acme"]):
        assert Ticket.objects.filter(search_vector=query_for("refund")).exists()
        _check_teams_and_canned("acme", "en")
        assert Contact.objects.filter(organization__tier="vip").exists()


def _check_spread(home: str, other: str) -> None:
    tickets = Ticket.objects.all()
    by_language = dict(tickets.values_list("language").annotate(n=Count("id")))
    assert by_language[home] > by_language[other] > 0
    assert set(tickets.values_list("channel", flat=True)) >= {
        "email", "web", "chat", "wechat", "phone", "portal"
    }  # fmt: skip
    assert set(tickets.values_list("status", flat=True)) == set(Ticket.Status.values)
    assert set(tickets.values_list("priority", flat=True)) == set(Ticket.Priority.values)
    assert set(tickets.values_list("category", flat=True)) >= {
        "inquiry", "suggestion", "complaint"
    }  # fmt: skip
    assert tickets.filter(assignee__isnull=False).exists()
    assert tickets.filter(assignee__isnull=True, status="new").exists()
    assert tickets.filter(merged_into__isnull=False).count() >= 2
    assert tickets.filter(team__tier=3).exists()
    # Portal requests come from the customers who can sign in to the portal.
    assert not tickets.filter(channel="portal", requester__user__isnull=True).exists()
    # 1–4 messages on each ticket that was not merged away, notes and replies among them.
    live = tickets.filter(merged_into__isnull=True).annotate(n=Count("messages"))
    assert {t.n for t in live} <= {1, 2, 3, 4}
    assert Message.objects.filter(kind="note").exists()
    assert Message.objects.filter(kind="reply", direction="out").exists()
    assert Message.objects.filter(kind="reply", direction="in").exists()
    assert TicketTag.objects.exists()


def _check_history() -> None:
    now = timezone.now()
    tickets = list(Ticket.objects.order_by("number"))
    created = [t.created_at for t in tickets]
    assert created == sorted(created), "ticket numbers follow time"
    assert now - timedelta(days=31) < min(created) < now - timedelta(days=20)
    assert max(created) > now - timedelta(days=3)
    for ticket in tickets:
        assert ticket.created_at <= ticket.last_activity_at <= now
    assert not Message.objects.filter(created_at__gt=now - timedelta(minutes=5)).exists()
    assert not TicketEvent.objects.filter(created_at__gt=now - timedelta(minutes=5)).exists()
    # Demo replies were delivered in the story's past: nothing waits to be mailed today.
    assert not Message.objects.filter(delivery_status__in=["pending", "sending"]).exists()
    assert all(t.solved_at and t.solved_at <= now for t in tickets if t.status == "solved")


def _check_teams_and_canned(slug: str, language: str) -> None:
    tiers = {t.name: t.tier for t in Team.objects.all()}
    assert tiers == {"Tier 1 Support": 1, "Tier 2 Technical": 2, "Tier 3 Engineering": 3}
    members = set(TeamMember.objects.values_list("team__tier", "user__email"))
    assert {(1, f"agent1@{slug}.test"), (1, f"agent2@{slug}.test")} <= members
    assert (2, f"tier2@{slug}.test") in members
    canned = CannedResponse.objects.all()
    assert {c.language for c in canned} == {language}
    assert canned.filter(owner__isnull=False).count() == 1
    assert canned.filter(owner__isnull=True).count() == 7
    bodies = " ".join(c.body for c in canned)
    for placeholder in ("{{ contact.name }}", "{{ ticket.number }}", "{{ agent.name }}"):
        assert placeholder in bodies

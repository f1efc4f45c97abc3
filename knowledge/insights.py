"""What self-service achieves, for the knowledge-base team (Knowledge › Self-service): requests
the articles deflected, what customers searched for and did not find, which articles did not
help. Every list is bounded; every count is for one period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.utils import timezone

from .deflection import DeflectionStats, deflection_stats, top_deflecting_articles
from .models import Article, ArticleFeedback, SearchLog

PERIODS = (7, 30, 90)
TOP = 10


@dataclass(frozen=True)
class Insights:
    days: int
    since: datetime
    deflection: DeflectionStats
    deflecting: list[dict]
    unanswered: list[dict]  # [{"query", "searches"}] customer searches that found nothing
    unhelpful: list[dict]  # [{"article_id", "title", "helpful", "not_helpful"}]
    most_viewed: list[Article]


def insights(*, days: int) -> Insights:
    days = days if days in PERIODS else 30
    since = timezone.now() - timedelta(days=days)
    return Insights(
        days=days,
        since=since,
        deflection=deflection_stats(since=since),
        deflecting=top_deflecting_articles(since=since, limit=TOP),
        unanswered=unanswered_searches(since=since),
        unhelpful=unhelpful_articles(since=since),
        most_viewed=list(
            Article.objects.filter(status=Article.Status.PUBLISHED, view_count__gt=0)
            .only("id", "title", "language", "view_count")
            .order_by("-view_count", "id")[:TOP]
        ),
    )


def unanswered_searches(*, since: datetime, limit: int = TOP) -> list[dict]:
    rows = (
        SearchLog.objects.filter(created_at__gte=since, audience="customer", result_count=0)
        .annotate(q=Lower("query"))
        .values("q")
        .annotate(searches=Count("id"))
        .order_by("-searches", "q")[:limit]
    )
    return [{"query": r["q"], "searches": r["searches"]} for r in rows]


def unhelpful_articles(*, since: datetime, limit: int = TOP) -> list[dict]:
    rows = (
        ArticleFeedback.objects.filter(updated_at__gte=since)
        .values("article_id", "article__title")
        .annotate(
            yes=Count("id", filter=Q(helpful=True)),
            no=Count("id", filter=Q(helpful=False)),
        )
        .filter(no__gt=0)
        .order_by("-no", "yes", "article_id")[:limit]
    )
    return [{"article_id": r["article_id"], "title": r["article__title"],
             "helpful": r["yes"], "not_helpful": r["no"]} for r in rows]  # fmt: skip

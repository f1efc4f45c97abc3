"""Deflection: while a visitor writes a new request, show the articles that may answer it, and
count the flows an article solved (DESIGN.md §6, issue 8).

A flow is the request form's one-time token (channels_in's RequestForm `token`). The first
time a flow is shown suggestions it gets one `Deflection` row; "this solved it" makes it
`solved` (final), sending the request anyway makes it `submitted`. Flows that never saw a
suggestion leave no row: they were not offered self-service, so they are not in the rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from .models import Deflection
from .search import Hit, suggest_for_text
from .selectors import public_articles

FLOW_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TEXT = 2000
SUGGESTIONS = 3
Outcome = Deflection.Outcome


def valid_flow(flow: str) -> bool:
    return bool(FLOW_RE.match(flow or ""))


def suggestions_for_request(
    *, flow: str, subject: str, description: str, language: str, limit: int = SUGGESTIONS
) -> list[Hit]:
    """Public articles for a request being written, best first, and the flow noted as
    "shown" when there are any. The text is cut to MAX_TEXT characters."""
    text = f"{subject}\n{description}".strip()[:MAX_TEXT]
    if not text:
        return []
    # In the reader's language first; a request written in another one still finds its own.
    hits = suggest_for_text(text, language, limit, audience="customer")
    if not hits:
        hits = suggest_for_text(text, None, limit, audience="customer")
    if hits and valid_flow(flow):
        _note_shown(flow, [h.article.pk for h in hits], subject or text, language)
    return hits


def _note_shown(flow: str, article_ids: list[int], query: str, language: str) -> None:
    query = " ".join(query.split())[:200]
    row = Deflection.objects.filter(flow=flow).first()
    if row is None:
        try:
            with transaction.atomic():
                shown = article_ids[: Deflection.MAX_SHOWN]
                Deflection.objects.create(flow=flow, shown_articles=shown, query=query,
                                          language=language)  # fmt: skip
            return
        except IntegrityError:  # two debounced requests of one flow raced; the other won
            row = Deflection.objects.get(flow=flow)
    if row.outcome != Outcome.SHOWN:
        return
    shown = list(dict.fromkeys([*row.shown_articles, *article_ids]))[: Deflection.MAX_SHOWN]
    Deflection.objects.filter(pk=row.pk).update(shown_articles=shown, query=query)


def deflection_solved(*, flow: str, article_id: int) -> Deflection | None:
    """The visitor says `article_id` answered them: the flow counts as deflected (once). Only
    an article that is public, published and was shown in this flow counts."""
    if not valid_flow(flow):
        return None
    with transaction.atomic():
        row = Deflection.objects.select_for_update().filter(flow=flow).first()
        if row is None or article_id not in row.shown_articles:
            return None
        if row.outcome == Outcome.SOLVED:
            return row
        article = public_articles().filter(pk=article_id).first()
        if article is None:
            return None
        row.outcome, row.article = Outcome.SOLVED, article
        row.save(update_fields=["outcome", "article", "updated_at"])
        return row


def deflection_submitted(*, flow: str, ticket_number: int) -> None:
    """The visitor sent the request although articles were shown. Does nothing for a flow
    that saw none, or one an article already solved (a later submission from the same form
    keeps its deflection: they came back to ask something else)."""
    if valid_flow(flow):
        Deflection.objects.filter(flow=flow, outcome=Outcome.SHOWN).update(
            outcome=Outcome.SUBMITTED, ticket_number=ticket_number
        )


@dataclass(frozen=True)
class DeflectionStats:
    offered: int  # flows that were shown suggestions
    solved: int
    submitted: int

    @property
    def rate(self) -> float | None:
        """Share of offered flows an article solved (None with nothing offered)."""
        return self.solved / self.offered if self.offered else None


def deflection_stats(*, since: datetime) -> DeflectionStats:
    counts = Deflection.objects.filter(created_at__gte=since).aggregate(
        offered=Count("id"),
        solved=Count("id", filter=Q(outcome=Outcome.SOLVED)),
        submitted=Count("id", filter=Q(outcome=Outcome.SUBMITTED)),
    )
    return DeflectionStats(**counts)


def top_deflecting_articles(*, since: datetime, limit: int = 5) -> list[dict]:
    """[{"article_id", "title", "solved"}] for the articles that solved most flows."""
    rows = (
        Deflection.objects.filter(
            created_at__gte=since, outcome=Outcome.SOLVED, article__isnull=False
        )  # fmt: skip
        .values("article_id", "article__title")
        .annotate(solved=Count("id"))
        .order_by("-solved", "article_id")[:limit]
    )
    return [{"article_id": r["article_id"], "title": r["article__title"], "solved": r["solved"]}
            for r in rows]  # fmt: skip

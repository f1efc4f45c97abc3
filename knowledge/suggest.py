"""The knowledge base's entry in tickets.automation.autoreply.ARTICLE_SUGGESTERS."""

from __future__ import annotations

import logging

from django.db import transaction

from helpdesk.tenancy.context import require_current_tenant

logger = logging.getLogger(__name__)


def article_suggester(text: str, language: str, limit: int) -> list:
    """Up to `limit` published public articles for a new ticket's text, in its language (the
    tenant's default when the ticket has none), as autoreply.Suggestion(title, absolute URL).
    Runs in a savepoint: a failing query must not break the automation job's transaction."""
    from tickets.automation.autoreply import Suggestion

    from .search import suggest_for_text
    from .selectors import public_article_url

    language = language or require_current_tenant().default_language
    with transaction.atomic():
        hits = suggest_for_text(text, language, limit)
    return [Suggestion(h.article.title, public_article_url(h.article, absolute=True)) for h in hits]

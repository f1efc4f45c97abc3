"""The knowledge base on the agent's ticket page: the text a ticket is matched on, the links an
agent may put into a reply or a note, and an article draft written from a ticket.

Reads only (writes are knowledge.services.article_create_from_ticket). The ticket is always
looked up through tickets.selectors.ticket_get_for_agent, the tenant-scoped selector: another
tenant's number, or one that does not exist, is `None` here and a 404 in the views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from channels_in.email_parse import strip_quoted
from helpdesk.tenancy.context import require_current_tenant
from helpdesk.tenancy.resolve import tenant_base_url
from tickets.models import Message, Ticket
from tickets.selectors import ticket_get_for_agent, ticket_thread

from .models import Article
from .search import Hit, search, suggest_for_text
from .selectors import public_article_url

SUGGEST_TEXT_CHARS = 2000
DRAFT_MESSAGE_CHARS = 4000
DRAFT_REPLIES = 5
RELATIVE_SCORE = 0.6  # suggestions scoring under 60 % of the best one are left out
LANGUAGES = {code for code, _name in settings.LANGUAGES}
# A signature starts at the conventional "-- " line, or at a short sign-off line near the end.
SIGNATURE = re.compile(r"^(?:-- ?|—— ?|__+)$", re.M)
SIGN_OFF = re.compile(
    r"^\s*(?:best(?: regards)?|kind regards|regards|thanks|thank you|cheers|many thanks|"
    r"此致|祝好|谢谢|顺祝商祺)[,，.!！]?\s*$",
    re.I | re.M,
)
GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|您好|你好|亲爱的)\b[^\n]{0,40}[,，!！:：]?\s*$", re.I
)


def ticket_for_kb(number: int | None) -> Ticket | None:
    """This tenant's ticket `number`, or None (another tenant's, or no such ticket)."""
    if not number:
        return None
    try:
        return ticket_get_for_agent(number=number)
    except Ticket.DoesNotExist:
        return None


def ticket_language(ticket: Ticket) -> str:
    language = ticket.language or require_current_tenant().default_language
    return language if language in LANGUAGES else settings.LANGUAGE_CODE


def _customer_messages(ticket: Ticket) -> list[Message]:
    return [
        m for m in ticket_thread(ticket, include_notes=False) if m.direction == Message.Direction.IN
    ]


def clean_message_text(text: str) -> str:
    """A message's own words: no quoted history (the mail parser's rules), no signature."""
    text = strip_quoted((text or "").replace("\r\n", "\n"))
    cut = SIGNATURE.search(text)
    if cut:
        text = text[: cut.start()]
    lines = text.rstrip().split("\n")
    # A sign-off in the last few lines ends the message ("Thanks,\nAlex").
    for index in range(max(len(lines) - 4, 1), len(lines)):
        if SIGN_OFF.match(lines[index]):
            lines = lines[:index]
            break
    return "\n".join(lines).strip()


def _without_greeting(text: str) -> str:
    first, _sep, rest = text.partition("\n")
    return rest.strip() if GREETING.match(first) and rest.strip() else text


def ticket_suggest_text(ticket: Ticket) -> str:
    """What the KB panel matches on: the subject and the latest customer message."""
    customer = _customer_messages(ticket)
    latest = clean_message_text(customer[-1].body_text) if customer else ""
    return f"{ticket.subject}\n{latest}"[:SUGGEST_TEXT_CHARS]


def ticket_suggestions(ticket: Ticket, *, limit: int) -> list[Hit]:
    """The articles for the ticket's text (`suggest_for_text`: strong full-text hits only), in
    its language, without the tail that matched far worse than the best (a ticket about a
    refund "two weeks ago" should not bring the two-factor articles after the refund ones)."""
    hits = suggest_for_text(ticket_suggest_text(ticket), ticket_language(ticket), limit,
                            audience="agent")  # fmt: skip
    if not hits:
        return []
    best = hits[0].score
    return [h for h in hits if h.score >= best * RELATIVE_SCORE]


def article_search(query: str, ticket: Ticket | None, *, limit: int) -> list[Hit]:
    """Published articles, public and internal, for what an agent typed: in the ticket's
    language, or in any language when that finds nothing."""
    language = ticket_language(ticket) if ticket is not None else None
    hits = search(query, language=language, audience="agent", limit=limit, log=False).hits
    if not hits and language:
        hits = search(query, language=None, audience="agent", limit=limit, log=False).hits
    return hits


# --- Links for the composer -----------------------------------------------------------------


@dataclass(frozen=True)
class ArticleLink:
    """What the composer may insert for an article. `public_link` is None for an internal
    article: it has no page on the help centre, so it goes into internal notes only (as the
    agents' link)."""

    article: Article
    public_link: str | None
    agent_link: str

    @property
    def internal(self) -> bool:
        return self.public_link is None


def article_link(article: Article) -> ArticleLink:
    agent_url = tenant_base_url(require_current_tenant()) + reverse(
        "knowledge:article", kwargs={"article_id": article.pk}
    )
    public = (
        article.status == Article.Status.PUBLISHED
        and article.visibility == Article.Visibility.PUBLIC
    )
    return ArticleLink(
        article=article,
        public_link=f"{article.title}: {public_article_url(article, absolute=True)}"
        if public
        else None,
        agent_link=f"{article.title}: {agent_url}",
    )


# --- An article draft from a ticket ---------------------------------------------------------


@dataclass(frozen=True)
class ArticleDraft:
    title: str
    body: str
    language: str


def _quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.split("\n"))


def article_draft_from_ticket(ticket: Ticket) -> ArticleDraft:
    """Title from the subject; the customer's question quoted, then the agents' public replies
    (their own words: no quoted history, no signature), in Markdown."""
    thread = ticket_thread(ticket, include_notes=False)
    question = next((m for m in thread if m.direction == Message.Direction.IN), None)
    replies = [
        m for m in thread if m.direction == Message.Direction.OUT and m.author_user_id is not None
    ][:DRAFT_REPLIES]
    parts: list[str] = []
    if question is not None:
        text = _without_greeting(clean_message_text(question.body_text))[:DRAFT_MESSAGE_CHARS]
        if text:
            parts.append(_quote(text))
    for reply in replies:
        text = _without_greeting(clean_message_text(reply.body_text))[:DRAFT_MESSAGE_CHARS]
        if text:
            parts.append(text)
    return ArticleDraft(
        title=ticket.subject.strip()[:200], body="\n\n".join(parts) + "\n" if parts else "",
        language=ticket_language(ticket),
    )  # fmt: skip

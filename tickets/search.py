"""Full-text search over tickets (DESIGN.md §6).

Text is segmented before Postgres sees it: jieba splits Chinese into words (in search mode, so
"退款申请" also yields "退款"), other scripts split on non-word characters; everything is
lower-cased. The stored `search_title` / `search_body` columns hold segmented text and a
generated tsvector column (config 'simple') indexes them. Queries are segmented the same way and
become a prefix tsquery; a trigram match on the subject catches short and partial queries.
jieba loads its dictionary once per process, on first use (about a second).
"""

from __future__ import annotations

import logging
import re
import threading

from django.contrib.postgres.search import SearchQuery
from django.db.models import F, Value
from django.db.models.functions import Concat, Left

_jieba = None
_lock = threading.Lock()
_WORD = re.compile(r"[\w\u3400-\u9fff]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff]")
MAX_BODY_CHARS = 200_000


def _segmenter():
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def tokens(text: str) -> list[str]:
    """Search tokens of `text`: lower-cased words, Chinese split into words by jieba."""
    out: list[str] = []
    for chunk in _WORD.findall(text.lower()):
        if _CJK.search(chunk):
            out.extend(t for t in _segmenter().cut_for_search(chunk) if _WORD.fullmatch(t))
        else:
            out.append(chunk)
    return out


def segment(text: str) -> str:
    return " ".join(tokens(text))


def ticket_title_text(
    *, number: int, subject: str, requester_name: str, requester_email: str
) -> str:
    return segment(f"{number} {subject} {requester_name} {requester_email.replace('@', ' ')}")


def query_for(text: str) -> SearchQuery | None:
    """A prefix tsquery matching every token of `text` (None when nothing searchable)."""
    words = [re.sub(r"[^\w]", "", t) for t in tokens(text)]
    words = [w for w in words if w][:12]
    if not words:
        return None
    return SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="simple")


def append_body(ticket_id: int, text: str, *, segmented: bool = False) -> None:
    """Add a message's text to a ticket's search body (bounded)."""
    from .models import Ticket

    words = text if segmented else segment(text)
    if words:
        Ticket.objects.filter(pk=ticket_id).update(
            search_body=Left(Concat(F("search_body"), Value(" " + words)), MAX_BODY_CHARS)
        )

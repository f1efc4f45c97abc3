"""Knowledge-base search (DESIGN.md §6): Postgres full text on a stored tsvector, Chinese
segmented with jieba, trigram similarity for misspelt words, substring for 1–2 characters.

    search(query, language=…, audience="customer"|"agent") -> SearchResult
    suggest_for_text(text, language, limit) -> list[Hit]          ticket text, deflection
    index_fields(title, text) -> (search_title, search_body)      what services store

How a query is answered (one tenant's articles of one language; bench/README.md "kb_search"):
1. The text is split into tokens exactly as articles were (tickets.search.tokens: lower-cased
   words, jieba's search-mode words for Chinese); common words are dropped.
2. Full text: articles matching ANY token (prefix match, `退款:*`), ranked by how many of the
   tokens they contain, how many of those are in the title (weight A), the whole query in the
   title, then ts_rank_cd. An article with every word on top, partial matches after.
3. Fallback, when full text found fewer than asked for: trigram similarity of the query with
   the title ("refnud" → "How to get a refund"), and for a query of one or two Chinese
   characters a plain substring match in title and text (jieba may have no word for them).
Highlighted snippets are cut from the article's plain text around the first match, escaped,
with <mark> around every match. The wall: audience "customer" sees published public articles
only, whatever the caller passes; "agent" sees internal ones too.
Searches that find nothing are written to SearchLog (knowledge.models), unless log=False.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Literal

from django.db import connection, transaction
from django.utils.safestring import SafeString, mark_safe

from helpdesk.tenancy.context import require_current_tenant
from tickets.search import segment, tokens

from .models import Article, SearchLog

Audience = Literal["customer", "agent"]
MAX_TOKENS = 10
MAX_QUERY_CHARS = 200
MAX_SEARCH_BODY = 100_000
TRIGRAM_THRESHOLD = 0.2
SNIPPET_CHARS = 180
CANDIDATES = 100  # best by ts_rank_cd, re-scored in full (_full_text)
_CJK = re.compile(r"[\u3400-\u9fff]")
_SAFE_TOKEN = re.compile(r"[^\w]")

# Words that say nothing about which article is meant (both languages are segmented the same
# way, so one list serves both). Kept short on purpose: a real word lost costs more.
STOPWORDS = frozenset(
    """
    a an and are as at be been but by can could did do does for from get got had has have
    hello hi how i i'm im if in into is it its i've me my no not of on or our please so than
    thanks thank that the their them then there this to was we were what when where which who
    why will with would you your yours it's dont don't can't cant still just also about any
    的 了 吗 呢 吧 啊 我 你 您 他 她 我们 你们 是 在 有 和 与 及 就 都 也 还 请 请问 怎么 如何
    什么 为什么 一下 一个 这个 那个 可以 能 能否 没有 不 要 想 需要 帮忙 谢谢 你好 您好 已经
    """.split()  # noqa: SIM905 - a word list reads better as words
)


@dataclass
class Hit:
    article: Article
    score: float
    title_html: SafeString
    snippet_html: SafeString
    matched_by: Literal["text", "similar"]


@dataclass
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    has_more: bool = False

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self):
        return iter(self.hits)


# --- Indexing -------------------------------------------------------------------------------


def index_fields(title: str, text: str) -> tuple[str, str]:
    """The segmented title and text an article stores for its tsvector."""
    return segment(title), segment(text[:MAX_SEARCH_BODY])[:MAX_SEARCH_BODY]


# --- Query terms ----------------------------------------------------------------------------


def query_tokens(text: str, *, limit: int = MAX_TOKENS) -> list[str]:
    """Distinct searchable tokens of `text`, in order, without stop words (all of them if
    nothing else is left: "how to" still searches)."""
    raw = [_SAFE_TOKEN.sub("", t) for t in tokens(text[:4000])]
    raw = [t for t in raw if t]
    seen: dict[str, None] = {}
    for t in raw:
        if t not in STOPWORDS and not (len(t) == 1 and not _CJK.search(t)):
            seen.setdefault(t, None)
    if not seen:
        seen = dict.fromkeys(raw)
    return list(seen)[:limit]


def normalise_language(language: str | None) -> str | None:
    value = (language or "").lower()
    if value.startswith("zh"):
        return "zh-hans"
    if value.startswith("en"):
        return "en"
    return None


def _is_short_cjk(text: str) -> bool:
    stripped = re.sub(r"\s+", "", text)
    return 0 < len(stripped) <= 2 and all(_CJK.match(ch) for ch in stripped)


# --- The query ------------------------------------------------------------------------------


def _where(
    *,
    language: str | None,
    audience: Audience,
    statuses: tuple[str, ...] | None,
    visibility: str | None,
    category_id: int | None,
    section_id: int | None,
    exclude_ids: tuple[int, ...] = (),
) -> tuple[str, list]:
    """The SQL filter of the candidate articles. Audience "customer" ignores whatever statuses
    and visibility were passed: published and public, always."""
    tenant = require_current_tenant()
    sql = ["a.tenant_id = %s"]
    params: list = [tenant.pk]
    if audience == "customer":
        statuses, visibility = (Article.Status.PUBLISHED,), Article.Visibility.PUBLIC
    elif audience != "agent":
        raise ValueError(f"unknown audience {audience!r}")
    statuses = statuses or (Article.Status.PUBLISHED,)
    sql.append("a.status = ANY(%s)")
    params.append(list(statuses))
    if visibility:
        sql.append("a.visibility = %s")
        params.append(visibility)
    if language:
        sql.append("a.language = %s")
        params.append(language)
    if section_id:
        sql.append("a.section_id = %s")
        params.append(section_id)
    if category_id:
        sql.append(
            "a.section_id IN (SELECT s.id FROM knowledge_section s WHERE s.category_id = %s)"
        )
        params.append(category_id)
    if exclude_ids:
        sql.append("NOT (a.id = ANY(%s))")
        params.append(list(exclude_ids))
    return " AND ".join(sql), params


def _full_text(where: str, params: list, words: list[str], phrase: str, limit: int,
               offset: int) -> list[tuple[int, float]]:  # fmt: skip
    """(id, score) of the articles containing any of `words`, best first.

    Two steps, so each article's vector is read as few times as possible: the candidates
    matching any word, ranked by ts_rank_cd (title words weigh most), keep the best
    CANDIDATES; those are scored on how many of the words they hold, in the text and in the
    title (a weight-A match), and the whole query in the title."""
    terms = [f"{w}:*" for w in words]
    any_term = " | ".join(terms)
    matched = " + ".join("(c.v @@ to_tsquery('simple', %s))::int" for _ in terms)
    in_title = " + ".join("(c.v @@ to_tsquery('simple', %s))::int" for _ in terms)
    title_terms = [f"{w}:*A" for w in words]
    sql = f"""
        SELECT c.id,
               ({matched}) * 1.0 + ({in_title}) * 0.5
               + CASE WHEN strpos(c.st, %s) > 0 THEN 1.0 ELSE 0 END + c.rank AS score
        FROM (
            SELECT a.id, a.search_vector AS v, a.search_title AS st,
                   ts_rank_cd(a.search_vector, to_tsquery('simple', %s), 1) AS rank
            FROM knowledge_article a
            WHERE {where} AND a.search_vector @@ to_tsquery('simple', %s)
            ORDER BY rank DESC, a.id DESC
            LIMIT %s
        ) c
        ORDER BY score DESC, c.id DESC
        LIMIT %s OFFSET %s
    """  # noqa: S608 - every value is a parameter; the SQL is built from fixed pieces
    candidates = max(CANDIDATES, offset + limit)
    args = [*terms, *title_terms, phrase, any_term, *params, any_term, candidates, limit, offset]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def _similar(where: str, params: list, query: str, words: list[str], limit: int,
             ) -> list[tuple[int, float]]:  # fmt: skip
    """(id, score) by trigram similarity with the title and, for one or two Chinese
    characters, by substring in title and text."""
    needle = " ".join(words) or query.lower()
    conditions = ["strict_word_similarity(%s, a.search_title) >= %s"]
    cond_params: list = [needle, TRIGRAM_THRESHOLD]
    score = "strict_word_similarity(%s, a.search_title)"
    score_params: list = [needle]
    if _is_short_cjk(query):
        chars = re.sub(r"\s+", "", query)
        conditions.append("strpos(a.title, %s) > 0 OR strpos(a.body_text, %s) > 0")
        cond_params += [chars, chars]
        score += " + CASE WHEN strpos(a.title, %s) > 0 THEN 1.0 WHEN strpos(a.body_text, %s) > 0 THEN 0.5 ELSE 0 END"  # noqa: E501
        score_params += [chars, chars]
    sql = f"""
        SELECT a.id, {score} AS score FROM knowledge_article a
        WHERE {where} AND ({" OR ".join(conditions)})
        ORDER BY score DESC, a.id DESC LIMIT %s
    """  # noqa: S608 - every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [*score_params, *params, *cond_params, limit])
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def search(
    query: str,
    *,
    language: str | None,
    audience: Audience = "customer",
    limit: int = 10,
    offset: int = 0,
    statuses: tuple[str, ...] | None = None,
    visibility: str | None = None,
    category_id: int | None = None,
    section_id: int | None = None,
    exclude_ids: tuple[int, ...] = (),
    log: bool = True,
) -> SearchResult:
    """Ranked articles for `query` in the current tenant. See the module docstring."""
    query = (query or "").strip()[:MAX_QUERY_CHARS]
    result = SearchResult(query=query)
    words = query_tokens(query)
    if not words and not _is_short_cjk(query):
        return result
    language = normalise_language(language)
    where, params = _where(
        language=language, audience=audience, statuses=statuses, visibility=visibility,
        category_id=category_id, section_id=section_id, exclude_ids=exclude_ids,
    )  # fmt: skip
    phrase = segment(query)
    found = _full_text(where, params, words, phrase, limit + 1, offset) if words else []
    by = dict.fromkeys((i for i, _ in found), "text")
    if len(found) <= limit and offset == 0:
        for article_id, score in _similar(where, params, query, words, limit + 1):
            if article_id not in by:
                found.append((article_id, score))
                by[article_id] = "similar"
    result.has_more = len(found) > limit
    found = found[:limit]
    result.hits = _hits(found, by, words, query)
    if log and offset == 0 and not result.hits:
        _log(query, language, audience)
    return result


def _hits(found: list[tuple[int, float]], by: dict, words: list[str], query: str) -> list[Hit]:
    if not found:
        return []
    articles = Article.objects.select_related("section", "section__category").in_bulk(
        [i for i, _ in found]
    )
    pattern = highlight_pattern(words or [re.sub(r"\s+", "", query)])
    hits = []
    for article_id, score in found:
        article = articles.get(article_id)
        if article is None:
            continue
        hits.append(
            Hit(
                article=article,
                score=score,
                title_html=highlight(article.title, pattern),
                snippet_html=snippet(article.body_text, pattern),
                matched_by=by[article_id],
            )
        )
    return hits


def _log(query: str, language: str | None, audience: str) -> None:
    try:
        with transaction.atomic():  # a failed log write must not break the caller's transaction
            SearchLog.objects.create(
                query=query[:200], language=language or "", audience=audience, result_count=0
            )
    except Exception:  # noqa: BLE001, S110 - the log is a nicety; the search answered
        pass


# --- Suggestions ----------------------------------------------------------------------------


def suggest_for_text(
    text: str, language: str | None, limit: int = 3, *, audience: Audience = "customer"
) -> list[Hit]:
    """Published public articles (agents: internal too) for a ticket's or a draft request's
    text, best first; nothing rather than a weak guess (at least two of its words, or one in
    the title)."""
    words = query_tokens(text, limit=MAX_TOKENS)
    if not words or limit <= 0:
        return []
    result = search(" ".join(words), language=language, audience=audience, limit=limit * 2,
                    log=False)  # fmt: skip
    strong = [h for h in result.hits if h.matched_by == "text" and h.score >= 1.5]
    return strong[:limit]


# --- Highlighting ---------------------------------------------------------------------------


def highlight_pattern(words: list[str]) -> re.Pattern | None:
    parts = []
    for word in sorted({w for w in words if w}, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(escaped if _CJK.search(word) else rf"(?<!\w){escaped}\w*")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def highlight(text: str, pattern: re.Pattern | None) -> SafeString:
    """`text` escaped, every match of `pattern` in <mark>."""
    if pattern is None:
        return mark_safe(html.escape(text))  # noqa: S308 - escaped just now
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        out.append(f"<mark>{html.escape(match.group(0))}</mark>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped above


def snippet(text: str, pattern: re.Pattern | None, size: int = SNIPPET_CHARS) -> SafeString:
    """About `size` characters of `text` around its first match (its start when none)."""
    text = re.sub(r"\s+", " ", text or "").strip()
    match = pattern.search(text) if pattern else None
    start = 0
    if match and match.start() > size // 3:
        start = match.start() - size // 3
        space = text.find(" ", start, match.start())
        if 0 <= space - start < 20:
            start = space + 1
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start + size // 2, end)
        end = space if space > 0 else end
    piece = highlight(text[start:end], pattern)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(f"{prefix}{piece}{suffix}")  # noqa: S308 - piece escaped by highlight()

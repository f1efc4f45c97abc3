"""Markdown to safe HTML: markdown-it-py (CommonMark + tables + strikethrough, raw HTML off)
then nh3 (Ammonia) with a short allow-list, once, when an article is saved.

Files of the article are referred to as `attachment:<id>` (`![screenshot](attachment:12)`,
`[the form](attachment:13)`); the stored HTML keeps that reference and `expand_files` turns it
into the URL the reader may use (agent or customer view) when the page is shown. Remote images
are dropped: they would let the author track readers and would be fetched from our pages.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"style"},
    "th": {"style"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto", "attachment"}
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
INLINE_IMAGE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "webp"}
_FILE_REF = re.compile(r'(src|href)="attachment:(\d+)"')
_ALIGN = re.compile(r"^text-align:\s*(left|right|center)$")

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable(["table", "strikethrough"])


def inline_image_allowed(content_type: str, filename: str) -> bool:
    """A raster image by both its stored type and its extension (never SVG or HTML)."""
    extension = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    return content_type in INLINE_IMAGE_TYPES and extension in INLINE_IMAGE_EXTENSIONS


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if value.startswith("attachment:") else None
    if attribute == "style":  # tables' column alignment only
        return value if _ALIGN.match(value) else None
    return value


def render(markdown: str) -> str:
    """Sanitised HTML of `markdown`, safe to store and to show."""
    return nh3.clean(
        _md.render(markdown or ""),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_attribute_filter,
    )


def html_to_text(markup: str) -> str:
    """Plain text of rendered HTML (for search and snippets): block ends become line breaks."""
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h[1-6]|pre|blockquote)>", "\n", markup)
    text = re.sub(r"(?i)</t[dh]>", " ", text)
    text = re.sub(r"(?i)<img[^>]*alt=\"([^\"]*)\"[^>]*>", r" \1 ", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def expand_files(markup: str, url_for: Callable[[int], str | None]) -> str:
    """Replace `attachment:<id>` references with `url_for(id)`; an unknown id (another
    article's, a deleted file) becomes an empty reference rather than a guessable URL."""

    def replace(match: re.Match) -> str:
        url = url_for(int(match.group(2)))
        return f'{match.group(1)}="{html.escape(url or "", quote=True)}"'

    return _FILE_REF.sub(replace, markup)


def file_ids(markup: str) -> set[int]:
    return {int(m.group(2)) for m in _FILE_REF.finditer(markup)}

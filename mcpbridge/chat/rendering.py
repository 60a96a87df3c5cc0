"""The assistant's Markdown as HTML that can carry no script.

Two layers: markdown-it renders with raw HTML off (so ``<script>`` in an answer is
shown as text), then nh3 keeps only an allow-list of tags and attributes, and only
http, https and mailto links. Images become links: an image loads by itself, and a URL
the model was led to write could carry data out of the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _image_as_link(renderer: Any, tokens: Sequence[Any], index: int, options: Any, env: Any) -> str:
    token = tokens[index]
    alt = "".join(child.content for child in token.children or []) or "image"
    return f'<a href="{escape(token.attrGet("src") or "")}">{escape(alt)}</a>'


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_link)
    return md


def markdown_html(text: str) -> SafeString:
    """``text`` (Markdown) as sanitised HTML, safe to put in a page as it is."""
    rendered = _markdown().render(text or "")
    clean = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return mark_safe(clean)  # noqa: S308 (sanitised by nh3 just above)

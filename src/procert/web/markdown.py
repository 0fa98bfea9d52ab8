"""Job descriptions and other operator-sent Markdown, rendered for a page without letting it run anything: raw
HTML shows as text, only http(s) and mailto links survive (markdown-it's own link check), images are off (no
tracking pixels or mixed content), headings sit below the page's own, and links leave with ``nofollow``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

#: A description's headings start at <h3> (the page's title is the h1, its sections h2) and skip no level.
FIRST_HEADING = 3
SAFE_SCHEMES = ("http", "https", "mailto")


def _link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    if urlsplit(href).scheme.lower() not in SAFE_SCHEMES:
        token.attrSet("href", "#")  # relative links would point into procert's own site, not the client's
    token.attrSet("rel", "nofollow ugc noopener")
    return self.renderToken(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"], ignoreInvalid=True)
    md.add_render_rule("link_open", _link_open)
    return md


def render_markdown(text: str | None) -> Markup:
    """``text`` as safe HTML (empty for no text)."""
    if not text:
        return Markup("")
    md = _parser()
    tokens = md.parse(text)
    # The levels used, in order, become h3, h4, …: "#" then "###" reads h3 then h4, as screen readers expect.
    levels = sorted({t.tag for t in tokens if t.type == "heading_open"})
    outline = {tag: f"h{min(6, FIRST_HEADING + i)}" for i, tag in enumerate(levels)}
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = outline[token.tag]
    return Markup(md.renderer.render(tokens, md.options, {}))  # raw HTML is disabled: every character is escaped


def plain_excerpt(text: str | None, limit: int = 100) -> str:
    """The words of ``text`` without its Markdown, on one line, cut at ``limit`` characters (for a job's card)."""
    if not text:
        return ""
    words: list[str] = []
    for block in _parser().parse(text):
        for child in block.children or []:
            if child.type in ("text", "code_inline"):
                words.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                words.append(" ")
        if block.type == "inline":
            words.append(" ")
    flat = " ".join("".join(words).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"

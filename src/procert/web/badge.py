"""The embeddable badge: an SVG mark, crisp at any size, for certified workers and a neutral one otherwise."""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{label}">
<title>{label}</title>
<rect width="{left}" height="20" rx="3" fill="#3b4252"/>
<rect x="{left}" width="{right}" height="20" rx="3" fill="{color}"/>
<rect x="{left}" width="4" height="20" fill="{color}"/>
<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">
<text x="{left_mid}" y="14">{name}</text>
<text x="{right_mid}" y="14">{status}</text>
</g>
</svg>
"""


def _text_width(text: str) -> int:
    # Wide (CJK) characters take about twice the width of Latin ones at this size.
    return sum(12 if ord(ch) > 0x2E7F else 7 for ch in text) + 10


#: What a worker who is not certified gets: nothing to see, so a copied badge never shows a mark it no longer has.
EMPTY_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1" role="presentation" aria-hidden="true"/>\n'
#: Names longer than this are cut with an ellipsis on the badge (the profile it links to has the whole name).
NAME_CHARS = 14


def badge_svg(
    program_name: str, certified: bool, status_text: str, *, color: str | None = None, name: str | None = None
) -> str:
    """The badge: the program's name, and the status (or level) in its colour, with the worker's name, so that it
    cannot pass for someone else's on another page."""
    if name:
        short = name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"
        status_text = f"{status_text} · {short}"
    left, right = _text_width(program_name), _text_width(status_text)
    return _SVG.format(
        width=left + right,
        left=left,
        right=right,
        left_mid=left / 2,
        right_mid=left + right / 2,
        color=escape(color) if color else "#c8102e" if certified else "#9aa1ab",
        name=escape(program_name),
        status=escape(status_text),
        label=escape(f"{program_name}: {status_text}"),
    )


def etag(content: str) -> str:
    return '"' + hashlib.sha256(content.encode()).hexdigest()[:20] + '"'


def embed_snippets(*, public_url: str, worker_id: str, display_name: str, program_name: str) -> dict[str, str]:
    """How to put the badge on another page: HTML and Markdown, the image linked to the worker's profile here, so
    anyone can check it (and a copied badge still says whose it is)."""
    from urllib.parse import quote

    base = public_url.rstrip("/")
    worker = quote(worker_id, safe="")
    profile, image = f"{base}/workers/{worker}", f"{base}/badge/{worker}.svg"
    alt = escape(f"{program_name}: {display_name}", {'"': "&quot;"})
    return {
        "html": f'<a href="{profile}"><img src="{image}" alt="{alt}" height="20"></a>',
        "markdown": f"[![{program_name}: {display_name}]({image})]({profile})",
    }

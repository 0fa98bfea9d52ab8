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


def badge_svg(program_name: str, certified: bool, status_text: str, *, color: str | None = None) -> str:
    """The badge: the program's name, and the status (or level) in its colour."""
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

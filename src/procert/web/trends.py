"""Each criterion's value over time (every recorded run, then today) with its threshold: the data the status API
returns and a small SVG chart the dashboard draws on the server (readable without JavaScript; the same points are
listed in a table for screen readers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from procert.i18n import format_value
from procert.programs import Criterion

WIDTH, HEIGHT, PAD = 320, 90, 12


@dataclass(frozen=True)
class Point:
    as_of: date
    value: float | None  # booleans as 1 / 0; None without data
    shown: str  # the value for people
    live: bool  # today's value rather than a recorded run's


@dataclass(frozen=True)
class Trend:
    criterion: Criterion
    threshold: float
    points: list[Point]

    @property
    def better_is_lower(self) -> bool:
        return self.criterion.comparison in ("<=", "<")

    def svg(self, label: str, threshold_text: str) -> str:
        """The chart: the values as a line (today's point hollow), the threshold as a dashed line; for ranks the
        axis is turned so that better is always up."""
        known = [p.value for p in self.points if p.value is not None]
        low = min([*known, self.threshold])
        high = max([*known, self.threshold])
        if high == low:
            high, low = high + 1, low - 1
        span = len(self.points) - 1 or 1

        def x(i: int) -> float:
            return PAD + (WIDTH - 2 * PAD) * i / span

        def y(value: float) -> float:
            share = (value - low) / (high - low)
            if self.better_is_lower:
                share = 1 - share
            return HEIGHT - PAD - (HEIGHT - 2 * PAD) * share

        line = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(self.points) if p.value is not None)
        dots = "".join(
            f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="3.5" class="{"live" if p.live else "run"}">'
            f"<title>{escape(p.as_of.isoformat())}: {escape(p.shown)}</title></circle>"
            for i, p in enumerate(self.points)
            if p.value is not None
        )
        limit = y(self.threshold)
        summary = f"{label}: " + ", ".join(f"{p.as_of.isoformat()} {p.shown}" for p in self.points)
        return (
            f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="{escape(summary, {chr(34): "&quot;"})}">'
            f'<line class="threshold" x1="{PAD}" x2="{WIDTH - PAD}" y1="{limit:.1f}" y2="{limit:.1f}">'
            f"<title>{escape(threshold_text)}</title></line>"
            + (f'<polyline points="{line}" fill="none"/>' if line else "")
            + dots
            + "</svg>"
        )


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value)


def trend_of(
    criterion: Criterion,
    division: str,
    runs: list[tuple[date, Any]],
    today: tuple[date, Any],
    lang: str,
) -> Trend:
    """The criterion's values at each run (``(as_of, value)``, oldest first) and today."""
    threshold = criterion.threshold_for(division)
    points = [
        Point(as_of, _number(value), format_value(value, lang, display=criterion.display), False)
        for as_of, value in runs
    ]
    points.append(Point(today[0], _number(today[1]), format_value(today[1], lang, display=criterion.display), True))
    return Trend(criterion, float(threshold), points)

"""User-facing text in Japanese (the default) and English, from Babel (gettext) message catalogues.

The catalogues live in ``procert/locale/<lang>/LC_MESSAGES/procert.po`` with symbolic message ids (``web_directory``),
so a wording change never breaks a lookup; ``procert/locale/procert.pot`` is the template for a new language. Texts
are ``str.format`` templates; a test checks that every language has every message with the same placeholders and
that every message the code and templates use exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "procert"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The translated messages of ``lang`` (fuzzy and untranslated entries left out)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    # Symbolic ids and no plural forms: every id and text is a plain string.
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def messages() -> dict[str, dict[str, str]]:
    """Every message id with its text per language: ``{id: {lang: text}}``."""
    ids = dict.fromkeys(k for lang in LANGS for k in catalogue(lang))
    return {k: {lang: catalogue(lang)[k] for lang in LANGS if k in catalogue(lang)} for k in ids}


def has_message(key: str) -> bool:
    """Whether the catalogues hold ``key`` (for texts that exist for some cases only)."""
    return key in catalogue(DEFAULT_LANG)


def t(key: str, lang: str = DEFAULT_LANG, /, **values: Any) -> str:
    """The message ``key`` in ``lang`` (falling back to Japanese), formatted with ``values``."""
    template = catalogue(lang if lang in LANGS else DEFAULT_LANG).get(key) or catalogue(DEFAULT_LANG)[key]
    return template.format(**values)


@dataclass(frozen=True)
class Message:
    """A text to be read later in the reader's language: a message id and its values. Library code reports
    progress and outcomes as messages; the CLI and the web render them in the language of who reads them."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return t(self.key, lang, **self.values)

    def __str__(self) -> str:
        return self.text()

    def __hash__(self) -> int:  # the values are a mapping: hashed by their items
        return hash((self.key, tuple(sorted((k, str(v)) for k, v in self.values.items()))))


#: Where long work reports each step it starts (an import's files, a run's stages).
Progress = Callable[[Message], None]


def label(prefix: str, code: str, lang: str = DEFAULT_LANG) -> str:
    """A code's label when the catalogues have one (``prefix`` + code), else the code itself (an operator's own
    company tiers, say, keep their names)."""
    return t(prefix + code, lang) if has_message(prefix + code) else code


def audit_action(action: str, lang: str = DEFAULT_LANG) -> str:
    """An audit entry's action in words: ``run.recorded`` → 実行を記録 / run recorded (an action without a label, as
    it is)."""
    key = "audit_" + action.replace(".", "_")
    return t(key, lang) if has_message(key) else action


def yen(amount: int | float) -> str:
    """An amount of yen for people, the same in both languages: ¥82,000 (−¥5,000 for a refund)."""
    whole = round(amount)
    return f"{'−' if whole < 0 else ''}¥{abs(whole):,}"


def format_value(value: Any, lang: str = DEFAULT_LANG, *, display: str | None = None) -> str:
    """A measured value for people: 4 decimals at most (a percentage with 2 when ``display`` is "percent"),
    yes/no for true/false, a dash for no data."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if display == "percent" and isinstance(value, int | float):
        return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"
    if display == "yen" and isinstance(value, int | float):
        return yen(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def local_time(value: datetime, timezone: str, *, minutes: bool = True) -> str:
    """A stored (naive UTC) instant as people in the program's time zone read it: ``2026-12-02 09:15``."""
    local = value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d")

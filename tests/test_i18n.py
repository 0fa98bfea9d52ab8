"""The message catalogues (Babel .po files): complete in both languages, consistent, and covering every message
the code and the templates ask for."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from babel.messages.pofile import read_po

from procert.i18n import LANGS, LOCALE_DIR, audit_action, catalogue, has_message, messages, t
from procert.ledger import HeadlineKind
from procert.metrics.lineage import REASONS

SRC = Path(__file__).resolve().parents[1] / "src" / "procert"
LITERAL = re.compile(r"""\b(?:t|Message)\(\s*["']([a-z0-9_]+)["']\s*[,)]""")
#: Import problems and e-mail rules name their messages by id (``problem(..., "import_empty")``, ``sql_reason(...)``).
PROBLEM = re.compile(r"""["']((?:import|email|refused)_[a-z0-9_]+)["']""")
NOT_MESSAGES = {"import_export"}  # a function's name in __all__
PREFIX = re.compile(r"""\bt\(\s*["']([a-z0-9_]+_)["']\s*[+~]""")
#: Messages looked up by prefix + value: every value the code can produce must have a message.
DYNAMIC = {
    "web_kind_": ("granted", "promoted", "kept", "demoted", "lost"),
    "web_reason_": ("criteria", "grace", "override", "leave", "held", "missing"),
    "correction_subject_": ("recomputed", "accepted", "dismissed"),
    "correction_lead_": ("recomputed", "accepted", "dismissed"),
    "correction_item_": tuple(k + held for k in ("granted", "raised", "removed", "lowered") for held in ("", "_held")),
    "correction_status_": ("applied", "pending", "accepted", "dismissed"),
    "notify_kind_": (
        "granted",
        "promoted",
        "kept",
        "demoted",
        "lost",
        "at_risk",
        "job_digest",
        "newsletter",
        "appeal_answered",
        "correction",
        "leave_recorded",
    ),
    "error_title_": ("400", "401", "403", "404", "405", "409", "410", "413", "422", "429", "other"),
    "error_hint_": ("400", "401", "403", "404", "405", "409", "410", "413", "422", "429", "other"),
    "web_tier_": ("listed", "well_known", "other"),
    "web_per_unit_": ("project", "hour", "day", "month", "item", "character"),
    "leave_category_": ("illness", "childcare", "holiday", "other"),
    "leave_mail_subject_": ("declared", "cancelled", "cut_short"),
    "leave_mail_lead_": ("declared", "cancelled", "cut_short"),
    "leave_mail_meaning_": ("declared", "cancelled", "cut_short"),
    "leave_state_": ("ahead", "now", "past", "cancelled"),
    "web_outbox_": ("pending", "sent", "failed", "skipped"),
    "web_sort_": ("rating", "recent", "name"),
    "web_job_part_": ("company_tier", "unit_price", "order_probability"),
    "verdict_": get_args(HeadlineKind),
    "share_none_margin_": ("reviews", "replies"),
    "lineage_": tuple(sorted(REASONS)),
    "share_none_gap_": ("reviews", "replies"),
    "share_margin_": ("reviews", "replies"),
    "share_gap_": ("reviews", "replies"),
}


def sources() -> list[Path]:
    return [p for p in SRC.rglob("*") if p.suffix in (".py", ".html", ".j2") and p.is_file()]


def test_every_language_has_every_message_with_the_same_placeholders():
    table = messages()
    assert len(table) > 100
    for key, texts in table.items():
        assert set(texts) == set(LANGS), f"{key} is missing in {set(LANGS) - set(texts)}"
        fields = {lang: set(re.findall(r"{(\w+)(?::[^}]*)?}", text)) for lang, text in texts.items()}
        assert fields["ja"] == fields["en"], key


def test_the_template_lists_exactly_the_catalogue_ids():
    with (LOCALE_DIR / "procert.pot").open("rb") as f:
        template_ids = {m.id for m in read_po(f) if m.id}
    assert template_ids == set(catalogue("ja")) == set(catalogue("en"))


def test_every_message_the_code_uses_exists():
    used: set[str] = set()
    prefixes: set[str] = set()
    for path in sources():
        text = path.read_text(encoding="utf-8")
        used |= set(LITERAL.findall(text))
        used |= set(PROBLEM.findall(text)) - NOT_MESSAGES
        prefixes |= set(PREFIX.findall(text))
    assert {"web_directory", "web_admin_sign_in", "status_certified"} <= used  # the scan does find them
    missing = sorted(k for k in used if k not in catalogue("ja"))
    assert not missing, f"messages used but not in the catalogues: {missing}"
    assert prefixes <= set(DYNAMIC), f"add the values of {prefixes - set(DYNAMIC)} to DYNAMIC"
    for prefix, values in DYNAMIC.items():
        for value in values:
            assert prefix + value in catalogue("ja"), prefix + value


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("ja", "次回の判定日: 2025-04-01"), ("en", "Next evaluation: 2025-04-01"), ("fr", "次回の判定日: 2025-04-01")],
)
def test_lookup_formats_and_falls_back_to_japanese(lang, expected):
    assert t("next_evaluation", lang, date="2025-04-01") == expected


def test_an_unknown_message_is_an_error_not_a_blank():
    with pytest.raises(KeyError):
        t("no_such_message")


#: Audit actions the code writes as literals, and those it builds (a session's kind, a correction's stage).
ACTION = re.compile(r"""\baction["']?\s*[:=]\s*["']([a-z_]+\.[a-z_]+)["']""")
BUILT_ACTION = re.compile(r'\baction["\']?\s*[:=]\s*f"([^"]+)"')
BUILT_ACTIONS = (
    {f"{kind}.{what}" for kind in ("admin", "worker") for what in ("session_started", "signed_out")}
    | {f"{kind}.signed_out_everywhere" for kind in ("admin", "worker")}
    | {f"correction.{stage}" for stage in ("applied", "pending", "accepted", "dismissed")}
    | {"leave.cancelled", "leave.cut_short"}
    | {f"status.{kind}" for kind in ("granted", "kept", "lost", "promoted", "demoted")}
)


def test_every_audit_action_has_a_label_in_both_languages():
    written = {found for path in sources() for found in ACTION.findall(path.read_text(encoding="utf-8"))}
    assert {"run.recorded", "override.set", "notification.sent"} <= written  # the scan does find them
    # Every action the code builds (an f-string) is one of BUILT_ACTIONS' forms.
    built = {found for path in sources() for found in BUILT_ACTION.findall(path.read_text(encoding="utf-8"))}
    assert {"{kind}.session_started", "correction.{c.status}"} <= built
    for template in built:
        shape = "[a-z_]+".join(re.escape(part) for part in re.split(r"\{[^}]*\}", template))
        assert any(re.fullmatch(shape, a) for a in BUILT_ACTIONS), f"add the actions {template!r} builds"
    unlabelled = sorted(a for a in written | BUILT_ACTIONS if not has_message("audit_" + a.replace(".", "_")))
    assert not unlabelled, f"audit actions without a label: {unlabelled}"
    assert (audit_action("run.recorded", "ja"), audit_action("run.recorded", "en")) == ("実行を記録", "run recorded")
    assert audit_action("plugin.did_something") == "plugin.did_something"  # an unknown action shows as it is

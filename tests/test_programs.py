"""Programs: the preset's exact semantics, cadence dates, and precise errors for malformed files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from procert.programs import ProgramError, load_program, parse_program, preset_ids
from procert.programs.loader import _presets_dir

PRESET = (_presets_dir() / "crowdworks-pro.toml").read_text(encoding="utf-8")


def test_crowdworks_pro_preset_has_the_six_criteria():
    program = load_program("crowdworks-pro")
    assert "crowdworks-pro" in preset_ids()
    assert program.timezone == "Asia/Tokyo"
    assert program.eligible_statuses == ["active"]
    rules = {c.id: (c.metric, c.comparison, c.threshold, c.division_thresholds) for c in program.criteria}
    assert rules == {
        "completion_rate": ("completion_rate", ">=", Decimal("0.90"), {}),
        "overall_rating": ("review_mean", ">=", Decimal("4.8"), {}),
        "earnings_rank": ("earnings_best_rank", "<=", Decimal(200), {"engineer": Decimal(100)}),
        "scouts": ("scout_count", ">=", Decimal(5), {}),
        "communication_rating": ("review_mean", ">=", Decimal("4.8"), {}),
        "profile": ("profile_complete", "==", True, {}),
    }
    assert program.criterion("communication_rating").params["items"] == ["communication"]
    assert program.criterion("completion_rate").params == {"window_months": 12, "contract_kinds": ["fixed"]}
    assert program.criterion("scouts").params == {"window_months": 12, "kinds": ["direct"]}


@pytest.mark.parametrize(
    ("day", "latest", "following"),
    [
        (date(2025, 1, 1), date(2025, 1, 1), date(2025, 4, 1)),
        (date(2024, 12, 31), date(2024, 10, 1), date(2025, 1, 1)),
        (date(2026, 11, 29), date(2026, 10, 1), date(2027, 1, 1)),
        (date(2024, 2, 29), date(2024, 1, 1), date(2024, 4, 1)),
    ],
)
def test_quarterly_cadence(day, latest, following):
    cadence = load_program("crowdworks-pro").cadence
    assert cadence.latest_on_or_before(day) == latest
    assert cadence.next_after(day) == following


def test_toml_float_threshold_keeps_its_decimal_meaning():
    program = parse_program(PRESET.replace('threshold = "4.8"', "threshold = 4.8", 1), "x.toml")
    assert program.criterion("overall_rating").threshold == Decimal("4.8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'metric = "scout_count"',
            'metric = "scout_total"',
            "criteria[3] (scouts).metric: unknown metric 'scout_total'",
        ),
        ('kinds = ["direct"]', 'kinds = ["direct", "carrier-pigeon"]', "unknown scout kind(s) ['carrier-pigeon']"),
        ("threshold = 5", 'threshold = "five"', "criteria[3] (scouts).threshold: threshold must be a number"),
        ('timezone = "Asia/Tokyo"', 'timezone = "Mars/Olympus"', "timezone: unknown time zone 'Mars/Olympus'"),
        ('id = "scouts"', 'id = "profile"', "criterion id 'profile' appears twice"),
        ('id = "scouts"', 'id = "certified"', "is reserved"),
        ("months = [1, 4, 7, 10]", "months = [1, 13]", "cadence.months: months must be between 1 and 12"),
        ("threshold = true", "threshold = 1", "use comparison '==' and threshold true/false"),
        ("version = 2", "version = 0", "version: Input should be greater than or equal to 1"),
        ('[name]\nja = "プロクラウドワーカー"', '[name]\nzz = "x"', "name.ja: Field required"),
        ("params = { months = 12 }", "params = { months = 12, weeks = 3 }", "weeks: Extra inputs are not permitted"),
    ],
)
def test_malformed_program_errors_name_the_field(old, new, message):
    assert old in PRESET
    with pytest.raises(ProgramError) as info:
        parse_program(PRESET.replace(old, new, 1), "my.toml")
    assert str(info.value).startswith("my.toml: invalid program")
    assert message in str(info.value)


def test_toml_syntax_error_names_line():
    with pytest.raises(ProgramError, match=r"my.toml: not valid TOML: .*line 2"):
        parse_program('id = "x"\nversion = = 1\n', "my.toml")


def test_unknown_program_reference_lists_presets(tmp_path: Path):
    with pytest.raises(
        ProgramError,
        match="no program preset or file named 'nope'; presets: coconala-rank, crowdworks-pro, lancers-certified",
    ):
        load_program("nope")
    custom = tmp_path / "mine.toml"
    custom.write_text(PRESET.replace('id = "crowdworks-pro"', 'id = "mine"'), encoding="utf-8")
    assert load_program(custom).id == "mine"


def test_benefits_settings_default_and_validate():
    from procert.programs import Benefits, PremiumScore

    preset = load_program("crowdworks-pro").benefits
    assert (preset.early_access_hours, preset.premium.threshold, preset.newsletter_features) == (24, 60, 6)
    assert Benefits().premium.tier_points == {"listed": 40.0, "well_known": 30.0, "other": 0.0}
    with pytest.raises(ValueError, match="add up to 110; at most 100"):
        PremiumScore(tier_points={"listed": 50}, unit_price_points=30, probability_points=30)


def test_cached_lookups_follow_a_copy_with_changed_rules():
    from procert.programs import load_program

    program = load_program("crowdworks-pro")
    assert [t.id for t in program.tiers] == ["crowdworks-pro"]  # one implicit level, cached from here on
    coconala = load_program("coconala-rank")
    copied = program.model_copy(update={"id": "renamed", "criteria": coconala.criteria, "levels": coconala.levels})
    assert [t.id for t in copied.tiers] == ["regular", "bronze", "silver", "gold", "platinum"]
    assert copied.criterion("rating").metric == "review_mean"
    assert [t.id for t in program.tiers] == ["crowdworks-pro"]

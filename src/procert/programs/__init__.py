"""Programs: certification rules as versioned, validated data (TOML), and the shipped presets."""

from procert.programs.loader import ProgramError, list_programs, load_program, parse_program, preset_ids
from procert.programs.model import Benefits, Cadence, Criterion, Division, Grace, PremiumScore, Program, Texts

DEFAULT_PROGRAM = "crowdworks-pro"

__all__ = [
    "DEFAULT_PROGRAM",
    "Benefits",
    "Cadence",
    "Criterion",
    "Division",
    "Grace",
    "PremiumScore",
    "Program",
    "ProgramError",
    "Texts",
    "list_programs",
    "load_program",
    "parse_program",
    "preset_ids",
]

"""Find and load programs: a preset id shipped with procert, or a path to an operator's TOML file."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from procert.errors import ProcertError
from procert.programs.model import Program


class ProgramError(ProcertError, ValueError):
    """A program cannot be found or its file is malformed; the message says where and why."""


def _presets_dir() -> Path:
    return Path(str(resources.files("procert.programs") / "presets"))


def preset_ids() -> list[str]:
    return sorted(p.stem for p in _presets_dir().glob("*.toml"))


def _location(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    """Render a pydantic error location, naming criteria by their id: criteria[2] (scouts).threshold."""
    parts: list[str] = []
    node: object = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict) and "id" in node[item]:
                label += f" ({node[item]['id']})"
            parts.append(label)
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def parse_program(text: str, source: str) -> Program:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgramError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Program.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: invalid program ({exc.error_count()} problem(s))"]
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"  {_location(err['loc'], data)}: {message}")
        raise ProgramError("\n".join(lines)) from None


def load_program(ref: str | Path) -> Program:
    """Load a program by preset id (``crowdworks-pro``) or by path to a TOML file."""
    ref_str = str(ref)
    if ref_str in preset_ids():
        path = _presets_dir() / f"{ref_str}.toml"
    else:
        path = Path(ref_str).expanduser()
        if not path.is_file():
            raise ProgramError(f"no program preset or file named {ref_str!r}; presets: {', '.join(preset_ids())}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramError(f"{path}: cannot be read: {exc}") from None
    return parse_program(text, str(path))


def list_programs() -> list[Program]:
    return [load_program(pid) for pid in preset_ids()]

"""Add messages to the catalogues: python scripts/add_messages.py FILE.json, where FILE.json maps a message id to
{"ja": ..., "en": ...}. Appends to both .po files and the .pot template; refuses ids that exist already."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE = Path(__file__).resolve().parents[1] / "src" / "procert" / "locale"


def main(path: str) -> None:
    new: dict[str, dict[str, str]] = json.loads(Path(path).read_text(encoding="utf-8"))
    targets = {lang: LOCALE / lang / "LC_MESSAGES" / "procert.po" for lang in ("ja", "en")}
    targets["pot"] = LOCALE / "procert.pot"
    for lang, file in targets.items():
        with file.open("rb") as f:
            catalog = read_po(f, locale=None if lang == "pot" else lang)
        for key, texts in new.items():
            if key in catalog:
                sys.exit(f"{key} is already in {file}")
            if lang == "pot":
                catalog.add(key, "", auto_comments=[f"ja: {texts['ja']}", f"en: {texts['en']}"])
            else:
                catalog.add(key, texts[lang])
        with file.open("wb") as f:
            write_po(f, catalog, width=120, sort_output=False)
    print(f"added {len(new)} message(s)")


if __name__ == "__main__":
    main(sys.argv[1])

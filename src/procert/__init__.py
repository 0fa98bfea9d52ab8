"""procert: run a Pro worker certification program for a crowdsourcing marketplace.

The code follows one flow, each stage a package that imports only from the stages before it
(docs/architecture.md; tests/test_architecture.py enforces it):

    facts  →  metrics  →  programs  →  evaluation  →  ledger  →  notify  →  benefits  →  web / cli

The CLI and the web both take one :class:`procert.Procert` (``procert.core``), built from the settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Procert", "__version__"]

if TYPE_CHECKING:
    from procert.core import Procert


def __getattr__(name: str) -> Any:
    # `procert.Procert` without importing every stage on `import procert` (the CLI's --version stays fast).
    if name == "Procert":
        from procert.core import Procert

        return Procert
    raise AttributeError(f"module 'procert' has no attribute {name!r}")

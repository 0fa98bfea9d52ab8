"""procert: run a Pro worker certification program for a crowdsourcing marketplace.

The code follows one flow, each stage a package that imports only from the stages before it
(docs/architecture.md; tests/test_architecture.py enforces it):

    facts  →  metrics  →  programs  →  evaluation  →  ledger  →  notify  →  benefits  →  web / cli
"""

__version__ = "0.1.0"

"""procert: run a Pro worker certification program for a crowdsourcing marketplace.

The code follows one flow, each stage a package that imports only from stages before it:

    facts -> metrics -> programs -> evaluation -> (ledger, benefits, notify) -> cli / web
"""

__version__ = "0.1.0"

"""The marketplace data contract: which tables an export holds and what each column must contain.

This module is the single source of truth for the contract; ``docs/data-contract.md`` documents it and a
test checks that every column named here is documented there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "text", "line", "email", "enum", "integer", "rating", "timestamp", "boolean"]
#: id: an identifier without control characters; text: free text (line breaks allowed); line: one line of text
#: (no control characters: it goes into mail headers and page titles); email: one address (RFC 5322 addr-spec,
#: ASCII local part, the domain may be internationalised); enum, integer, rating, timestamp; boolean: ``true`` or
#: ``false`` (any case; Parquet booleans too).

RATING_ITEMS: tuple[str, ...] = ("skill", "quality", "schedule", "communication", "partnership")


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    #: The column must be in the file's header.
    required: bool = True
    #: An empty cell is allowed.
    nullable: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    #: Another table whose key this column refers to.
    references: str | None = None
    #: What an empty cell (or a new row of a file without the column) is stored as: boolean columns only.
    empty_means: bool | None = None
    #: A snapshot of the worker today (like the profile), not an event: evaluations as of past dates see it too.
    snapshot: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[Column, ...]
    description: str = ""
    extra_checks: tuple[str, ...] = field(default=())
    #: An export may leave the whole table out (a program that needs it then refuses to evaluate).
    optional: bool = False

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


WORKER_STATUSES = ("active", "suspended", "withdrawn")
CONTRACT_KINDS = ("fixed", "hourly")
CONTRACT_STATUSES = ("active", "delivered", "cancelled")
SCOUT_KINDS = ("direct", "mass")
LOCALES = ("ja", "en")
#: The largest amount one row may carry (one trillion yen): sums over millions of rows then stay far from the
#: 64-bit limit.
MAX_AMOUNT_JPY = 10**12
#: Timestamps must fall in these years (year 0000 or 9999 are export errors, and break time-zone arithmetic).
MIN_YEAR, MAX_YEAR = 1900, 2999

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            name="workers",
            key="worker_id",
            description="One row per worker.",
            columns=(
                Column("worker_id", "id"),
                Column("display_name", "line"),
                Column("division", "text"),
                Column("registered_at", "timestamp"),
                Column("profile_text", "text", nullable=True),
                Column("self_pr_text", "text", nullable=True),
                Column("status", "enum", choices=WORKER_STATUSES),
                Column("email", "email", required=False, nullable=True),
                Column("locale", "enum", required=False, nullable=True, choices=LOCALES),
                Column("identity_verified", "boolean", required=False, nullable=True, empty_means=False, snapshot=True),
                Column("last_login_at", "timestamp", required=False, nullable=True, snapshot=True),
                # The name's reading in kana, for 五十音順 (sorting by reading; the name itself when empty).
                Column("display_name_kana", "line", required=False, nullable=True, snapshot=True),
                # Skills the worker lists, separated by ";" (shown on the profile and searched).
                Column("skills", "text", required=False, nullable=True, snapshot=True),
            ),
        ),
        Table(
            name="contracts",
            key="contract_id",
            description="One row per contract between a client and a worker.",
            columns=(
                Column("contract_id", "id"),
                Column("worker_id", "id", references="workers"),
                Column("client_id", "id"),
                Column("kind", "enum", choices=CONTRACT_KINDS),
                Column("status", "enum", choices=CONTRACT_STATUSES),
                Column("amount_jpy", "integer", minimum=0, maximum=MAX_AMOUNT_JPY),
                Column("started_at", "timestamp"),
                Column("closed_at", "timestamp", nullable=True),
            ),
            extra_checks=("closed_at_matches_status", "closed_not_before_started"),
        ),
        Table(
            name="reviews",
            key="review_id",
            description="One row per client review of a worker; five items rated 1 to 5.",
            columns=(
                Column("review_id", "id"),
                Column("contract_id", "id", references="contracts"),
                Column("worker_id", "id", references="workers"),
                Column("client_id", "id"),
                Column("created_at", "timestamp"),
                *(Column(item, "rating", minimum=1, maximum=5) for item in RATING_ITEMS),
            ),
            extra_checks=("review_worker_matches_contract",),
        ),
        Table(
            name="payments",
            key="payment_id",
            description="One row per payment to a worker (negative amounts are refunds).",
            columns=(
                Column("payment_id", "id"),
                Column("worker_id", "id", references="workers"),
                Column("contract_id", "id", nullable=True, references="contracts"),
                Column("paid_at", "timestamp"),
                Column("amount_jpy", "integer", minimum=-MAX_AMOUNT_JPY, maximum=MAX_AMOUNT_JPY),
            ),
        ),
        Table(
            name="scouts",
            key="scout_id",
            description="One row per scout (job consultation) a client sent to a worker.",
            columns=(
                Column("scout_id", "id"),
                Column("worker_id", "id", references="workers"),
                Column("client_id", "id"),
                Column("sent_at", "timestamp"),
                Column("kind", "enum", choices=SCOUT_KINDS),
            ),
        ),
        Table(
            name="inquiries",
            key="inquiry_id",
            description="One row per first message from a client to a worker (for response rates); optional.",
            columns=(
                Column("inquiry_id", "id"),
                Column("worker_id", "id", references="workers"),
                Column("client_id", "id"),
                Column("received_at", "timestamp"),
                Column("replied_at", "timestamp", nullable=True),
            ),
            extra_checks=("replied_not_before_received",),
            optional=True,
        ),
    )
}

#: Order in which tables are validated and stored: a table comes after the tables it references.
TABLE_ORDER: tuple[str, ...] = ("workers", "contracts", "reviews", "payments", "scouts", "inquiries")
#: The tables every export holds (a full ``--replace`` needs each of them).
REQUIRED_TABLES: tuple[str, ...] = tuple(t for t in TABLE_ORDER if not TABLES[t].optional)


def optional_facts() -> list[str]:
    """The facts an export may leave out, as ``table`` or ``table.column``: what a store records it holds, and
    what a metric may require (see :attr:`procert.metrics.Metric.requires`)."""
    names = [t for t in TABLE_ORDER if TABLES[t].optional]
    for t in TABLE_ORDER:
        if not TABLES[t].optional:
            names += [f"{t}.{c.name}" for c in TABLES[t].columns if not c.required]
    return names


_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_ASCII_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: The plain shape of nearly every address: an ASCII dot-atom, @, and two or more ASCII labels. An address of this
#: shape and at most 254 characters passes :func:`email_problem` (a property test checks it), so the import checks
#: millions of them in SQL and calls the full rule, in Python, only for the others.
PLAIN_ADDRESS_PATTERN = rf"{_LOCAL_PART.pattern}@({_ASCII_LABEL}\.)+{_ASCII_LABEL}"
PLAIN_ADDRESS_MAX_LENGTH = 254


def email_problem(address: str) -> str | None:
    """Why ``address`` is not exactly one deliverable e-mail address (the id of the message that says it), or
    None. The rule of the contract: an RFC 5322 addr-spec with a dot-atom local part in ASCII and a domain of two
    or more labels (letters of any script, digits, inner hyphens) that has an IDNA form. Used by the import and
    again by the sender."""
    if len(address) > 254:
        return "email_too_long"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in address):
        return "email_control_character"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "email_not_one_address"
    if not _LOCAL_PART.fullmatch(local):
        return "email_local_part"
    labels = domain.split(".")
    if len(labels) < 2 or not all(
        0 < len(label) <= 63 and all(ch.isalnum() or ch == "-" for ch in label) and label[0] != "-" and label[-1] != "-"
        for label in labels
    ):
        return "email_domain_shape"
    try:
        idna_domain(domain)
    except UnicodeError:
        return "email_no_idna"
    return None


def idna_domain(domain: str) -> str:
    """The ASCII (IDNA) form of a mail domain, as it is sent: 例え.jp → xn--r8jz45g.jp."""
    return domain.encode("idna").decode("ascii")

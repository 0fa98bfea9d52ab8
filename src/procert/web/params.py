"""Query parameters shared by the web's routes, with the same limits everywhere."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query

from procert.i18n import Message
from procert.ledger import LeaveRefused

PageQuery = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")]
PerPageQuery = Annotated[int, Query(ge=1, le=100, description="Items per page, 1 to 100.")]


def leave_form(form: dict[str, Any]) -> dict[str, Any]:
    """A leave declaration's form fields (dates as YYYY-MM-DD, as a date input sends them), for declare_leave."""
    days: dict[str, date] = {}
    for field in ("starts_on", "ends_on"):
        raw = str(form.get(field, "")).strip()
        try:
            days[field] = date.fromisoformat(raw)
        except ValueError:
            raise LeaveRefused(Message(f"refused_leave_{field}_not_a_date", {"value": raw or "—"})) from None
    return {
        **days,
        "category": str(form.get("category", "")).strip(),
        "note": str(form.get("note", "")).strip() or None,
    }

"""Query parameters shared by the web's routes, with the same limits everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

PageQuery = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")]
PerPageQuery = Annotated[int, Query(ge=1, le=100, description="Items per page, 1 to 100.")]

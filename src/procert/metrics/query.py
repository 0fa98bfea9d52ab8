"""Assemble the per-worker metrics query: one row per worker, raw metric columns for each request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from procert.metrics.catalog import Metric, Parts, all_rows
from procert.metrics.period import Period


@dataclass(frozen=True)
class MetricRequest:
    """Measure ``metric`` with ``params``, into columns named after ``column`` (a criterion id)."""

    column: str
    metric: Metric[Any]
    params: BaseModel


def raw_columns(request: MetricRequest) -> list[str]:
    """The columns :func:`metrics_sql` emits for a request: ``<col>__num``/``__den`` or ``<col>__value``."""
    if request.metric.value_type == "ratio":
        return [f"{request.column}__num", f"{request.column}__den"]
    return [f"{request.column}__value"]


def metrics_sql(
    requests: list[MetricRequest],
    period: Period,
    *,
    worker_id_param: bool = False,
    placeholder: str = "$1",
    index_fence: bool = False,
) -> str:
    """One row per worker (``worker_id``, ``division``, ``status``) with every request's raw columns.

    With ``worker_id_param`` only the worker given as the query parameter ``placeholder`` is measured, each
    metric by its single-worker form (:meth:`Metric.worker_sql`, ``index_fence`` passed on).
    """
    selects = ["w.worker_id", "w.division", "w.status"]
    joins: list[str] = []
    # The full evaluation reads metrics of the same table and condition in one scan (see Parts): each request's
    # output columns are found at ``columns[column][name]``.
    columns: dict[str, dict[str, str]] = {}
    if not worker_id_param:
        inline, fused = _fuse(requests, period)
        for column, parts in inline:
            columns[column] = {name: f"w.{column}__{name}" for name, _expr in parts.columns}
        for g, group in enumerate(fused):
            alias = f"f{g}"
            first = group[0][1]
            selected = ", ".join(
                f"{expression} AS {column}__{name}" for column, parts in group for name, expression in parts.columns
            )
            joins.append(
                f"LEFT JOIN (SELECT worker_id, {selected} FROM {all_rows(first.table)} WHERE {first.where} "
                f"GROUP BY worker_id) "
                f"{alias} ON {alias}.worker_id = w.worker_id"
            )
            for column, parts in group:
                columns[column] = {name: f"{alias}.{column}__{name}" for name, _expr in parts.columns}
        extra = ", ".join(f"{e} AS {column}__{name}" for column, parts in inline for name, e in parts.columns)
        source = f"(SELECT *, {extra} FROM {all_rows('workers')}) w" if extra else "workers w"
    else:
        source = "workers w"
    for i, req in enumerate(requests):
        if req.column not in columns:
            alias = f"m{i}"
            sql = (
                req.metric.worker_sql(req.params, period, placeholder, index_fence=index_fence)
                if worker_id_param
                else req.metric.sql(req.params, period)
            )
            # For one worker, every side holds only that worker: joining on the parameter lets the engine combine
            # single rows instead of building a hash table per metric (a quarter of DuckDB's time per call).
            key = placeholder if worker_id_param else "w.worker_id"
            # Derived tables rather than CTEs: the same plan, bound a little faster (it counts for one worker).
            joins.append(f"LEFT JOIN ({sql}) {alias} ON {alias}.worker_id = {key}")
            columns[req.column] = {name: f"{alias}.{name}" for name in ("num", "den", "value")}
        found = columns[req.column]
        if req.metric.value_type == "ratio":
            selects += [f"{found['num']} AS {req.column}__num", f"{found['den']} AS {req.column}__den"]
        elif req.metric.missing_value is not None:
            selects.append(f"COALESCE({found['value']}, {req.metric.missing_value}) AS {req.column}__value")
        else:
            selects.append(f"{found['value']} AS {req.column}__value")
    where = f"WHERE w.worker_id = {placeholder}" if worker_id_param else ""
    joined = "\n".join(joins)
    return f"SELECT {', '.join(selects)}\nFROM {source}\n{joined}\n{where}"


def _fuse(
    requests: list[MetricRequest], period: Period
) -> tuple[list[tuple[str, Parts]], list[list[tuple[str, Parts]]]]:
    """The requests read as columns of ``workers`` itself, and the groups (two or more) of grouped aggregates
    over the same table and condition; the others stay separate joins."""
    inline: list[tuple[str, Parts]] = []
    groups: dict[tuple[str, str], list[tuple[str, Parts]]] = {}
    for req in requests:
        parts = req.metric.parts(req.params, period)
        if parts is None:
            continue
        if not parts.grouped and parts.table == "workers" and parts.where == "TRUE":
            inline.append((req.column, parts))
        elif parts.grouped:
            groups.setdefault((parts.table, parts.where), []).append((req.column, parts))
    return inline, [group for group in groups.values() if len(group) > 1]

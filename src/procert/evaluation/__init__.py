"""Evaluation: apply a program's thresholds to the metrics, for every worker or for one, and explain."""

from procert.evaluation.engine import (
    Evaluation,
    Summary,
    evaluate,
    evaluate_worker,
    evaluation_sql,
    keeps,
    near_miss,
    output_columns,
    write_rows,
)
from procert.evaluation.explain import (
    WorkerNotFound,
    explain,
    explain_rows,
    facts_behind,
    min_steps,
    progress,
    threshold_text,
)
from procert.evaluation.explanation import CriterionExplanation, CriterionFacts, Explanation, FactRow, LevelStanding

__all__ = [
    "CriterionExplanation",
    "CriterionFacts",
    "Evaluation",
    "Explanation",
    "FactRow",
    "LevelStanding",
    "Summary",
    "WorkerNotFound",
    "evaluate",
    "evaluate_worker",
    "evaluation_sql",
    "explain",
    "explain_rows",
    "facts_behind",
    "keeps",
    "min_steps",
    "near_miss",
    "output_columns",
    "progress",
    "threshold_text",
    "write_rows",
]

"""Prediction tasks of a cohort, read from a release manifest, and their labels.

The release declares the tasks (:mod:`pipeline.release.tasks`); here a declaration becomes a
:class:`Task` (refused with an :class:`EvaluationError` when malformed) and every task gets its
rows, labels and what a model is shown. Any declared horizon evaluates (``mortality_12m`` of older
manifests as ``mortality_24m`` of newer ones); a release written before tasks were declared gets
the tasks of that time (``mortality_12m``, no event minimum) derived from its ``train`` split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from pipeline.evaluation.errors import EvaluationError
from pipeline.release.tasks import (
    BINARY,
    JOURNEY_COLUMNS,
    LEGACY_RULES,
    MORTALITY_HORIZON,
    MULTICLASS,
    SHOWN_TO,
    SURVIVAL,
    SURVIVAL_EVENT,
    SURVIVAL_TIME,
    Task,
    declare_tasks,
    mortality_labels,
)
from pipeline.stress.tags import TAG_COLUMNS

OUTCOME_COLUMNS = (SURVIVAL_TIME, SURVIVAL_EVENT)
HIDDEN_COLUMNS = ("patient_id", *OUTCOME_COLUMNS, *TAG_COLUMNS)  # never shown to a model


def task_from_declaration(name: str, data: dict[str, Any]) -> Task:
    """The task a manifest declares as ``data``, or an EvaluationError saying what is malformed."""
    try:
        task = Task(
            name=name,
            kind=str(data["kind"]),
            label=str(data.get("label", "")),
            horizon_months=None if data.get("horizon_months") is None else float(data["horizon_months"]),
            threshold=None if data.get("threshold") is None else float(data["threshold"]),
            classes=tuple(str(c) for c in data.get("classes", ())),
            restates=tuple(str(c) for c in data.get("restates", ())),
            outcome=None if data.get("outcome") is None else str(data["outcome"]),
            event=None if data.get("event") is None else str(data["event"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise EvaluationError(f"task {name!r}: malformed declaration {data!r} ({error})") from None
    if task.kind not in (BINARY, SURVIVAL, MULTICLASS) or (task.kind == BINARY and task.threshold is None):
        raise EvaluationError(f"task {name!r}: kind must be binary (with a threshold), survival or multiclass")
    return task


def cohort_tasks(entry: dict[str, Any], train: pl.DataFrame) -> dict[str, Task]:
    """The tasks of one manifest cohort entry; derived from ``train`` when the release predates them."""
    declared = entry.get("tasks")
    if not isinstance(declared, dict):
        declared = declare_tasks(train, rules=LEGACY_RULES)
    return {name: task_from_declaration(name, data) for name, data in declared.items()}


def task_rows(task: Task, frame: pl.DataFrame) -> np.ndarray:
    """Indices of the rows that carry a label for ``task``."""
    if task.kind == BINARY:
        known, _ = mortality_labels(frame, task.horizon_months or MORTALITY_HORIZON)
        return np.flatnonzero(known)
    if task.kind == MULTICLASS:
        if task.label_column not in frame.columns:
            return np.array([], dtype=int)
        labels = frame[task.label_column].cast(pl.String)
        return np.flatnonzero(labels.is_in(list(task.classes)).fill_null(False).to_numpy())
    if not set(task.survival_columns) <= set(frame.columns):
        return np.array([], dtype=int)
    known = frame.select(pl.all_horizontal(pl.col(c).is_not_null() for c in task.survival_columns))
    return np.flatnonzero(known.to_series().to_numpy())


def binary_labels(task: Task, frame: pl.DataFrame) -> np.ndarray:
    return mortality_labels(frame, task.horizon_months or MORTALITY_HORIZON)[1]


def class_labels(task: Task, frame: pl.DataFrame) -> np.ndarray:
    """Index of each row's arm in ``task.classes`` (-1 for another or no arm)."""
    if task.label_column not in frame.columns:
        return np.full(frame.height, -1, dtype=int)
    arms = frame[task.label_column].cast(pl.String).to_list()
    index = {c: i for i, c in enumerate(task.classes)}
    return np.array([index.get(a, -1) for a in arms], dtype=int)


def survival_outcome(frame: pl.DataFrame, task: Task | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(time in months, event 0/1) per row: of ``task`` (a survival task), else overall survival; NaN and 0
    where ``frame`` lacks the columns (stress rows without journeys carry no time to next treatment)."""
    time, event = task.survival_columns if task is not None else (SURVIVAL_TIME, SURVIVAL_EVENT)
    if not {time, event} <= set(frame.columns):
        return np.full(frame.height, np.nan), np.zeros(frame.height, dtype=np.int64)
    return frame[time].cast(pl.Float64).to_numpy(), frame[event].cast(pl.Int64).to_numpy()


def labels_for(task: Task, frame: pl.DataFrame) -> np.ndarray | pd.DataFrame:
    """What a trainable model's ``fit`` receives with the features: 0/1, arm names, or a frame of the task's
    time and event columns (in that order)."""
    if task.kind == BINARY:
        return binary_labels(task, frame)
    if task.kind == MULTICLASS:
        return frame[task.label_column].cast(pl.String).to_numpy()
    return frame.select(task.survival_columns).to_pandas()


def model_input(frame: pl.DataFrame, task: Task) -> pd.DataFrame:
    """What a model sees: the harmonized columns without patient id, outcome, stress tags, the task's label and
    the columns the release found to restate it. A journey task sees the first line as far as it is known
    when the task's prediction is made; no task sees a journey outcome (the second line's class, the time to
    next treatment), and the others no journey column (a first line that ended in death would tell a
    mortality model the outcome)."""
    hidden = set(HIDDEN_COLUMNS) | ({task.label_column} if task.kind == MULTICLASS else set()) | set(task.restates)
    hidden |= set(JOURNEY_COLUMNS) - set(SHOWN_TO.get(task.name, ()))
    hidden |= set(task.survival_columns) if task.kind == SURVIVAL else set()  # a survival task's own outcome
    return frame.select([c for c in frame.columns if c not in hidden]).to_pandas()

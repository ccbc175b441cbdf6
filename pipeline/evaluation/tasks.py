"""Prediction tasks of a cohort, as declared in a release manifest, and their labels.

- ``mortality_12m`` (binary): death within 12 months; patients censored earlier are left out.
- ``overall_survival`` (survival): rank patients by risk (higher = worse) against time and event.
- ``treatment`` (multiclass): the arm or regimen class, where the cohort has two or more.

A release written before tasks were declared gets them derived from its ``train`` split.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from pipeline.evaluation.errors import EvaluationError
from pipeline.schema import PROTECTED_COLUMNS
from pipeline.stress.tags import TAG_COLUMNS, TWIN

SURVIVAL_TIME, SURVIVAL_EVENT, TREATMENT = "survival_months", "vital_status_event", "cancer_related_medication"
OUTCOME_COLUMNS = (SURVIVAL_TIME, SURVIVAL_EVENT)
HIDDEN_COLUMNS = ("patient_id", *OUTCOME_COLUMNS, *TAG_COLUMNS)  # never shown to a model
BINARY, SURVIVAL, MULTICLASS = "binary", "survival", "multiclass"
MORTALITY_HORIZON = 12.0
MIN_ARM_ROWS = 10


@dataclass(frozen=True)
class Task:
    """One task: its kind, label definition and decision rule."""

    name: str
    kind: str
    label: str
    horizon_months: float | None = None
    threshold: float | None = None  # binary: predicted class 1 at p >= threshold
    classes: tuple[str, ...] = ()  # multiclass: the columns of predict_proba, in order

    def as_dict(self) -> dict[str, Any]:
        fields = asdict(self).items()
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields if k != "name" and v not in (None, ())}

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Task:
        try:
            task = cls(
                name=name,
                kind=str(data["kind"]),
                label=str(data.get("label", "")),
                horizon_months=None if data.get("horizon_months") is None else float(data["horizon_months"]),
                threshold=None if data.get("threshold") is None else float(data["threshold"]),
                classes=tuple(str(c) for c in data.get("classes", ())),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise EvaluationError(f"task {name!r}: malformed declaration {data!r} ({error})") from None
        if task.kind not in (BINARY, SURVIVAL, MULTICLASS) or (task.kind == BINARY and task.threshold is None):
            raise EvaluationError(f"task {name!r}: kind must be binary (with a threshold), survival or multiclass")
        return task

    @property
    def target(self) -> str:
        """Which score ranks models on this task."""
        return "c_index" if self.kind == SURVIVAL else "auc"


def mortality_labels(frame: pl.DataFrame, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """(known, died): rows whose status at the horizon is known, and whether they died by then."""
    time = frame[SURVIVAL_TIME].cast(pl.Float64).fill_null(np.nan).to_numpy()
    event = frame[SURVIVAL_EVENT].cast(pl.Float64).fill_null(np.nan).to_numpy()
    died = (event == 1) & (time <= horizon)
    return died | (time > horizon), died.astype(int)


def declare_tasks(train: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """The tasks a cohort supports, from its training split (what a release manifest records)."""
    tasks: dict[str, Task] = {}
    known, died = mortality_labels(train, MORTALITY_HORIZON)
    if known.sum() >= 2 and 0 < died[known].sum() < known.sum():
        tasks["mortality_12m"] = Task(
            "mortality_12m", BINARY,
            "death within 12 months of diagnosis (vital_status_event = 1 and survival_months <= 12); patients "
            "censored before 12 months are left out; class 1 at p >= threshold (the training share of deaths)",
            horizon_months=MORTALITY_HORIZON, threshold=round(float(died[known].mean()), 4),
        )  # fmt: skip
    if train[SURVIVAL_EVENT].cast(pl.Int64).sum() > 0:
        tasks["overall_survival"] = Task(
            "overall_survival", SURVIVAL,
            "risk of death over follow-up (higher = worse), judged against survival_months and vital_status_event "
            "(censored patients kept)",
        )  # fmt: skip
    if TREATMENT in train.columns:
        arms = train[TREATMENT].drop_nulls().value_counts()
        arms = sorted(arms.filter(pl.col("count") >= MIN_ARM_ROWS)[TREATMENT].cast(pl.String).to_list())
        if len(arms) >= 2:
            tasks["treatment"] = Task(
                "treatment", MULTICLASS,
                f"the arm or regimen class ({TREATMENT}) among {len(arms)} arms; rows with another or no arm left "
                "out; predict_proba columns follow `classes`",
                classes=tuple(arms),
            )  # fmt: skip
    return {name: task.as_dict() for name, task in tasks.items()}


def protected_attributes(stress_suite: pl.DataFrame | None, frame: pl.DataFrame) -> list[str]:
    """The attributes twinned in the stress suite, else the schema's protected columns the data records."""
    if stress_suite is not None and "changed_attribute" in stress_suite.columns:
        twinned = stress_suite.filter(pl.col("stress_type") == TWIN)["changed_attribute"].drop_nulls().unique()
        if twinned.len():
            return sorted(twinned.to_list())
    return [c for c in PROTECTED_COLUMNS if c in frame.columns and frame[c].drop_nulls().n_unique() >= 2]


def cohort_tasks(entry: dict[str, Any], train: pl.DataFrame) -> dict[str, Task]:
    """The tasks of one manifest cohort entry; derived from ``train`` when the release predates them."""
    declared = entry.get("tasks")
    if not isinstance(declared, dict):
        declared = declare_tasks(train)
    return {name: Task.from_dict(name, data) for name, data in declared.items()}


def task_rows(task: Task, frame: pl.DataFrame) -> np.ndarray:
    """Indices of the rows that carry a label for ``task``."""
    if task.kind == BINARY:
        known, _ = mortality_labels(frame, task.horizon_months or MORTALITY_HORIZON)
        return np.flatnonzero(known)
    if task.kind == MULTICLASS:
        return np.flatnonzero(frame[TREATMENT].cast(pl.String).is_in(list(task.classes)).fill_null(False).to_numpy())
    return np.arange(frame.height)


def binary_labels(task: Task, frame: pl.DataFrame) -> np.ndarray:
    return mortality_labels(frame, task.horizon_months or MORTALITY_HORIZON)[1]


def class_labels(task: Task, frame: pl.DataFrame) -> np.ndarray:
    """Index of each row's arm in ``task.classes`` (-1 for another or no arm)."""
    arms = frame[TREATMENT].cast(pl.String).to_list()
    index = {c: i for i, c in enumerate(task.classes)}
    return np.array([index.get(a, -1) for a in arms], dtype=int)


def survival_outcome(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(time in months, event 0/1) per row."""
    time = frame[SURVIVAL_TIME].cast(pl.Float64).to_numpy()
    return time, frame[SURVIVAL_EVENT].cast(pl.Int64).to_numpy()


def labels_for(task: Task, frame: pl.DataFrame) -> np.ndarray | pd.DataFrame:
    """What a trainable model's ``fit`` receives with the features: 0/1, arm names, or time and event."""
    if task.kind == BINARY:
        return binary_labels(task, frame)
    if task.kind == MULTICLASS:
        return frame[TREATMENT].cast(pl.String).to_numpy()
    return frame.select(OUTCOME_COLUMNS).to_pandas()


def model_input(frame: pl.DataFrame, task: Task) -> pd.DataFrame:
    """What a model sees: the harmonized columns without patient id, outcome, stress tags and the task's label."""
    hidden = set(HIDDEN_COLUMNS) | ({TREATMENT} if task.kind == MULTICLASS else set())
    return frame.select([c for c in frame.columns if c not in hidden]).to_pandas()

"""The prediction tasks a release manifest declares for each cohort, with their label definitions.

- ``mortality_12m`` (binary): death within 12 months; patients censored earlier are left out.
- ``overall_survival`` (survival): rank patients by risk (higher = worse) against time and event.
- ``treatment`` (multiclass): the arm or regimen class, where the cohort has two or more.

The release writes these declarations (and the protected attributes) into its manifest; the
evaluation harness reads them back (:mod:`pipeline.evaluation.tasks`) and scores models on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from pipeline.schema import PROTECTED_COLUMNS
from pipeline.stress.tags import TWIN

SURVIVAL_TIME, SURVIVAL_EVENT, TREATMENT = "survival_months", "vital_status_event", "cancer_related_medication"
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

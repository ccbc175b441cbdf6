"""Adversarial search: the plausible protected-attribute changes that move a prediction most.

For the base patients of the pure twins where the model is most sensitive (largest change over
their twins), scipy's ``differential_evolution`` (seeded, vectorized, a budget of model evaluations
per patient) searches every combination of protected-attribute values seen in the train split
(categories as integers, numbers such as age within their observed range). A candidate that breaks a
plausibility rule (``config/plausibility_rules.yaml``) is never a result. Reported: per searched
patient the worst change found, the attribute values that cause it, and the evaluations spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import differential_evolution

from pipeline.evaluation.counterfactual import Decisions
from pipeline.rules import Rule, count_violations
from pipeline.subgroups import is_banded

POPULATION_PER_DIMENSION = 8


@dataclass(frozen=True)
class Domain:
    """The values one attribute may take: categories (as stored) or a numeric range."""

    attribute: str
    levels: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0

    @property
    def categorical(self) -> bool:
        return bool(self.levels)

    def bounds(self) -> tuple[float, float]:
        return (0, len(self.levels) - 1) if self.categorical else (self.low, self.high)

    def values(self, x: np.ndarray) -> list[Any]:
        if self.categorical:
            return [self.levels[round(v)] for v in np.clip(x, 0, len(self.levels) - 1)]
        return [round(float(v), 1) for v in x]


def domains(train: pl.DataFrame, attributes: list[str]) -> list[Domain]:
    """Search domains of the attributes with two or more observed values."""
    found = []
    for attribute in attributes:
        if attribute not in train.columns or train[attribute].drop_nulls().n_unique() < 2:
            continue
        column = train[attribute]
        if is_banded(column) or (column.dtype.is_numeric() and column.dtype != pl.Int8):
            found.append(Domain(attribute, low=float(column.min()), high=float(column.max())))
        else:
            found.append(Domain(attribute, levels=tuple(sorted(column.drop_nulls().cast(pl.String).unique()))))
    return found


def _candidates(base: pl.DataFrame, space: list[Domain], x: np.ndarray) -> pl.DataFrame:
    """One row per column of ``x`` (dimensions x candidates): the base patient with those attribute values."""
    n = x.shape[1]
    rows = pl.concat([base] * n) if n > 1 else base
    return rows.with_columns(
        pl.Series(d.attribute, d.values(x[i])).cast(base.schema[d.attribute]) for i, d in enumerate(space)
    )


def adversarial_search(
    predict: Callable[[pl.DataFrame], np.ndarray],
    bases: pl.DataFrame,
    space: list[Domain],
    rules: list[Rule],
    decisions: Decisions,
    *,
    budget: int,
    seed: int,
) -> dict[str, Any]:
    """The adversarial block of the output contract for the base patients in ``bases`` (in order)."""
    started, results, spent = time.perf_counter(), [], 0
    if not space or bases.is_empty():
        return {"searched": 0, "budget": budget, "evaluations": 0, "seconds": 0.0, "worst": [],
                "attributes": [d.attribute for d in space]}  # fmt: skip
    population = POPULATION_PER_DIMENSION * len(space)
    iterations = max(1, budget // population - 1)
    for index in range(bases.height):
        base = bases[index : index + 1]
        reference = predict(base)
        best: dict[str, Any] = {"change": 0.0, "x": None}
        counter = {"evaluations": 0}

        def objective(x: np.ndarray, base: pl.DataFrame = base, reference: np.ndarray = reference,
                      best: dict[str, Any] = best, counter: dict[str, int] = counter) -> np.ndarray:  # fmt: skip
            x = x.reshape(len(space), -1)
            candidates = _candidates(base, space, x)
            broken, _ = count_violations(candidates, rules)
            change = decisions.change(np.repeat(reference, candidates.height, axis=0), predict(candidates))
            counter["evaluations"] += candidates.height
            change = np.where(broken.to_numpy(), -1.0, change)
            top = int(np.argmax(change))
            if change[top] > best["change"]:
                best["change"], best["x"] = float(change[top]), x[:, top].copy()
            return -change

        differential_evolution(
            objective, [d.bounds() for d in space], integrality=[d.categorical for d in space],
            popsize=POPULATION_PER_DIMENSION, maxiter=iterations, polish=False, vectorized=True,
            updating="deferred", rng=np.random.default_rng(seed + index), tol=0.0, atol=0.0,
        )  # fmt: skip
        if best["x"] is not None:
            best["x"] = _fewest_changes(base, space, best, reference, predict, rules, decisions, counter)
        spent += counter["evaluations"]
        changes = {}
        if best["x"] is not None:
            worst = _candidates(base, space, best["x"][:, None])
            for d in space:
                before, after = base[d.attribute].cast(pl.String)[0], worst[d.attribute].cast(pl.String)[0]
                if before != after:
                    changes[d.attribute] = [before, after]
        results.append({"base_patient_id": base["base_patient_id"][0] if "base_patient_id" in base.columns else None,
                        "change": round(best["change"], 6), "changes": changes,
                        "evaluations": counter["evaluations"]})  # fmt: skip
    results.sort(key=lambda r: -r["change"])
    return {
        "searched": bases.height, "budget": budget, "evaluations": spent,
        "seconds": round(time.perf_counter() - started, 3), "attributes": [d.attribute for d in space],
        "worst": results,
    }  # fmt: skip


def _base_vector(base: pl.DataFrame, space: list[Domain]) -> list[float | None]:
    """The base patient's own values as search coordinates (None where unknown or unseen in training)."""
    vector: list[float | None] = []
    for d in space:
        value = base[d.attribute][0]
        if value is None:
            vector.append(None)
        elif d.categorical:
            label = str(value)
            vector.append(float(d.levels.index(label)) if label in d.levels else None)
        else:
            vector.append(float(value))
    return vector


def _fewest_changes(
    base: pl.DataFrame, space: list[Domain], best: dict[str, Any], reference: np.ndarray,
    predict: Callable[[pl.DataFrame], np.ndarray], rules: list[Rule], decisions: Decisions, counter: dict[str, int],
) -> np.ndarray:  # fmt: skip
    """Undo, one at a time, every attribute change that the worst case does not need (for human review)."""
    x = best["x"].copy()
    for i, own in enumerate(_base_vector(base, space)):
        if own is None or x[i] == own:
            continue
        trial = x.copy()
        trial[i] = own
        candidate = _candidates(base, space, trial[:, None])
        counter["evaluations"] += 1
        broken, _ = count_violations(candidate, rules)
        change = float(decisions.change(reference, predict(candidate))[0])
        if not bool(broken[0]) and change >= best["change"] - 1e-9:
            x = trial
    return x


def most_sensitive_bases(
    pairs: pl.DataFrame, predictions: np.ndarray, decisions: Decisions, k: int, attributes: list[str] | None = None
) -> pl.DataFrame:
    """The ``k`` base rows (of pure twins) with the largest change over their twins, most sensitive first;
    ``attributes``: only twins that change one of these (the ones the search varies).

    ``predictions`` holds one output per row of ``pairs`` (see :func:`~pipeline.evaluation.counterfactual.twin_pairs`).
    """
    twins = pairs.filter((pl.col("twin_role") == "twin") & (pl.col("twin_mode") == "pure"))
    if attributes is not None:
        twins = twins.filter(pl.col("changed_attribute").is_in(attributes))
    if twins.is_empty() or k <= 0:
        return pairs.head(0)
    base_rows, twin_rows = twins["__base_row"].to_numpy(), twins["__row"].to_numpy()
    change = decisions.change(predictions[base_rows], predictions[twin_rows])
    scored = twins.select("__base_row", "base_patient_id").with_columns(pl.Series("change", change))
    top = (
        scored.group_by("base_patient_id").agg(pl.col("change").max(), pl.col("__base_row").first())
        .sort(["change", "base_patient_id"], descending=[True, False]).head(k)
    )  # fmt: skip
    return pairs[top["__base_row"].to_list()]

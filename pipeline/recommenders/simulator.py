"""Inverse simulation: an outcome simulator learned from journeys, and the regret of a recommended line.

The simulator (:class:`OutcomeSimulator`) is a Weibull accelerated-failure-time model (lifelines) of the days from
a line's start to the next line or death (censored at the last follow-up), given what is known when the line
starts: its therapy class, whether that class is concordant with an indication of the therapy table matching the
patient at that line (``matched``), the line number, stage IV at diagnosis and age. A class's outcome for a patient
is the restricted mean time to next treatment or death up to ``horizon`` days. The regret of a recommendation is
the best outcome among the classes the simulator knows minus the recommended class's (0 when it recommends the
best); a class the simulator never saw cannot be judged.

What it can claim: associations in the journeys it was fitted on, adjusted for those features; not causal effects
(who receives which line is not random in observational journeys, and unmeasured confounding stays). It is
validated in a planted world (:mod:`pipeline.recommenders.planted_world`) where a matched therapy's effect is known.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from lifelines import WeibullAFTFitter

from pipeline.intervals import Z95
from pipeline.recommenders.truth import GuidelineTable, Patient

HORIZON_DAYS = 730.0
MIN_CLASS_LINES = 20  # a class needs this many lines to be known to the simulator
FEATURES = ("matched", "line", "stage_iv", "age_decades")
LINE_COLUMNS = {"patient_id": pl.String, "line": pl.Int64, "therapy_class": pl.String, "matched": pl.Boolean,
                "stage_iv": pl.Boolean, "age": pl.Float64, "days": pl.Float64, "event": pl.Int64}  # fmt: skip


def matched(table: GuidelineTable, patient: Patient, therapy_class: str) -> bool:
    """Whether ``therapy_class`` is concordant with an indication matching ``patient`` at its next line."""
    return therapy_class in table.concordant_classes(table.indicated(patient))


@dataclass(frozen=True)
class OutcomeSimulator:
    """A fitted AFT model and the classes it knows (see the module)."""

    model: Any
    classes: tuple[str, ...]  # known classes; the first is the reference level of the one-hot columns
    horizon: float = HORIZON_DAYS
    features: tuple[str, ...] = FEATURES  # "matched" only when both matched and unmatched lines are enough

    @classmethod
    def fit(cls, lines: pl.DataFrame, *, horizon: float = HORIZON_DAYS, min_lines: int = MIN_CLASS_LINES,
            penalizer: float = 0.01) -> OutcomeSimulator:  # fmt: skip
        """Fit on line rows (:data:`LINE_COLUMNS`: one row per line, ``days`` to the next line or death)."""
        counts = lines.group_by("therapy_class").len().filter(pl.col("len") >= min_lines).sort("len", descending=True)
        classes = tuple(counts["therapy_class"].to_list())
        if len(classes) < 2:
            raise ValueError(f"the simulator needs >= 2 classes with >= {min_lines} lines, got {list(classes)}")
        known = lines.filter(pl.col("therapy_class").is_in(list(classes)) & (pl.col("days") > 0))
        hits = int(known["matched"].sum())
        features = (
            FEATURES if min(hits, known.height - hits) >= min_lines else tuple(f for f in FEATURES if f != "matched")
        )
        frame = _design(known, classes, features).assign(days=known["days"].to_numpy(), event=known["event"].to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = WeibullAFTFitter(penalizer=penalizer).fit(frame, duration_col="days", event_col="event")
        return cls(model, classes, horizon, features)

    def outcomes(self, rows: pl.DataFrame) -> np.ndarray:
        """Restricted mean days (to ``horizon``) of each row (``therapy_class`` known, features of LINE_COLUMNS)."""
        grid = np.linspace(0.0, self.horizon, 49)
        survival = self.model.predict_survival_function(
            _design(rows, self.classes, self.features), times=grid
        ).to_numpy()
        return np.trapz(survival, grid, axis=0)

    def outcome_table(self, table: GuidelineTable, patients: Sequence[Patient], ages: Sequence[float],
                      stage_iv: Sequence[bool]) -> np.ndarray:  # fmt: skip
        """Patients x known classes: each class's outcome for each patient at its next line."""
        rows = [{"patient_id": p.patient_id, "line": p.next_line, "therapy_class": c, "matched": matched(table, p, c),
                 "stage_iv": s, "age": a, "days": 0.0, "event": 0}
                for p, a, s in zip(patients, ages, stage_iv, strict=True) for c in self.classes]  # fmt: skip
        return self.outcomes(pl.DataFrame(rows, schema=LINE_COLUMNS)).reshape(len(patients), len(self.classes))


@dataclass(frozen=True)
class CrossFitted:
    """Two simulators fitted on disjoint halves of the patients: one picks the best class, the other scores it
    (and the other way round), so the regret is not inflated by picking the luckiest of many noisy classes; it errs
    low instead, when the picking half misses the best class."""

    halves: tuple[OutcomeSimulator, OutcomeSimulator]

    def regrets(self, table: GuidelineTable, patients: Sequence[Patient], recommended: Sequence[str],
                ages: Sequence[float], stage_iv: Sequence[bool]) -> np.ndarray:  # fmt: skip
        """Per patient: the best class's outcome minus the recommended class's, averaged over the two directions
        (NaN: a class the simulators do not both know)."""
        a, b = self.halves
        classes = [c for c in a.classes if c in b.classes]
        tables = [s.outcome_table(table, patients, ages, stage_iv)[:, [s.classes.index(c) for c in classes]]
                  for s in (a, b)]  # fmt: skip
        index = {c: i for i, c in enumerate(classes)}
        chosen = np.array([index.get(c, -1) for c in recommended])
        rows = np.arange(len(patients))
        result = np.zeros(len(patients))
        for picker, scorer in ((tables[0], tables[1]), (tables[1], tables[0])):
            best = scorer[rows, picker.argmax(axis=1)]
            result += 0.5 * (best - scorer[rows, np.maximum(chosen, 0)])
        return np.where(chosen >= 0, result, np.nan)


def _design(rows: pl.DataFrame, classes: Sequence[str], features: Sequence[str] = FEATURES) -> pd.DataFrame:
    """Covariates: one-hot class (the first class the reference level), matched, line, stage IV, age in decades."""
    frame = pd.DataFrame({
        "matched": rows["matched"].cast(pl.Float64).to_numpy(), "line": rows["line"].cast(pl.Float64).to_numpy(),
        "stage_iv": rows["stage_iv"].cast(pl.Float64).fill_null(0.0).to_numpy(),
        "age_decades": (rows["age"].cast(pl.Float64).fill_null(65.0) / 10).to_numpy(),
    })[list(features)]  # fmt: skip
    given = rows["therapy_class"].to_numpy()
    for name in classes[1:]:
        frame[f"class_{name}"] = (given == name).astype(float)
    return frame


REGRET_BOUND_DAYS = 30.0  # mean regret a recommender may show (restricted mean over HORIZON_DAYS)


def mean_regret(
    fits: Sequence[CrossFitted],
    table: GuidelineTable,
    patients: Sequence[Patient],
    recommended: Sequence[str],
    ages: Sequence[float],
    stage_iv: Sequence[bool],
    bound: float = REGRET_BOUND_DAYS,
    seed: int = 0,
) -> dict[str, Any]:
    """Mean regret (days) over the actionable patients (an indication matches them: where the line chosen matters
    to the table) that the simulators can judge, under the first fit; its 95% interval is normal, from the spread
    of the means under the other fits (refitted on bootstrap resamples of the journeys), each taken over a
    bootstrap resample of the judged patients; the verdict against ``bound``: fail when the interval lies above
    it, pass when below, else inconclusive. Cross-fitting errs low (the picking half may miss the best class), so
    a fail is conservative and a pass slightly generous."""
    per = [f.regrets(table, patients, recommended, ages, stage_iv) for f in fits]
    actionable = np.array([bool(table.indicated(p)) for p in patients])
    judged = np.flatnonzero(~np.isnan(per[0]) & actionable)
    if not len(judged):
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0, "not_judged": int(actionable.sum()),
                "bound": bound, "verdict": "inconclusive"}  # fmt: skip
    value = float(np.mean(per[0][judged]))
    rng = np.random.default_rng(seed)  # each refit judged on a resample of the patients too
    means = [float(np.nanmean(r[rng.choice(judged, len(judged))])) for r in per[1:]]
    spread = Z95 * float(np.std(means, ddof=1)) if len(means) > 1 else float("inf")
    low, high = value - spread, value + spread
    verdict = "fail" if low > bound else "pass" if high < bound else "inconclusive"
    return {"value": value, "ci_low": low, "ci_high": high, "n": len(judged),
            "not_judged": int(actionable.sum()) - len(judged), "bound": bound, "verdict": verdict}  # fmt: skip


def cross_fit(lines: pl.DataFrame, seed: int, *, by: str = "patient_id", **fit: Any) -> CrossFitted:
    """Simulators fitted on two random halves of the patients of ``lines`` (grouped by the column ``by``)."""
    ids = lines[by].unique().sort()
    half = ids.gather(np.random.default_rng(seed).permutation(ids.len())[: ids.len() // 2])
    first = lines.filter(pl.col(by).is_in(half.implode()))
    second = lines.filter(~pl.col(by).is_in(half.implode()))
    return CrossFitted((OutcomeSimulator.fit(first, **fit), OutcomeSimulator.fit(second, **fit)))


def bootstrap_fits(lines: pl.DataFrame, rounds: int, seed: int, **fit: Any) -> list[CrossFitted]:
    """The cross-fit on ``lines`` and on ``rounds`` resamples of its patients (with replacement; every copy of a
    patient in the same half, so that no patient informs both the pick and the score)."""
    fitted = [cross_fit(lines, seed, **fit)]
    ids = lines["patient_id"].unique().sort()
    rng = np.random.default_rng(seed)
    for r in range(rounds):
        drawn = pl.DataFrame({"patient_id": ids.gather(rng.integers(0, ids.len(), ids.len()))})
        resample = drawn.join(lines, on="patient_id", how="inner")
        fitted.append(cross_fit(resample, seed + r + 1, **fit))
    return fitted


def _therapy_class(regimen: str, owner: dict[str, str]) -> str | None:
    """A line's class in the therapy table: of its first non-chemotherapy agent the table knows, else chemotherapy."""
    classes = [owner[a] for a in regimen.split("+") if a in owner]
    return next((c for c in classes if c != "chemotherapy"), classes[0] if classes else None)


def line_rows(patients: pl.DataFrame, lines: pl.DataFrame, table: GuidelineTable) -> pl.DataFrame:
    """The simulator's rows (:data:`LINE_COLUMNS`) from real journeys: per line, its therapy class (lines of agents the
    table does not know are left out), whether that class is concordant with an indication matching the patient's
    record at that line (after the classes before it), line, stage IV, age; ``days`` to the next line (event 1),
    else to death (event 1) or the last follow-up (event 0); a line starting after the last follow-up is left out."""
    owner = table.class_of_agent
    records = {str(r["patient_id"]): r for r in patients.iter_rows(named=True)}
    rows, history = [], {}
    for line in lines.sort("patient_id", "line").iter_rows(named=True):
        pid, record = str(line["patient_id"]), records.get(str(line["patient_id"]))
        therapy = _therapy_class(line["regimen"] or "", owner)
        before = history.setdefault(pid, [])
        if record is None or therapy is None or line["start_day"] is None:
            continue
        item = {"patient_id": pid, "next_line": int(line["line"]), "patient": record, "lines": list(before)}
        before.append({"line": line["line"], "regimen": (line["regimen"] or "").split("+")})
        follow_up = None if record.get("survival_months") is None else record["survival_months"] * 30.4375
        if line["time_to_next_treatment"] is not None:
            days, event = float(line["time_to_next_treatment"]), 1
        elif follow_up is not None:
            days, event = follow_up - line["start_day"], int(line["ended_by"] == "death")
        else:
            continue
        if days <= 0:  # real lines can start after the last recorded follow-up: nothing to learn from
            continue
        rows.append({"patient_id": pid, "line": int(line["line"]), "therapy_class": therapy,
                     "matched": matched(table, table.patient(item), therapy),
                     "stage_iv": record.get("cancer_stage_group") == "IV", "age": record.get("age_at_diagnosis"),
                     "days": days, "event": event})  # fmt: skip
    return pl.DataFrame(rows, schema=LINE_COLUMNS)

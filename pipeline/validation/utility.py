"""Utility: does a model trained on synthetic rows work on real patients?

Train-on-synthetic-test-on-real (TSTR) against train-on-real-test-on-real (TRTR), both tested
on the real holdout: death within a horizon by AUC, and overall survival by Harrell's C-index
of a penalized Cox model (lifelines).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from lifelines import CoxPHFitter
from lifelines.utils import concordance_index
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from pipeline.validation.columns import SURVIVAL_EVENT, SURVIVAL_TIME, ColumnKinds
from pipeline.validation.encoding import MixedEncoder
from pipeline.validation.metrics import Metric

FAMILY = "utility"
COX_PENALIZER = 0.1


def feature_kinds(kinds: ColumnKinds) -> ColumnKinds:
    """The compared columns minus the outcome."""
    outcome = {SURVIVAL_TIME, SURVIVAL_EVENT}
    return ColumnKinds(
        numerical=tuple(c for c in kinds.numerical if c not in outcome),
        categorical=tuple(c for c in kinds.categorical if c not in outcome),
    )


def mortality_labels(frame: pl.DataFrame, horizon_months: float) -> tuple[np.ndarray, np.ndarray]:
    """(known, died): rows whose status at the horizon is known, and whether they died by then."""
    time = frame[SURVIVAL_TIME].cast(pl.Float64).fill_null(np.nan).to_numpy()
    event = frame[SURVIVAL_EVENT].cast(pl.Float64).fill_null(np.nan).to_numpy()
    died = (event == 1) & (time <= horizon_months)
    known = died | (time > horizon_months)
    return known, died.astype(int)


@dataclass(frozen=True)
class HoldoutPredictions:
    """Scores of the reference model on the real holdout rows whose label is known."""

    rows: np.ndarray  # indices into the holdout
    labels: np.ndarray
    trained_on_real: np.ndarray
    trained_on_synthetic: np.ndarray
    positive_rate: float  # in the real training rows; sets the decision threshold


def _classifier_scores(
    train: pl.DataFrame, encoder: MixedEncoder, test_x: np.ndarray, horizon: float, seed: int
) -> np.ndarray | None:
    known, died = mortality_labels(train, horizon)
    if known.sum() < 20 or len(np.unique(died[known])) < 2:
        return None
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
    model.fit(encoder.transform(train.filter(pl.Series(known))), died[known])
    return model.predict_proba(test_x)[:, 1]


def mortality_auc(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    horizon_months: float = 12.0,
    seed: int = 0,
) -> tuple[list[Metric], HoldoutPredictions | None]:
    """AUC of death within the horizon: TSTR as value, TRTR as baseline."""
    features = feature_kinds(kinds)
    known, died = mortality_labels(holdout, horizon_months)
    if known.sum() < 20 or len(np.unique(died[known])) < 2:
        return [], None
    encoder = MixedEncoder.fit(features, train, holdout, synthetic)
    rows = np.flatnonzero(known)
    test_x = encoder.transform(holdout[rows])
    real_scores = _classifier_scores(train, encoder, test_x, horizon_months, seed)
    synthetic_scores = _classifier_scores(synthetic, encoder, test_x, horizon_months, seed)
    if real_scores is None or synthetic_scores is None:
        return [], None
    labels = died[rows]
    target = f"death_within_{horizon_months:g}_months"
    metric = Metric(
        FAMILY,
        "tstr_auc",
        roc_auc_score(labels, synthetic_scores),
        target=target,
        baseline=roc_auc_score(labels, real_scores),
    )
    train_known, train_died = mortality_labels(train, horizon_months)
    predictions = HoldoutPredictions(rows, labels, real_scores, synthetic_scores, float(train_died[train_known].mean()))
    return [metric], predictions


def _cox_frame(frame: pl.DataFrame, encoder: MixedEncoder, keep: np.ndarray | None) -> pd.DataFrame:
    x = encoder.transform(frame)
    data = pd.DataFrame(x if keep is None else x[:, keep])
    data["T"] = np.maximum(frame[SURVIVAL_TIME].cast(pl.Float64).fill_null(0.0).to_numpy(), 1e-3)
    data["E"] = frame[SURVIVAL_EVENT].cast(pl.Float64).fill_null(0.0).to_numpy()
    return data


def _cox_concordance(train: pl.DataFrame, test: pd.DataFrame, encoder: MixedEncoder, keep: np.ndarray) -> float:
    model = CoxPHFitter(penalizer=COX_PENALIZER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_cox_frame(train, encoder, keep), "T", "E")
    risk = model.predict_partial_hazard(test.drop(columns=["T", "E"])).to_numpy()
    return float(concordance_index(test["T"], -risk, test["E"]))


def survival_concordance(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    max_rows: int = 20_000,
    seed: int = 0,
) -> list[Metric]:
    """C-index on the holdout of a Cox model fitted on synthetic rows (value) and on real rows (baseline)."""
    features = feature_kinds(kinds)
    train = train if train.height <= max_rows else train.sample(max_rows, seed=seed)
    synthetic = synthetic if synthetic.height <= max_rows else synthetic.sample(max_rows, seed=seed)
    encoder = MixedEncoder.fit(features, train, holdout, synthetic)
    keep = np.flatnonzero(encoder.transform(train).std(axis=0) > 0)  # constant columns break Cox
    test = _cox_frame(holdout, encoder, keep)
    try:
        real = _cox_concordance(train, test, encoder, keep)
        synthetic_value = _cox_concordance(synthetic, test, encoder, keep)
    except Exception:  # lifelines raises several types when a fit does not converge
        return [Metric(FAMILY, "tstr_c_index", float("nan"), target="overall_survival")]
    return [Metric(FAMILY, "tstr_c_index", synthetic_value, target="overall_survival", baseline=real)]

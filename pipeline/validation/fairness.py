"""Fairness: are the patients models fail on still there, and served as well as everyone else?

Representation per protected subgroup (synthetic share / real share), fidelity per subgroup
and the gap between the best and worst served group, and fairlearn's demographic-parity and
equalized-odds differences of the reference model trained on synthetic rows (value) against
the one trained on real rows (baseline), both on the real holdout.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from pipeline.intervals import share_ratio_interval
from pipeline.subgroups import subgroup_labels
from pipeline.validation.columns import ColumnKinds
from pipeline.validation.fidelity import column_shapes
from pipeline.validation.metrics import Metric
from pipeline.validation.utility import HoldoutPredictions

FAMILY = "fairness"


def protected_present(real: pl.DataFrame, protected: list[str]) -> list[str]:
    """Protected attributes this cohort actually records with at least two values."""
    return [c for c in protected if c in real.columns and real[c].drop_nulls().n_unique() > 1]


def representation(
    real: pl.DataFrame, synthetic: pl.DataFrame, protected: list[str], min_rows: int = 10
) -> list[Metric]:
    """Synthetic share / real share per subgroup with at least ``min_rows`` real patients, and the worst."""
    metrics = []
    for column in protected_present(real, protected):
        real_counts = subgroup_labels(real, column).drop_nulls().value_counts(name="n")
        synthetic_counts = subgroup_labels(synthetic, column, real).drop_nulls().value_counts(name="m")
        shares = real_counts.join(synthetic_counts, on=column, how="left").fill_null(0).filter(pl.col("n") >= min_rows)
        shares = shares.with_columns(
            real_share=pl.col("n") / real_counts["n"].sum(),
            synthetic_share=pl.col("m") / max(synthetic_counts["m"].sum(), 1),
        ).sort(column)
        ratios, real_total, synthetic_total = [], real_counts["n"].sum(), max(synthetic_counts["m"].sum(), 1)
        for level, n, m, real_share, synthetic_share in shares.select(
            column, "n", "m", "real_share", "synthetic_share"
        ).iter_rows():
            ratio = synthetic_share / real_share
            ratios.append(ratio)
            low, high = share_ratio_interval(m, synthetic_total, n, real_total)
            target, rows = f"{column}={level}", min(n, synthetic_total)
            metrics.append(Metric(FAMILY, "representation_ratio", ratio, target, real_share, low, high, rows))
        if ratios:
            metrics.append(Metric(FAMILY, "worst_representation_ratio", min(ratios), column))
    return metrics


def subgroup_fidelity(
    holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds, protected: list[str], min_rows: int = 30
) -> list[Metric]:
    """Mean column-shape score inside each subgroup, and the best-minus-worst gap per attribute."""
    metrics = []
    for column in protected_present(holdout, protected):
        scores = []
        real_groups, synthetic_groups = subgroup_labels(holdout, column), subgroup_labels(synthetic, column, holdout)
        for level, n in real_groups.drop_nulls().value_counts().sort(column).iter_rows():
            real_rows = holdout.filter(real_groups == level)
            synthetic_rows = synthetic.filter(synthetic_groups == level)
            if n < min_rows or synthetic_rows.height < min_rows:
                continue
            score = column_shapes(real_rows, synthetic_rows, kinds)[-1].value
            scores.append(score)
            metrics.append(Metric(FAMILY, "subgroup_column_shapes", score, f"{column}={level}"))
        if len(scores) >= 2:
            metrics.append(Metric(FAMILY, "subgroup_fidelity_gap", max(scores) - min(scores), column))
    return metrics


def model_fairness(holdout: pl.DataFrame, predictions: HoldoutPredictions, protected: list[str]) -> list[Metric]:
    """Demographic-parity and equalized-odds differences, synthetic-trained against real-trained."""
    rows = holdout[predictions.rows]
    metrics = []

    def decisions(scores: np.ndarray) -> np.ndarray:
        # flag the same share of patients as died in the real training rows
        return (scores >= np.quantile(scores, 1.0 - predictions.positive_rate)).astype(int)

    real_pred, synthetic_pred = decisions(predictions.trained_on_real), decisions(predictions.trained_on_synthetic)
    for column in protected_present(rows, protected):
        groups = subgroup_labels(rows, column, holdout).fill_null("<null>").to_numpy()
        for name, measure in (
            ("demographic_parity_difference", demographic_parity_difference),
            ("equalized_odds_difference", equalized_odds_difference),
        ):
            value = measure(predictions.labels, synthetic_pred, sensitive_features=groups)
            baseline = measure(predictions.labels, real_pred, sensitive_features=groups)
            metrics.append(Metric(FAMILY, name, float(value), column, baseline=float(baseline)))
    return metrics

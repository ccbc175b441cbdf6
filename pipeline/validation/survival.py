"""Survival consistency: does the synthetic cohort tell the same clinical story as the real one?

Kaplan-Meier curves per arm, stage and subgroup (real holdout against synthetic): largest and
mean absolute gap, and SurvivalGAN's optimism and short-sightedness (Norcliffe et al., AISTATS
2023): optimism is the mean signed gap S_synthetic - S_real over the real follow-up (positive:
synthetic patients live too long; an inverted event flag is a large optimism), short-sightedness
the share of the real follow-up the synthetic cohort does not reach. And Cox hazard ratios of
key covariates with 95% confidence intervals,
flagged where the synthetic interval misses the real estimate. Both through lifelines.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from lifelines import CoxPHFitter, KaplanMeierFitter

from pipeline.dtypes import as_labels
from pipeline.schema import GENOMIC_VARIANT_PREFIX
from pipeline.subgroups import subgroup_labels
from pipeline.validation.columns import SURVIVAL_EVENT, SURVIVAL_TIME, ColumnKinds
from pipeline.validation.metrics import OVERALL, Metric

FAMILY = "survival"
GRID_POINTS = 200
KM_GROUP_COLUMNS = ("cancer_related_medication", "cancer_stage_group")
COX_COVARIATES = (
    "cancer_related_medication",
    "cancer_stage_group",
    "tumor_grade",
    "tumor_marker_er_status",
    "tumor_marker_pr_status",
    "tumor_marker_her2_status",
    "msi_status",
    "age_at_diagnosis",
)
MIN_LEVEL_ROWS = 10


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan-Meier curve evaluated on a grid (for distances and plots)."""

    times: np.ndarray
    survival: np.ndarray


def km_curve(frame: pl.DataFrame, times: np.ndarray) -> SurvivalCurve:
    """The Kaplan-Meier estimate of ``frame`` at ``times``."""
    rows = frame.select(SURVIVAL_TIME, SURVIVAL_EVENT).drop_nulls()
    fitter = KaplanMeierFitter().fit(rows[SURVIVAL_TIME].to_numpy(), rows[SURVIVAL_EVENT].to_numpy())
    return SurvivalCurve(times, fitter.survival_function_at_times(times).to_numpy())


def km_distance(real: pl.DataFrame, synthetic: pl.DataFrame) -> tuple[float, float]:
    """(largest, mean) absolute gap between two Kaplan-Meier curves over the shared follow-up."""
    horizon = min(real[SURVIVAL_TIME].max(), synthetic[SURVIVAL_TIME].max())
    times = np.linspace(0.0, float(horizon), GRID_POINTS)
    gap = np.abs(km_curve(real, times).survival - km_curve(synthetic, times).survival)
    return float(gap.max()), float(gap.mean())


def optimism_and_short_sightedness(real: pl.DataFrame, synthetic: pl.DataFrame) -> tuple[float, float]:
    """SurvivalGAN's optimism (mean of S_synthetic - S_real over the real follow-up; a curve is
    held at its last value beyond its own follow-up) and short-sightedness ((T_real - T_synthetic)
    / T_real, 0 when the synthetic follow-up reaches as far)."""
    real_horizon = float(real[SURVIVAL_TIME].max())
    synthetic_horizon = float(synthetic[SURVIVAL_TIME].max())
    times = np.linspace(0.0, real_horizon, GRID_POINTS)
    optimism = float(np.mean(km_curve(synthetic, times).survival - km_curve(real, times).survival))
    short = max(0.0, (real_horizon - synthetic_horizon) / real_horizon) if real_horizon > 0 else 0.0
    return optimism, short


def km_groups(real: pl.DataFrame, kinds: ColumnKinds, protected: list[str], min_rows: int) -> list[tuple[str, str]]:
    """(column, level) pairs to draw a curve for: arms, stages and protected subgroups with enough rows."""
    groups = []
    for column in (*KM_GROUP_COLUMNS, *protected):
        if column not in kinds.all or (column in KM_GROUP_COLUMNS and column not in kinds.categorical):
            continue
        counts = subgroup_labels(real, column).drop_nulls().value_counts()
        if counts.height < 2:
            continue
        groups += [(column, level) for level, n in counts.iter_rows() if n >= min_rows]
    return groups


def km_metrics(
    holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds, protected: list[str], min_rows: int = 30
) -> list[Metric]:
    """Largest and mean Kaplan-Meier gaps, overall and per group."""
    pairs = [(OVERALL, holdout, synthetic)]
    for column, level in km_groups(holdout, kinds, protected, min_rows):
        subset = synthetic.filter(subgroup_labels(synthetic, column, holdout) == level)
        if subset.height >= min_rows:
            pairs.append((f"{column}={level}", holdout.filter(subgroup_labels(holdout, column) == level), subset))
    metrics = []
    for target, real_rows, synthetic_rows in pairs:
        largest, mean = km_distance(real_rows, synthetic_rows)
        optimism, short = optimism_and_short_sightedness(real_rows, synthetic_rows)
        rows = min(real_rows.height, synthetic_rows.height)
        metrics += [
            Metric(FAMILY, "km_max_gap", largest, target, rows=rows),
            Metric(FAMILY, "km_mean_gap", mean, target, rows=rows),
            Metric(FAMILY, "optimism", optimism, target, rows=rows),
            Metric(FAMILY, "abs_optimism", abs(optimism), target, rows=rows),
            Metric(FAMILY, "short_sightedness", short, target, rows=rows),
        ]
    return metrics


def _design(
    frame: pl.DataFrame, covariates: list[str], kinds: ColumnKinds, levels: dict[str, list[str]]
) -> pd.DataFrame:
    data = {"T": np.maximum(frame[SURVIVAL_TIME].to_numpy(), 1e-3), "E": frame[SURVIVAL_EVENT].to_numpy()}
    for column in covariates:
        if column in kinds.numerical:
            data[column] = frame[column].cast(pl.Float64).to_numpy()
            continue
        labels = as_labels(frame[column]).to_numpy()
        for level in levels[column][1:]:  # the first (most frequent) level is the reference
            data[f"{column}={level}"] = (labels == level).astype(float)
    return pd.DataFrame(data).dropna()


def _fit_cox(design: pd.DataFrame) -> pd.DataFrame | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            summary = CoxPHFitter(penalizer=0.01).fit(design, "T", "E").summary
        except Exception:  # lifelines raises several types when a fit does not converge
            return None
    return summary[["exp(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%"]]


def cox_covariates(real: pl.DataFrame, kinds: ColumnKinds) -> tuple[list[str], dict[str, list[str]]]:
    """Key covariates present with at least two well-populated levels; levels by frequency."""
    candidates = [*COX_COVARIATES, *(c for c in kinds.categorical if c.startswith(GENOMIC_VARIANT_PREFIX))]
    chosen, levels = [], {}
    for column in candidates:
        if column in kinds.numerical and real[column].drop_nulls().n_unique() > 1:
            chosen.append(column)
        elif column in kinds.categorical:
            counts = as_labels(real[column]).drop_nulls().value_counts(sort=True)
            kept = [level for level, n in counts.iter_rows() if n >= MIN_LEVEL_ROWS]
            if len(kept) >= 2:
                chosen.append(column)
                levels[column] = kept
    return chosen, levels


def hazard_ratio_metrics(holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds) -> list[Metric]:
    """Cox hazard ratios and their 95% intervals, synthetic (value) against real holdout (baseline)."""
    covariates, levels = cox_covariates(holdout, kinds)
    if not covariates:
        return []
    real = _fit_cox(_design(holdout, covariates, kinds, levels))
    fitted = _fit_cox(_design(synthetic, covariates, kinds, levels))
    if real is None or fitted is None:
        return [Metric(FAMILY, "hazard_ratio_agreement", float("nan"))]
    metrics, covered = [], []
    for term in real.index.intersection(fitted.index):
        r, s = real.loc[term].to_numpy(), fitted.loc[term].to_numpy()
        covers = float(s[1] <= r[0] <= s[2])
        covered.append(covers)
        metrics += [
            Metric(FAMILY, "hazard_ratio", s[0], str(term), baseline=r[0]),
            Metric(FAMILY, "hazard_ratio_lower_95", s[1], str(term), baseline=r[1]),
            Metric(FAMILY, "hazard_ratio_upper_95", s[2], str(term), baseline=r[2]),
            Metric(FAMILY, "hazard_ratio_ci_covers_real", covers, str(term)),
        ]
    metrics.append(Metric(FAMILY, "hazard_ratio_agreement", float(np.mean(covered)) if covered else float("nan")))
    return metrics

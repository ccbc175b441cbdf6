"""Survival consistency: does the synthetic cohort tell the same clinical story as the real one?

Kaplan-Meier curves per arm, stage and subgroup (real holdout against synthetic): largest and
mean absolute gap, and SurvivalGAN's optimism and short-sightedness (Norcliffe et al., AISTATS
2023): optimism is the mean signed gap S_synthetic - S_real (positive: synthetic patients live
too long; an inverted event flag is a large optimism), short-sightedness the share of the real
follow-up the synthetic cohort does not reach. Curves are compared only where both rest on enough
patients at risk (no verdict decided by the last few patients of a tail), and every value carries
a bootstrap 95% interval. And Cox hazard ratios of
key covariates with 95% confidence intervals,
flagged where the synthetic interval misses the real estimate. Both through lifelines.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from lifelines import CoxPHFitter, KaplanMeierFitter

from pipeline.dtypes import as_labels
from pipeline.intervals import Z95
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
ARM_COLUMN = KM_GROUP_COLUMNS[0]
MIN_ARM_ROWS = 30  # an arm's effect is compared only where both sides hold this many of its patients
MIN_AT_RISK = 10  # a curve is compared only where it rests on at least this many patients ...
MIN_AT_RISK_SHARE = 0.05  # ... and this share of its cohort
FOLLOW_UP_QUANTILE = 0.9  # short-sightedness compares this quantile of follow-up, not the longest patient
BOOTSTRAP_ROUNDS = 100


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan-Meier curve evaluated on a grid (for distances and plots)."""

    times: np.ndarray
    survival: np.ndarray


def km_curve(frame: pl.DataFrame, times: np.ndarray) -> SurvivalCurve:
    """The Kaplan-Meier estimate of ``frame`` at ``times`` (lifelines; for plots)."""
    rows = frame.select(SURVIVAL_TIME, SURVIVAL_EVENT).drop_nulls()
    fitter = KaplanMeierFitter().fit(rows[SURVIVAL_TIME].to_numpy(), rows[SURVIVAL_EVENT].to_numpy())
    return SurvivalCurve(times, fitter.survival_function_at_times(times).to_numpy())


def km_at(times: np.ndarray, events: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(survival, patients at risk) at ``grid``: the Kaplan-Meier product limit, as lifelines
    computes it (tests compare the two), in a few array operations so a bootstrap stays cheap."""
    order = np.argsort(times, kind="stable")
    t, e = times[order], events[order].astype(float)
    unique, first = np.unique(t, return_index=True)
    deaths = np.add.reduceat(e, first)
    survival = np.cumprod(1.0 - deaths / (len(t) - first))
    position = np.searchsorted(unique, grid, side="right") - 1
    at_grid = np.where(position >= 0, survival[np.maximum(position, 0)], 1.0)
    return at_grid, len(t) - np.searchsorted(t, grid, side="left")


def _outcomes(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    rows = frame.select(SURVIVAL_TIME, SURVIVAL_EVENT).drop_nulls()
    return rows[SURVIVAL_TIME].cast(pl.Float64).to_numpy(), rows[SURVIVAL_EVENT].cast(pl.Float64).to_numpy()


def comparison_window(real_times: np.ndarray, synthetic_times: np.ndarray) -> float:
    """The last time at which both cohorts keep enough patients at risk to compare their curves:
    at least ``MIN_AT_RISK`` patients and ``MIN_AT_RISK_SHARE`` of each cohort."""
    ends = []
    for times in (real_times, synthetic_times):
        need = max(MIN_AT_RISK, math.ceil(MIN_AT_RISK_SHARE * len(times)))
        if len(times) < need:
            return 0.0
        ends.append(float(np.sort(times)[len(times) - need]))  # `need` patients have a time >= this
    return min(ends)


def survival_gaps(real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """[largest gap, mean gap, optimism, short-sightedness] of two (times, events) samples.

    Gaps and optimism (mean of S_synthetic - S_real) are taken over the comparison window, where
    both curves rest on enough patients; short-sightedness is the share of the real follow-up
    (its ``FOLLOW_UP_QUANTILE``, not the single longest patient) the synthetic cohort falls short of.
    """
    horizon = comparison_window(real[0], synthetic[0])
    if horizon <= 0:
        return np.full(4, np.nan)
    grid = np.linspace(0.0, horizon, GRID_POINTS)
    gap = km_at(*synthetic, grid)[0] - km_at(*real, grid)[0]
    reach_real = float(np.quantile(real[0], FOLLOW_UP_QUANTILE))
    reach_synthetic = float(np.quantile(synthetic[0], FOLLOW_UP_QUANTILE))
    short = max(0.0, (reach_real - reach_synthetic) / reach_real) if reach_real > 0 else 0.0
    return np.array([np.abs(gap).max(), np.abs(gap).mean(), gap.mean(), short])


def bootstrap_gaps(
    real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray], *, seed: int, rounds: int
) -> np.ndarray:
    """Standard errors of :func:`survival_gaps` (and of the absolute optimism) by resampling both
    cohorts' patients ``rounds`` times."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(rounds):
        r = rng.integers(0, len(real[0]), len(real[0]))
        s = rng.integers(0, len(synthetic[0]), len(synthetic[0]))
        draws.append(survival_gaps((real[0][r], real[1][r]), (synthetic[0][s], synthetic[1][s])))
    values = np.asarray(draws)
    values = np.column_stack([values, np.abs(values[:, 2])])
    return np.nanstd(values, axis=0, ddof=1)


def km_distance(real: pl.DataFrame, synthetic: pl.DataFrame) -> tuple[float, float]:
    """(largest, mean) absolute gap between two Kaplan-Meier curves over the comparison window."""
    largest, mean, _, _ = survival_gaps(_outcomes(real), _outcomes(synthetic))
    return float(largest), float(mean)


def optimism_and_short_sightedness(real: pl.DataFrame, synthetic: pl.DataFrame) -> tuple[float, float]:
    """SurvivalGAN's optimism (mean of S_synthetic - S_real over the comparison window) and
    short-sightedness (the share of the real follow-up the synthetic cohort does not reach)."""
    _, _, optimism, short = survival_gaps(_outcomes(real), _outcomes(synthetic))
    return float(optimism), float(short)


def _by_frequency(labels: pl.Series) -> list[tuple[str, int]]:
    """(level, count), most frequent first and ties by level: the same order on every run (``value_counts``
    has none, and the order seeds each curve's resampling)."""
    return sorted(labels.drop_nulls().value_counts().iter_rows(), key=lambda row: (-row[1], str(row[0])))


def km_groups(real: pl.DataFrame, kinds: ColumnKinds, protected: list[str], min_rows: int) -> list[tuple[str, str]]:
    """(column, level) pairs to draw a curve for: arms, stages and protected subgroups with enough rows."""
    groups = []
    for column in (*KM_GROUP_COLUMNS, *protected):
        if column not in kinds.all or (column in KM_GROUP_COLUMNS and column not in kinds.categorical):
            continue
        counts = _by_frequency(subgroup_labels(real, column))
        if len(counts) < 2:
            continue
        groups += [(column, level) for level, n in counts if n >= min_rows]
    return groups


def _interval(value: float, se: float, floor: float | None = None) -> tuple[float | None, float | None]:
    if math.isnan(value) or math.isnan(se):
        return None, None
    low = value - Z95 * se
    return (low if floor is None else max(floor, low)), value + Z95 * se


def km_metrics(
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    protected: list[str],
    min_rows: int = 30,
    *,
    seed: int = 0,
    rounds: int = BOOTSTRAP_ROUNDS,
) -> list[Metric]:
    """Largest and mean Kaplan-Meier gaps, optimism and short-sightedness, overall and per group,
    each with a bootstrap 95% interval (``rounds`` resamples; 0 for none)."""
    pairs = [(OVERALL, holdout, synthetic)]
    for column, level in km_groups(holdout, kinds, protected, min_rows):
        subset = synthetic.filter(subgroup_labels(synthetic, column, holdout) == level)
        if subset.height >= min_rows:
            pairs.append((f"{column}={level}", holdout.filter(subgroup_labels(holdout, column) == level), subset))
    metrics = []
    for index, (target, real_rows, synthetic_rows) in enumerate(pairs):
        real, fake = _outcomes(real_rows), _outcomes(synthetic_rows)
        largest, mean, optimism, short = survival_gaps(real, fake)
        se = bootstrap_gaps(real, fake, seed=seed + index, rounds=rounds) if rounds > 1 else np.full(5, np.nan)
        rows = min(len(real[0]), len(fake[0]))

        named = (
            ("km_max_gap", largest, se[0], 0.0),
            ("km_mean_gap", mean, se[1], 0.0),
            ("optimism", optimism, se[2], None),
            ("abs_optimism", abs(optimism), se[4], 0.0),
            ("short_sightedness", short, se[3], 0.0),
        )
        for name, value, error, floor in named:
            low, high = _interval(float(value), float(error), floor)
            metrics.append(Metric(FAMILY, name, float(value), target, lower=low, upper=high, rows=rows))
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


def _cox_summary(design: pd.DataFrame, columns: list[str], penalizer: float = 0.01) -> pd.DataFrame | None:
    """``columns`` of lifelines' Cox summary of ``design`` (T, E and covariates); None when it does not converge."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            summary = CoxPHFitter(penalizer=penalizer).fit(design, "T", "E").summary
        except Exception:  # lifelines raises several types when a fit does not converge
            return None
    return summary[columns]


def _fit_cox(design: pd.DataFrame) -> pd.DataFrame | None:
    return _cox_summary(design, ["exp(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%"])


def cox_covariates(real: pl.DataFrame, kinds: ColumnKinds) -> tuple[list[str], dict[str, list[str]]]:
    """Key covariates present with at least two well-populated levels; levels by frequency."""
    candidates = [*COX_COVARIATES, *(c for c in kinds.categorical if c.startswith(GENOMIC_VARIANT_PREFIX))]
    chosen, levels = [], {}
    for column in candidates:
        if column in kinds.numerical and real[column].drop_nulls().n_unique() > 1:
            chosen.append(column)
        elif column in kinds.categorical:
            kept = [level for level, n in _by_frequency(as_labels(real[column])) if n >= MIN_LEVEL_ROWS]
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


def _arm_log_hazards(frame: pl.DataFrame, levels: list[str]) -> pd.DataFrame | None:
    """Log hazard ratio and its standard error of every arm but the first (the reference), unadjusted."""
    frame = frame.filter(as_labels(frame[ARM_COLUMN]).is_in(levels).fill_null(False))
    arms = as_labels(frame[ARM_COLUMN]).to_numpy()
    design = pd.DataFrame(
        {"T": np.maximum(frame[SURVIVAL_TIME].cast(pl.Float64).to_numpy(), 1e-3),
         "E": frame[SURVIVAL_EVENT].cast(pl.Float64).to_numpy()}
        | {level: (arms == level).astype(float) for level in levels[1:]}
    ).dropna()  # fmt: skip
    return _cox_summary(design, ["coef", "se(coef)"], penalizer=0.001)


def treatment_effect_metrics(real: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds) -> list[Metric]:
    """Per treatment arm: the gap between the synthetic and the real log hazard ratio against the
    most frequent arm (``treatment_effect_gap`` = |log HR synthetic - log HR real|), with a 95%
    interval from both fits' standard errors (a normal approximation, not truncated at 0, so that
    its p-value against a bound is honest). Arms swapped or an effect erased move it; the arms'
    own Kaplan-Meier gates do not see a swap between arms of similar curves."""
    outcome = {SURVIVAL_TIME, SURVIVAL_EVENT}
    none = [Metric(FAMILY, "treatment_effect_gap", 0.0, f"(no two arms of {MIN_ARM_ROWS} real patients)")]
    if ARM_COLUMN not in kinds.categorical or not outcome <= set(real.columns) & set(synthetic.columns):
        return none
    counts = [dict(_by_frequency(as_labels(f[ARM_COLUMN]))) for f in (real, synthetic)]
    arms = [level for level, n in counts[0].items() if n >= MIN_ARM_ROWS]
    if len(arms) < 2:
        return none
    # an arm the synthetic rows (nearly) lack cannot be compared: listed as too few rows to tell
    levels = [level for level in arms if counts[1].get(level, 0) >= MIN_ARM_ROWS]
    fits = (_arm_log_hazards(real, levels), _arm_log_hazards(synthetic, levels)) if len(levels) >= 2 else (None, None)
    metrics = []
    for level in arms[1:]:
        target = f"{ARM_COLUMN}={level} vs {arms[0]}"
        rows = min(counts[0][level], counts[1].get(level, 0), counts[0][arms[0]], counts[1].get(arms[0], 0))
        if fits[0] is None or fits[1] is None or level not in levels or levels[0] != arms[0]:
            metrics.append(Metric(FAMILY, "treatment_effect_gap", 0.0, target, rows=min(rows, MIN_ARM_ROWS - 1)))
            continue
        (r, r_se), (s, s_se) = fits[0].loc[level].to_numpy(), fits[1].loc[level].to_numpy()
        gap, se = abs(s - r), math.hypot(r_se, s_se)
        metrics.append(
            Metric(FAMILY, "treatment_effect_gap", float(gap), target, baseline=float(r),
                   lower=float(gap - Z95 * se), upper=float(gap + Z95 * se), rows=rows)
        )  # fmt: skip
    return metrics

"""Fidelity: how closely synthetic rows follow the real distribution.

Column shapes and pair trends use the definitions of sdmetrics (KSComplement, TVComplement,
CorrelationSimilarity, ContingencySimilarity with 10 bins on the real range and no threshold),
vectorized with numpy; tests check they agree with sdmetrics to 1e-6.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from pipeline.dtypes import as_labels
from pipeline.validation.columns import ColumnKinds, as_float
from pipeline.validation.encoding import NULL_LEVEL, MixedEncoder
from pipeline.validation.metrics import Metric

FAMILY = "fidelity"
PAIR_BINS = 10
ROUND_DECIMALS = 14  # as sdmetrics: float noise below this does not count as a difference


def _sorted(values: np.ndarray) -> np.ndarray:
    """Non-null values, rounded as sdmetrics does, sorted (polars: multi-threaded)."""
    present = np.round(values[~np.isnan(values)], ROUND_DECIMALS)
    return pl.Series(present).sort().to_numpy()


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - the two-sample Kolmogorov-Smirnov statistic on the non-null values.

    The largest gap between the two empirical CDFs lies at a value of one of the samples, so
    both CDFs are evaluated at every value of each sorted sample (no merged sort needed).
    """
    x, y = _sorted(real), _sorted(synthetic)
    if not x.size or not y.size:
        return float("nan")
    at_x = np.searchsorted(x, x, side="right") / x.size - np.searchsorted(y, x, side="right") / y.size
    at_y = np.searchsorted(x, y, side="right") / x.size - np.searchsorted(y, y, side="right") / y.size
    return float(1.0 - max(np.abs(at_x).max(), np.abs(at_y).max()))


def _frequencies(real: pl.Series, synthetic: pl.Series, *, keep_null: bool) -> tuple[np.ndarray, np.ndarray]:
    """Aligned relative frequencies of every value seen in either column."""
    real, synthetic = as_labels(real), as_labels(synthetic)
    if keep_null:
        real, synthetic = real.fill_null(NULL_LEVEL), synthetic.fill_null(NULL_LEVEL)
    else:
        real, synthetic = real.drop_nulls(), synthetic.drop_nulls()
    r = real.value_counts().rename({real.name: "v", "count": "r"})
    s = synthetic.value_counts().rename({synthetic.name: "v", "count": "s"})
    # sorted: value_counts has no order, and summing in another order moves the last bits of a metric
    joined = r.join(s, on="v", how="full", coalesce=True).fill_null(0).sort("v")
    p = joined["r"].to_numpy().astype(float)
    q = joined["s"].to_numpy().astype(float)
    return p / max(p.sum(), 1), q / max(q.sum(), 1)


def tv_complement(real: pl.Series, synthetic: pl.Series) -> float:
    """1 - the total variation distance between the category frequencies (nulls ignored)."""
    if real.drop_nulls().is_empty() or synthetic.drop_nulls().is_empty():
        return float("nan")
    p, q = _frequencies(real, synthetic, keep_null=False)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def column_shapes(real: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds) -> list[Metric]:
    """KS complement (numerical) or TV complement (categorical) per column, and their mean."""
    with ThreadPoolExecutor() as pool:  # sorting and searching release the GIL
        scores = pool.map(lambda c: ks_complement(as_float(real[c]), as_float(synthetic[c])), kinds.numerical)
        metrics = [Metric(FAMILY, "ks_complement", score, c) for c, score in zip(kinds.numerical, scores, strict=True)]
    metrics += [Metric(FAMILY, "tv_complement", tv_complement(real[c], synthetic[c]), c) for c in kinds.categorical]
    values = [m.value for m in metrics if not np.isnan(m.value)]
    metrics.append(Metric(FAMILY, "column_shapes", float(np.mean(values)) if values else float("nan")))
    return metrics


def _codes(real: pl.DataFrame, synthetic: pl.DataFrame, column: str, kinds: ColumnKinds) -> tuple[np.ndarray, ...]:
    """Small integer codes for a column in both frames: real-range bins or category indices."""
    if column in kinds.numerical:
        r, s = as_float(real[column]), as_float(synthetic[column])
        edges = np.histogram_bin_edges(r[~np.isnan(r)], bins=PAIR_BINS)
        edges[0], edges[-1] = -np.inf, np.inf
        codes = (np.digitize(r, edges).astype(np.int32), np.digitize(s, edges).astype(np.int32))
        return (*codes, np.array(PAIR_BINS + 2))
    r, s = as_labels(real[column]).fill_null(NULL_LEVEL), as_labels(synthetic[column]).fill_null(NULL_LEVEL)
    levels = sorted(set(r.unique().to_list()) | set(s.unique().to_list()))
    return _category_codes(r, levels), _category_codes(s, levels), np.array(len(levels))


def _category_codes(labels: pl.Series, levels: list[str]) -> np.ndarray:
    return labels.replace_strict(levels, list(range(len(levels))), return_dtype=pl.Int32).to_numpy()


def _contingency_similarity(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> float:
    size = int(a[2]) * int(b[2])
    real = np.bincount(a[0] * int(b[2]) + b[0], minlength=size) / a[0].size
    synthetic = np.bincount(a[1] * int(b[2]) + b[1], minlength=size) / a[1].size
    return float(1.0 - 0.5 * np.abs(real - synthetic).sum())


def _float_matrix(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """Numerical columns as one float64 matrix, NaN for nulls."""
    return frame.select(pl.col(columns).cast(pl.Float64).fill_null(np.nan)).to_numpy()


def pairwise_pearson(values: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column pair over the rows where both are present (NaN = missing).

    Four matrix products instead of one masked pass per pair; columns are centred first so the
    sums do not cancel. Constant pairs (and pairs with under two shared rows) give NaN.
    """
    present = ~np.isnan(values)
    if present.all():
        return np.atleast_2d(np.corrcoef(values, rowvar=False))
    centred = np.where(present, values - np.nanmean(values, axis=0), 0.0)
    weights = present.astype(np.float64)
    n = weights.T @ weights
    sums = centred.T @ weights  # [a, b]: sum of a over rows where b is present too
    squares = (centred**2).T @ weights
    products = centred.T @ centred
    with np.errstate(divide="ignore", invalid="ignore"):
        covariance = n * products - sums * sums.T
        variance = (n * squares) - sums**2
        correlation = covariance / np.sqrt(variance * variance.T)
    correlation[(n < 2) | ~np.isfinite(correlation)] = np.nan
    return np.clip(correlation, -1.0, 1.0)


def pair_trends(real: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds) -> list[Metric]:
    """Correlation similarity (numerical pairs) or contingency similarity (others), and their mean.

    Constant real columns are left out, as sdmetrics cannot score them either.
    """
    columns = [c for c in kinds.all if real[c].drop_nulls().n_unique() > 1]
    with ThreadPoolExecutor() as pool:
        codes = dict(zip(columns, pool.map(lambda c: _codes(real, synthetic, c, kinds), columns), strict=True))
    numerical = [c for c in columns if c in kinds.numerical]
    position = {c: i for i, c in enumerate(numerical)}
    real_r, synthetic_r = (
        pairwise_pearson(_float_matrix(f, numerical)) if numerical else None for f in (real, synthetic)
    )
    metrics = []
    mixed = [(a, b) for a, b in itertools.combinations(columns, 2) if not (a in position and b in position)]
    with ThreadPoolExecutor() as pool:
        scores = pool.map(lambda pair: _contingency_similarity(codes[pair[0]], codes[pair[1]]), mixed)
        contingency = dict(zip(mixed, scores, strict=True))
    for a, b in itertools.combinations(columns, 2):
        if a in position and b in position:
            i, j = position[a], position[b]
            score = 1.0 - abs(real_r[i, j] - synthetic_r[i, j]) / 2.0
            metrics.append(Metric(FAMILY, "correlation_similarity", score, f"{a}|{b}"))
        else:
            metrics.append(Metric(FAMILY, "contingency_similarity", contingency[(a, b)], f"{a}|{b}"))
    values = [m.value for m in metrics if not np.isnan(m.value)]
    metrics.append(Metric(FAMILY, "pair_trends", float(np.mean(values)) if values else float("nan")))
    return metrics


def distances(real: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds) -> list[Metric]:
    """Wasserstein distance on real-range-scaled values (numerical) and Jensen-Shannon (categorical)."""
    metrics = []
    for column in kinds.numerical:
        r, s = as_float(real[column]), as_float(synthetic[column])
        r, s = r[~np.isnan(r)], s[~np.isnan(s)]
        span = float(r.max() - r.min()) if r.size else 0.0
        value = wasserstein_distance(r, s) / (span or 1.0) if r.size and s.size else float("nan")
        metrics.append(Metric(FAMILY, "wasserstein_scaled", float(value), column))
    for column in kinds.categorical:
        p, q = _frequencies(real[column], synthetic[column], keep_null=True)
        metrics.append(Metric(FAMILY, "jensen_shannon", float(jensenshannon(p, q, base=2)), column))
    return metrics


def c2st_auc(
    real: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    seed: int = 0,
    max_rows: int = 20_000,
    folds: int = 5,
) -> float:
    """Cross-validated AUC of a classifier telling real from synthetic rows (0.5: indistinguishable).

    Both classes get the same number of rows (at most ``max_rows``), drawn with ``seed``.
    """
    n = min(real.height, synthetic.height, max_rows)
    real_rows = real.sample(n, seed=seed)
    synthetic_rows = synthetic.sample(n, seed=seed + 1)
    encoder = MixedEncoder.fit(kinds, real_rows, synthetic_rows)
    features = np.vstack([encoder.transform(real_rows), encoder.transform(synthetic_rows)])
    labels = np.r_[np.zeros(n), np.ones(n)]
    classifier = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(classifier, features, labels, cv=splits, scoring="roc_auc").mean())

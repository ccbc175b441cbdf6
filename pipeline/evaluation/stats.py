"""Scores with their uncertainty: bootstrap and Wilson intervals, AUC, Brier, calibration, C-indices, IBS.

Harrell's C-index is computed here in numpy blocks (equal to lifelines', which is too slow for thousands of
bootstrap resamples); Uno's C-index and the integrated Brier score are computed here with
inverse-probability-of-censoring weights from lifelines' Kaplan-Meier estimate of the censoring
distribution (scikit-survival, which has both, needs numpy 2 and scikit-learn < 1.9, which this
project cannot take).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.utils import concordance_index
from scipy.integrate import trapezoid
from scipy.spatial.distance import jensenshannon
from scipy.stats import rankdata

Z95 = 1.959963984540054
MIN_VALID_RESAMPLES = 10
EPSILON = 1e-6
HARRELL_BLOCK = 256  # deaths compared with everyone at once
HARRELL_BLOCKS_MAX = 2000  # patients up to which the blocks beat lifelines' tree


def score(value: float | None, low: float | None, high: float | None, n: int) -> dict[str, Any]:
    """One score as the output contract writes it."""

    def clean(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else round(float(x), 6)

    return {"value": clean(value), "ci_low": clean(low), "ci_high": clean(high), "n": int(n)}


def bootstrap(
    metric: Callable[..., float],
    arrays: tuple[np.ndarray, ...],
    reps: int,
    seed: int,
    *,
    basic: bool = False,
    limits: tuple[float, float] = (-math.inf, math.inf),
) -> dict[str, Any]:
    """``metric(*arrays)`` with a bootstrap 95% interval over rows (resamples where it fails skipped).

    Percentile interval by default. ``basic``: the basic (reverse-percentile) interval
    [2v - q97.5, 2v - q2.5] (Davison & Hinkley 1997, 5.2), for statistics the resamples overstate,
    such as a spread between groups (max minus min), whose percentile interval sits above the
    value; clipped to ``limits``.
    """
    n = len(arrays[0])
    value = _safe(metric, arrays)
    if n == 0 or value is None:
        return score(value, None, None, n)
    rng = np.random.default_rng(seed)
    if metric is harrell_c and n <= HARRELL_BLOCKS_MAX:  # every resample at once, the same draws
        draws = _harrell_resamples(*arrays, [rng.integers(0, n, size=n) for _ in range(reps)])
    elif metric is auc:
        draws = _auc_resamples(*arrays, [rng.integers(0, n, size=n) for _ in range(reps)])
    else:
        draws = []
        for _ in range(reps):
            index = rng.integers(0, n, size=n)
            result = _safe(metric, tuple(a[index] for a in arrays))
            if result is not None:
                draws.append(result)
    if len(draws) < MIN_VALID_RESAMPLES:
        return score(value, None, None, n)
    low, high = np.percentile(draws, [2.5, 97.5])
    if basic:
        low, high = max(limits[0], 2 * value - high), min(limits[1], 2 * value - low)
    return score(value, float(low), float(high), n)


def _harrell_resamples(time: np.ndarray, event: np.ndarray, risk: np.ndarray, draws: list[np.ndarray]) -> list[float]:
    """Harrell's C of each resample (rows ``draws``) at once: a resample weights each row by its copies, and a
    pair's weight is the product of its two rows' (a row and its own copy are never comparable); resamples
    without a comparable pair are left out, as :func:`bootstrap` leaves out those that raise."""
    time, risk, event = np.asarray(time, dtype=float), np.asarray(risk, dtype=float), np.asarray(event)
    if not draws or np.isnan(time).any() or np.isnan(risk).any():
        return []
    died, censored = np.flatnonzero(event == 1), event != 1
    t, r = time[died][:, None], risk[died][:, None]
    comparable = ((time[None, :] > t) | ((time[None, :] == t) & censored[None, :])).astype(float)
    credit = comparable * ((r > risk[None, :]) + 0.5 * (r == risk[None, :]))
    weights = np.stack([np.bincount(index, minlength=len(time)) for index in draws]).astype(float)
    deaths = weights[:, died]
    pairs, right = ((deaths @ comparable) * weights).sum(axis=1), ((deaths @ credit) * weights).sum(axis=1)
    return [float(h / p) for h, p in zip(right, pairs, strict=True) if p > 0]


def _auc_resamples(y: np.ndarray, p: np.ndarray, draws: list[np.ndarray]) -> list[float]:
    """The AUC of each resample (rows ``draws``) at once, as :func:`auc` gives it: the Mann-Whitney count
    with each row weighted by its copies (ties count a half), over the predictions sorted once; resamples
    with one class only are left out, as :func:`bootstrap` leaves out those that raise."""
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    if not draws or np.isnan(p).any():
        return []
    order = np.argsort(p, kind="mergesort")
    starts = np.flatnonzero(np.r_[True, np.diff(p[order]) != 0])  # the first position of each tied value
    weights = np.stack([np.bincount(index, minlength=len(y)) for index in draws])[:, order].astype(float)
    positive = y[order] == 1
    pos = np.add.reduceat(weights * positive, starts, axis=1)
    neg = np.add.reduceat(weights * ~positive, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg  # negatives with a strictly lower prediction
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    wins = (pos * (below + 0.5 * neg)).sum(axis=1)
    return [float(w / n) for w, n in zip(wins, pairs, strict=True) if n > 0]


FIT_ERRORS = (ValueError, ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError)  # "cannot tell here"


def _safe(metric: Callable[..., float], arrays: tuple[np.ndarray, ...]) -> float | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(metric(*arrays))
    except FIT_ERRORS:
        return None
    return value if math.isfinite(value) else None


def wilson(successes: int, n: int) -> tuple[float | None, float | None]:
    """Wilson score 95% interval of a proportion (None without trials)."""
    if n == 0:
        return None, None
    p = successes / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic on average ranks (equal to scikit-learn's, without its overhead)."""
    positive = y == 1
    n1 = int(positive.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("one class only")
    return float((rankdata(p)[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def macro_auc(y: np.ndarray, p: np.ndarray) -> float:
    """One-vs-rest AUC averaged over the classes present (``y`` holds class indices)."""
    values = [auc((y == k).astype(int), p[:, k]) for k in range(p.shape[1]) if 0 < (y == k).sum() < len(y)]
    if not values:
        raise ValueError("one class only")
    return float(np.mean(values))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of probabilities; multiclass (``p`` 2-D, ``y`` class indices): summed over classes."""
    if p.ndim == 2:
        onehot = np.zeros_like(p)
        onehot[np.arange(len(y)), y] = 1.0
        return float(np.mean(((p - onehot) ** 2).sum(axis=1)))
    return float(np.mean((p - y) ** 2))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


def _logistic_fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Unpenalized logistic regression by Newton's method (columns of ``x``; ``offset`` added to the logit)."""
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        eta = np.clip(x @ beta + offset, -30, 30)
        mu = 1 / (1 + np.exp(-eta))
        weight = mu * (1 - mu) + 1e-9
        step = np.linalg.solve((x * weight[:, None]).T @ x + 1e-9 * np.eye(x.shape[1]), x.T @ (y - mu))
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def calibration_slope(y: np.ndarray, p: np.ndarray) -> float:
    """Slope of the logistic recalibration logit(y) ~ a + b logit(p) (1 is ideal)."""
    if len(np.unique(y)) < 2:
        raise ValueError("one class only")
    x = np.column_stack([np.ones(len(p)), _logit(p)])
    return float(_logistic_fit(x, y.astype(float), np.zeros(len(p)))[1])


def calibration_intercept(y: np.ndarray, p: np.ndarray) -> float:
    """Calibration in the large: a in logit(y) ~ a + offset(logit(p)) (0 is ideal)."""
    if len(np.unique(y)) < 2:
        raise ValueError("one class only")
    return float(_logistic_fit(np.ones((len(p), 1)), y.astype(float), _logit(p))[0])


def harrell_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C-index of a risk score (higher = worse): of the comparable pairs (a death before the other
    patient's time, or at the time the other was censored), the share the score orders right, ties counting half.

    Equal to lifelines' ``concordance_index(time, -risk, event)`` (tested on ties and censoring), in numpy
    blocks of deaths against everyone instead of its pure-Python tree up to ``HARRELL_BLOCKS_MAX`` patients (the
    bootstraps call it thousands of times per evaluation, mostly on subgroups and cells; ``bench/harrell.py``),
    lifelines above."""
    time, risk, event = np.asarray(time, dtype=float), np.asarray(risk, dtype=float), np.asarray(event)
    if np.isnan(time).any() or np.isnan(risk).any():
        raise ValueError("NaN in the times or the scores")
    died = np.flatnonzero(event == 1)
    if died.size == 0:
        raise ValueError("no events")
    if len(time) > HARRELL_BLOCKS_MAX:  # blocks cost n^2; lifelines' tree n log n wins above this
        return float(concordance_index(time, -risk, event))
    censored = event != 1
    pairs = right = ties = 0
    for block in np.array_split(died, max(1, died.size // HARRELL_BLOCK)):
        t, r = time[block][:, None], risk[block][:, None]
        comparable = (time[None, :] > t) | ((time[None, :] == t) & censored[None, :])
        pairs += int(comparable.sum())
        right += int((comparable & (r > risk[None, :])).sum())
        ties += int((comparable & (r == risk[None, :])).sum())
    if pairs == 0:
        raise ZeroDivisionError("no comparable pairs")
    return (right + 0.5 * ties) / pairs


def censoring_survival(time: np.ndarray, event: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """G(t) = P(not censored by t), Kaplan-Meier of the censoring times (left limit), floored at 1e-3.

    The product-limit estimate in numpy, equal to lifelines' ``KaplanMeierFitter().fit(time, 1 - event)`` (tested),
    which spent 45 ms per fit in the bootstraps' overhead."""
    time, censored = np.asarray(time, dtype=float), np.asarray(event) != 1
    grid = np.unique(time)
    order = np.sort(time)
    at_risk = len(time) - np.searchsorted(order, grid, side="left")
    dropped = np.bincount(np.searchsorted(grid, time[censored]), minlength=grid.size)
    values = np.cumprod(1.0 - dropped / at_risk)
    if grid[0] > 0:  # lifelines' timeline starts at 0, where nobody has been censored yet
        grid, values = np.r_[0.0, grid], np.r_[1.0, values]

    def left_limit(t: np.ndarray) -> np.ndarray:
        position = np.searchsorted(grid, np.asarray(t, dtype=float), side="left") - 1
        return np.maximum(np.where(position >= 0, values[np.clip(position, 0, None)], 1.0), 1e-3)

    return left_limit


def uno_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray, tau_quantile: float = 0.9) -> float:
    """Uno's IPCW C-index, truncated at the ``tau_quantile`` of observed times."""
    tau = np.quantile(time, tau_quantile)
    g = censoring_survival(time, event)
    cases = np.flatnonzero((event == 1) & (time < tau))
    if cases.size == 0:
        raise ValueError("no events before tau")
    weights = 1.0 / g(time[cases]) ** 2
    numerator = denominator = 0.0
    for chunk in np.array_split(np.arange(cases.size), max(1, cases.size // 512)):
        i = cases[chunk]
        comparable = time[None, :] > time[i][:, None]
        higher = risk[i][:, None] > risk[None, :]
        tied = risk[i][:, None] == risk[None, :]
        w = weights[chunk][:, None]
        numerator += float((w * comparable * (higher + 0.5 * tied)).sum())
        denominator += float((w * comparable).sum())
    if denominator == 0:
        raise ValueError("no comparable pairs")
    return numerator / denominator


class RiskToSurvival:
    """Survival curves from a risk score: a one-covariate Cox model of the standardized score (Breslow)."""

    def __init__(self, time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> None:
        self.mean, self.scale = float(np.mean(risk)), float(np.std(risk)) or 1.0
        frame = pd.DataFrame({"z": (risk - self.mean) / self.scale, "T": np.maximum(time, 1e-3), "E": event})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = CoxPHFitter(penalizer=0.01).fit(frame, "T", "E")

    def log_hazard(self, risk: np.ndarray) -> np.ndarray:
        """Each row's log hazard ratio under this model (the standardized score times its coefficient)."""
        return float(self.model.params_.iloc[0]) * (np.asarray(risk, dtype=float) - self.mean) / self.scale

    def survival(self, risk: np.ndarray, times: np.ndarray) -> np.ndarray:
        """S(t | risk) for every row (rows) and time (columns)."""
        z = pd.DataFrame({"z": (risk - self.mean) / self.scale})
        return self.model.predict_survival_function(z, times=times).to_numpy().T


def brier_grid(time: np.ndarray, quantiles: tuple[float, float] = (0.1, 0.8), points: int = 20) -> np.ndarray:
    low, high = np.quantile(time, quantiles)
    return np.linspace(low, high, points) if high > low else np.array([low])


def integrated_brier(
    time: np.ndarray, event: np.ndarray, survival: np.ndarray, grid: np.ndarray,
    g: Callable[[np.ndarray], np.ndarray],
) -> float:  # fmt: skip
    """IPCW integrated Brier score of survival curves ``survival`` (rows x ``grid``) (Graf et al. 1999)."""
    return float(brier_contributions(time, event, survival, grid, g).mean())


def brier_contributions(
    time: np.ndarray, event: np.ndarray, survival: np.ndarray, grid: np.ndarray,
    g: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:  # fmt: skip
    """Each row's share of the IPCW integrated Brier score: the score of any set of rows is the mean of
    theirs (the integral over the grid is linear), so a group's bootstrap resamples cost a mean each."""
    died_before = (time[:, None] <= grid[None, :]) & (event[:, None] == 1)
    alive_after = time[:, None] > grid[None, :]
    weight_died = 1.0 / g(time)[:, None]
    weight_alive = 1.0 / g(grid)[None, :]
    terms = survival**2 * died_before * weight_died + (1 - survival) ** 2 * alive_after * weight_alive
    if grid.size == 1:
        return terms[:, 0]
    return trapezoid(terms, grid, axis=1) / (grid[-1] - grid[0])


def js_divergence_pairs(base: np.ndarray, twin: np.ndarray) -> float:
    """Mean Jensen-Shannon divergence (base 2, in [0, 1]) between each pair's predicted class distributions."""
    if base.ndim == 1:
        base, twin = np.column_stack([1 - base, base]), np.column_stack([1 - twin, twin])
    values = jensenshannon(np.clip(base, 0, 1).T, np.clip(twin, 0, 1).T, base=2) ** 2
    return float(np.nan_to_num(values).mean()) if len(values) else 0.0


def js_divergence_histograms(base: np.ndarray, twin: np.ndarray, bins: int) -> float:
    """Jensen-Shannon divergence (base 2) between the histograms of two samples in [0, 1]."""
    edges = np.linspace(0, 1, bins + 1)
    p, _ = np.histogram(np.clip(base, 0, 1), bins=edges)
    q, _ = np.histogram(np.clip(twin, 0, 1), bins=edges)
    if p.sum() == 0 or q.sum() == 0:
        return 0.0
    return float(jensenshannon(p / p.sum(), q / q.sum(), base=2) ** 2)

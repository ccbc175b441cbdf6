"""Confidence intervals for the gated metrics (95%, two-sided), in closed form.

- a proportion: Wilson score interval;
- a difference of two independent proportions (a synthetic rate minus the holdout's chance
  rate): Newcombe's hybrid score interval (method 10 of Newcombe 1998), which keeps its
  coverage for rates near 0, where replay rates live;
- a ROC AUC: Hanley & McNeil (1982) standard error;
- a ratio of two independent proportions (a subgroup's synthetic share over its real share):
  the exact conditional (Clopper-Pearson) interval, which keeps its power when a subgroup is gone.
"""

from __future__ import annotations

import math

from scipy.stats import beta

Z95 = 1.959963984540054


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``successes / n``."""
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_difference(k1: float, n1: int, k2: float, n2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's interval for ``k1/n1 - k2/n2``."""
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


def auc_interval(auc: float, n_positive: int, n_negative: int, z: float = Z95) -> tuple[float, float]:
    """Hanley-McNeil interval of a ROC AUC from ``n_positive`` and ``n_negative`` scored rows."""
    if n_positive <= 0 or n_negative <= 0 or math.isnan(auc):
        return float("nan"), float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (n_positive - 1) * (q1 - auc * auc) + (n_negative - 1) * (q2 - auc * auc)) / (
        n_positive * n_negative
    )
    half = z * math.sqrt(max(variance, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def share_ratio_interval(k1: float, n1: int, k2: float, n2: int, z: float = Z95) -> tuple[float, float]:
    """Exact conditional interval of ``(k1/n1) / (k2/n2)``.

    Given the ``k1 + k2`` patients of a subgroup, ``k1`` is binomial with a share that fixes the
    ratio; its Clopper-Pearson interval, mapped back, bounds the ratio. Exact where shares are small
    (an erased subgroup, ``k1 = 0`` against 30 real patients at equal sizes: upper end 0.13, where
    Katz's log interval with half a patient added gives 0.27) and conservative for large shares.
    """
    if n1 <= 0 or n2 <= 0 or k2 <= 0:
        return float("nan"), float("nan")
    k1, total = round(max(k1, 0)), round(max(k1, 0) + k2)
    alpha = math.erfc(z / math.sqrt(2.0))  # two-sided
    low = 0.0 if k1 == 0 else float(beta.ppf(alpha / 2, k1, total - k1 + 1))
    high = 1.0 if k1 == total else float(beta.ppf(1 - alpha / 2, k1 + 1, total - k1))
    scale = n2 / n1

    def ratio(share: float) -> float:
        return math.inf if share >= 1 else share / (1 - share) * scale

    return ratio(low), ratio(high)

"""The ``explanations`` block of an evaluation: which features drive the model's score, whether a protected
attribute or a proxy of one is among the top ones, and how faithful the attributions are.

- **Attributions** (:mod:`pipeline.evaluation.explain`) on a seeded sample of the test split
  (``explain_rows``) against a sample of the train split (``explain_background``), ``explain_draws``
  background rows per explained row. A feature's importance is its mean |attribution| over the explained
  rows, with a bootstrap 95% interval over those rows; features are ranked by it.
- **Protected features**: the cohort's protected attributes and their proxies, the columns whose
  normalized mutual information with one reaches ``proxy_nmi`` (the definition the reference models use,
  :func:`pipeline.evaluation.reference.proxy_columns`), among the columns the model sees. Each gets its
  **top-k margin**: its importance minus that of the k-th most important other feature, as a share of the
  total importance (positive: it ranks among the top ``explain_top_k``), with a bootstrap interval over the
  explained rows. The finding ``protected_attribute_in_top_features`` judges it against 0: fails when the
  interval lies above 0 (it ranks in the top k, its importance clearly above zero), passes when it lies at
  or below 0. A feature the model ignores has importance exactly 0.
- **Faithfulness** (deletion test): per explained row, the change of its score when its k features of
  largest |attribution| take background values (the mean over the background rows), against the change
  when k random features do (drawn among the features where the row differs from some background row).
  ``ratio`` = mean change (top k) / mean change (random k), bootstrap 95% interval over the rows; above 1
  means the attributions point at what moves the score.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl

from pipeline.evaluation.config import EvaluationSettings
from pipeline.evaluation.explain import Attributions, Score, Scorer, attributions, sample_rows
from pipeline.evaluation.reference import proxies_of
from pipeline.evaluation.tasks import BINARY, MULTICLASS, SURVIVAL, Task

MAX_FEATURES = 15  # features listed (besides every protected feature)
OUTPUTS = {BINARY: "P(class 1)", MULTICLASS: "probability of the predicted class", SURVIVAL: "risk"}


def protected_roles(train: pl.DataFrame, protected: list[str], features: list[str], threshold: float) -> dict[str, str]:
    """Feature -> "protected" or "proxy of <attribute>", for the protected attributes and proxies a model sees."""
    roles = {a: "protected" for a in protected if a in features}
    seen = train.select([c for c in train.columns if c in features or c in protected])
    proxies = proxies_of(seen, protected, threshold)
    return roles | {c: f"proxy of {a}" for c, a in proxies.items() if c in features}


def _round(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def _resampled(values: np.ndarray, reps: int, seed: int) -> np.ndarray:
    """Bootstrap weights: (reps, rows) counts of each row in each resample, over the number of rows."""
    n = len(values)
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=reps) / n


def _kth_other(importance: np.ndarray, j: int, k: int) -> np.ndarray:
    """The k-th largest importance among the features other than ``j`` (per resample row); 0 with fewer."""
    others = np.delete(importance, j, axis=-1)
    if others.shape[-1] < k:
        return np.zeros(importance.shape[:-1])
    return -np.partition(-others, k - 1, axis=-1)[..., k - 1]


def _margin(importance: np.ndarray, j: int, k: int) -> np.ndarray:
    total = importance.sum(axis=-1)
    gap = importance[..., j] - _kth_other(importance, j, k)
    return np.divide(gap, total, out=np.zeros_like(gap, dtype=float), where=total > 0)


def _features(attr: Attributions, roles: dict[str, str], weights: np.ndarray, k: int) -> tuple[list, list]:
    magnitude = np.abs(attr.values)
    importance, boot = magnitude.mean(axis=0), weights @ magnitude
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    total = importance.sum()
    rank = 1 + (importance[None, :] > importance[:, None]).sum(axis=1)
    order = np.argsort(-importance, kind="stable")
    listed = [j for j in order[:MAX_FEATURES] if importance[j] > 0]
    listed += [j for j in order if attr.features[j] in roles and j not in listed]
    features, protected = [], []
    for j in listed:
        name = attr.features[j]
        entry = {"feature": name, "role": roles.get(name), "rank": int(rank[j]), "mean_abs": _round(importance[j]),
                 "ci_low": _round(low[j]), "ci_high": _round(high[j]),
                 "share": _round(importance[j] / total) if total > 0 else 0.0}  # fmt: skip
        features.append(entry)
        if name in roles:
            margins = _margin(boot, j, k)
            protected.append({**entry, "margin": _round(_margin(importance, j, k)),
                              "margin_ci_low": _round(np.percentile(margins, 2.5)),
                              "margin_ci_high": _round(np.percentile(margins, 97.5))})  # fmt: skip
    return features, protected


def _replaced(attr: Attributions, scorer: Scorer, chosen: np.ndarray) -> np.ndarray:
    """Per row, |f(x) - mean over background rows of f(x with the ``chosen`` features from the background)|."""
    n, width = attr.values.shape
    x, z = attr.coded.codes[:n], attr.coded.codes[n:]
    b = len(z)
    mask = np.zeros((n, width), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    mask = np.repeat(mask, b, axis=0)
    codes = np.where(mask, np.tile(z, (n, 1)), np.repeat(x, b, axis=0))
    classes = None if attr.classes is None else np.repeat(attr.classes, b)
    return np.abs(attr.output - scorer(codes, classes).reshape(n, b).mean(axis=1))


def faithfulness(attr: Attributions, scorer: Scorer, k: int, weights: np.ndarray, seed: int) -> dict[str, Any]:
    """The deletion test (see the module's docstring)."""
    n, width = attr.values.shape
    k = min(k, width)
    if n == 0 or k == 0:
        return {"k": k, "top_change": None, "random_change": None, "ratio": None, "ci_low": None, "ci_high": None,
                "n": n}  # fmt: skip
    x, z = attr.coded.codes[:n], attr.coded.codes[n:]
    top = np.argsort(-np.abs(attr.values), axis=1, kind="stable")[:, :k]
    varying = (x[:, None, :] != z[None, :, :]).any(axis=1)
    keys = np.where(varying, np.random.default_rng(seed).random((n, width)), 2.0 + np.arange(width) / width)
    chosen = np.argsort(keys, axis=1)[:, :k]  # k random varying features (constant ones only when too few vary)
    top_change, random_change = _replaced(attr, scorer, top), _replaced(attr, scorer, chosen)
    boot_top, boot_random = weights @ top_change, weights @ random_change
    ratios = np.divide(boot_top, boot_random, out=np.full_like(boot_top, np.nan), where=boot_random > 0)
    valid = ratios[np.isfinite(ratios)]
    low, high = np.percentile(valid, [2.5, 97.5]) if len(valid) >= 10 else (None, None)
    mean_top, mean_random = float(top_change.mean()), float(random_change.mean())
    return {"k": int(k), "top_change": _round(mean_top), "random_change": _round(mean_random),
            "ratio": _round(mean_top / mean_random) if mean_random > 0 else None,
            "ci_low": _round(low), "ci_high": _round(high), "n": int(n)}  # fmt: skip


def explain(
    score: Score, task: Task, test: pl.DataFrame, train: pl.DataFrame, roles: dict[str, str],
    settings: EvaluationSettings,
) -> dict[str, Any] | None:  # fmt: skip
    """The block (None when ``explain_rows`` is 0 or there is nothing to explain)."""
    s, started = settings, time.perf_counter()
    if s.explain_rows <= 0 or test.height == 0 or train.height == 0:
        return None
    rows = sample_rows(test, s.explain_rows, s.seed)
    background = sample_rows(train, s.explain_background, s.seed + 1)
    attr, scorer = attributions(score, task, rows, background, draws=s.explain_draws, seed=s.seed)
    weights = _resampled(attr.values, s.bootstrap, s.seed)
    features, protected = _features(attr, roles, weights, s.explain_top_k)
    faithful = faithfulness(attr, scorer, s.explain_top_k, weights, s.seed)
    return {
        "method": "permutation Shapley values (antithetic walks, interventional background)",
        "output": OUTPUTS[task.kind], "rows": attr.rows, "background": background.height,
        "draws": min(s.explain_draws, background.height), "top_k": s.explain_top_k,
        "features": features, "protected": protected,
        "faithfulness": faithful, "evaluations": scorer.evaluations + attr.rows,
        "seconds": round(time.perf_counter() - started, 3),
    }  # fmt: skip

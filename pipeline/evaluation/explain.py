"""Attributions: Shapley values of a model's score per feature, model-agnostic, by antithetic permutation
sampling against a background sample (the estimator of ``shap``'s ``PermutationExplainer``).

For an explained row x and a background row z, feature j's Shapley value in the game
v(S) = f(x on S, z elsewhere) is estimated on one random order of the features where x and z differ,
walked forward (z to x) and backward (the order reversed): a feature's gain when it switches from z to x,
averaged over both walks. A row's attribution is the mean over ``draws`` background rows, each with its
own order. This is exact for an additive model, and the attributions of a row sum to f(x) minus the mean
of f over its drawn background rows. A feature the model ignores gets exactly 0.

Why not the ``shap`` package itself: its releases from 0.50 need numpy >= 2 (this project pins
numpy < 1.27 through anonymeter), and 0.49 compiles its numba kernels on first use, about 10 s per
process, most of an evaluation's budget. The estimator is 60 lines of numpy; its exactness on additive
models and its efficiency are tested.

Rows are handled as integer codes of each column's values (equal values and nulls share a code), so a
masked feature takes the background row's value with the column's type intact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.evaluation.tasks import MULTICLASS, Task, model_input

Score = Callable[[pl.DataFrame], np.ndarray]  # rows -> checked predictions (pipeline.evaluation.models.predict)
CHUNK = 50_000  # rows per model call
NOISE = 1e-9  # attributions this small relative to the largest are rounding (a row scored in another batch)


@dataclass(frozen=True)
class Coded:
    """Rows as integer codes of each column's values, and the frame they decode into."""

    pool: pl.DataFrame
    first: list[np.ndarray]  # per column: code -> first pool row holding that value
    codes: np.ndarray  # (pool rows, columns)

    def decode(self, codes: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame([self.pool[c].gather(self.first[j][codes[:, j]]) for j, c in enumerate(self.pool.columns)])


def encode(pool: pl.DataFrame) -> Coded:
    """Integer codes per column of ``pool`` (equal values, nulls included, share a code)."""
    first, codes = [], []
    for column in pool.columns:
        _, first_row, inverse = np.unique(pool[column].hash(seed=0).to_numpy(), return_index=True, return_inverse=True)
        first.append(first_row)
        codes.append(inverse.reshape(-1))
    return Coded(pool, first, np.column_stack(codes) if codes else np.zeros((pool.height, 0), dtype=np.int64))


@dataclass(frozen=True)
class Attributions:
    """Per explained row and feature, the attribution of the explained output."""

    features: list[str]
    values: np.ndarray  # (rows, features)
    output: np.ndarray  # (rows,) the explained output f(x) of each row
    classes: np.ndarray | None  # multiclass: the class explained for each row (the one the model predicts)
    coded: Coded  # the explained rows, then the background rows

    @property
    def rows(self) -> int:
        return len(self.output)


def features_of(frame: pl.DataFrame, task: Task) -> list[str]:
    """The columns a model sees for ``task``."""
    return list(model_input(frame.head(0), task).columns)


def sample_rows(frame: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """At most ``n`` rows of ``frame``, drawn without replacement with ``seed`` (kept in frame order)."""
    if frame.height <= n:
        return frame
    return frame[np.sort(np.random.default_rng(seed).choice(frame.height, size=n, replace=False))]


class Scorer:
    """The explained output of coded rows: the score, or for a multiclass task one class per row."""

    def __init__(self, score: Score, coded: Coded, multiclass: bool) -> None:
        self.score, self.coded, self.multiclass, self.evaluations = score, coded, multiclass, 0

    def __call__(self, codes: np.ndarray, classes: np.ndarray | None = None) -> np.ndarray:
        parts = []
        for start in range(0, len(codes), CHUNK):
            out = np.asarray(self.score(self.coded.decode(codes[start : start + CHUNK])), dtype=float)
            if self.multiclass and classes is not None:
                out = out[np.arange(len(out)), classes[start : start + CHUNK]]
            parts.append(out)
        self.evaluations += len(codes)
        return np.concatenate(parts) if parts else np.zeros(0)


def attributions(
    score: Score, task: Task, rows: pl.DataFrame, background: pl.DataFrame, *, draws: int, seed: int
) -> tuple[Attributions, Scorer]:
    """Permutation Shapley values of ``score`` on ``rows`` against ``draws`` rows of ``background`` each."""
    features = features_of(rows, task)
    coded = encode(pl.concat([rows.select(features), background.select(features)], how="vertical_relaxed"))
    n, m = rows.height, background.height
    x, z = coded.codes[:n], coded.codes[n:]
    scorer = Scorer(score, coded, task.kind == MULTICLASS)
    own = np.asarray(score(coded.decode(x)), dtype=float)
    classes = own.argmax(axis=1) if task.kind == MULTICLASS else None
    output = own[np.arange(n), classes] if classes is not None else own
    rng = np.random.default_rng(seed)
    draws = min(draws, m)
    drawn = np.argsort(rng.random((n, m)), axis=1)[:, :draws].reshape(-1)  # background rows per explained row
    row = np.repeat(np.arange(n), draws)
    values = _walks(scorer, x[row], z[drawn], None if classes is None else classes[row], rng)
    per_row = values.reshape(n, draws, len(features)).mean(axis=1)
    per_row[np.abs(per_row) <= NOISE * np.abs(per_row).max(initial=0.0)] = 0.0  # float noise of batched predictions
    return Attributions(features, per_row, output, classes, coded), scorer


def _walks(scorer: Scorer, x: np.ndarray, z: np.ndarray, classes: np.ndarray | None,
           rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Per pair (x, z), each feature's gain averaged over a random order walked forward and backward."""
    pairs, width = x.shape
    differs = x != z
    d = differs.sum(axis=1)
    order = np.argsort(np.where(differs, rng.random((pairs, width)), 2.0), axis=1)  # differing features first
    rank = np.argsort(order, axis=1)
    # forward: steps 0..d (x on the first t features of the order); backward: x on the last t, t = 1..d-1
    fp, ft = _steps(d + 1, 0)
    bp, bt = _steps(np.maximum(d - 1, 0), 1)
    masks = np.concatenate([rank[fp] < ft[:, None],
                            (rank[bp] >= (d[bp] - bt)[:, None]) & (rank[bp] < d[bp][:, None])])  # fmt: skip
    pair = np.concatenate([fp, bp])
    out = scorer(np.where(masks, x[pair], z[pair]), None if classes is None else classes[pair])
    forward = np.zeros((pairs, width + 1))
    forward[fp, ft] = out[: len(fp)]
    backward = forward.copy()  # shares both ends (z and x) with the forward walk
    backward[bp, bt] = out[len(fp) :]
    values = np.zeros((pairs, width))
    steps = np.arange(width)[None, :]
    live = steps < d[:, None]
    gain_forward = np.diff(forward, axis=1)
    at = np.broadcast_to(np.arange(pairs)[:, None], (pairs, width))
    np.add.at(values, (at[live], order[live]), gain_forward[live] / 2)
    backward_feature = np.take_along_axis(order, np.clip(d[:, None] - 1 - steps, 0, width - 1), axis=1)
    np.add.at(values, (at[live], backward_feature[live]), np.diff(backward, axis=1)[live] / 2)
    return values


def _steps(counts: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """(pair, step) for ``counts[p]`` steps of each pair p, steps numbered from ``start``."""
    pair = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return pair, np.arange(len(pair)) - first + start

"""The journey model's two kinds of table, both plain data (JSON) and transparent.

:class:`BackoffTable`: P(outcome | keys) from counts, each level of keys smoothed toward the level
above it (hierarchical additive smoothing): at the top, ``(n(o) + prior) / (N + prior * K)``; below,
``(n(o | k) + strength * p_parent(o)) / (N(k) + strength)``. A cell seen a few times stays close to
its parent; an outcome never seen in a cell keeps a little of its parent's mass, so the chain can
leave the real sequences.

:class:`QuantileTable`: days by their quantiles on the log scale (``log1p(days - offset)``), sampled
by the piecewise-linear inverse CDF between them; a group with fewer than ``min_rows`` values falls
back to the next key of its chain, and every chain ends in :data:`ALL`. Tails are cut at ``TAIL``
and ``1 - TAIL``: no single real patient's extreme value is stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SEPARATOR = "\x1f"
ALL = "all"  # the group every value belongs to: kept with any number of values, the last resort of a chain
TAIL = 0.02
POINTS = 25


def cell(values: tuple[str, ...] | list[str]) -> str:
    """The key of a cell: its key values joined (JSON object keys are strings)."""
    return SEPARATOR.join(values)


@dataclass
class BackoffTable:
    """Counts over ``support`` per level; level j is keyed by the first j+1 entries of ``keys`` ... see module."""

    support: list[str]
    levels: list[list[str]]  # key names per level, coarsest first; level 0 has none
    counts: list[dict[str, list[float]]]  # per level: cell -> counts over the support
    prior: float
    strength: float

    @classmethod
    def fit(
        cls, keys: dict[str, list[str]], outcomes: list[str], *, support: list[str], levels: list[list[str]],
        prior: float, strength: float,
    ) -> BackoffTable:  # fmt: skip
        """Count ``outcomes`` (one per row) in every cell of every level; ``keys`` holds a column per key name."""
        index = {value: i for i, value in enumerate(support)}
        counts: list[dict[str, list[float]]] = []
        for names in levels:
            table: dict[str, list[float]] = {}
            for row, outcome in enumerate(outcomes):
                key = cell([keys[name][row] for name in names])
                table.setdefault(key, [0.0] * len(support))[index[outcome]] += 1
            counts.append(dict(sorted(table.items())))
        return cls(list(support), [list(n) for n in levels], counts, float(prior), float(strength))

    def probabilities(self, values: dict[str, str]) -> np.ndarray:
        """P(outcome | values) over the support, backing off level by level."""
        top = np.asarray(self.counts[0].get("", [0.0] * len(self.support)))
        p = (top + self.prior) / (top.sum() + self.prior * len(self.support))
        for names, table in zip(self.levels[1:], self.counts[1:], strict=True):
            seen = table.get(cell([values[name] for name in names]))
            if seen is not None:
                seen = np.asarray(seen)
                p = (seen + self.strength * p) / (seen.sum() + self.strength)
        return p

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QuantileTable:
    """Quantiles of ``log1p(days - offset)`` per group (see module)."""

    offset: float
    probabilities: list[float]
    groups: dict[str, list[float]]  # group key -> quantiles at ``probabilities``

    @classmethod
    def fit(cls, values: np.ndarray, chains: list[list[str]], *, offset: float, min_rows: int) -> QuantileTable:
        """Quantiles of every group with at least ``min_rows`` values; ``chains[i]`` lists row i's groups."""
        probabilities = np.linspace(TAIL, 1 - TAIL, POINTS)
        logs = np.log1p(np.asarray(values, dtype=float) - offset)
        members: dict[str, list[int]] = {}
        for row, chain in enumerate(chains):
            for group in chain:
                members.setdefault(group, []).append(row)
        groups = {
            group: np.quantile(logs[rows], probabilities).round(6).tolist()
            for group, rows in sorted(members.items())
            if len(rows) >= min_rows or group == ALL
        }
        return cls(float(offset), probabilities.round(6).tolist(), groups)

    def group_of(self, chain: list[str]) -> str | None:
        """The first group of ``chain`` this table holds."""
        return next((group for group in chain if group in self.groups), None)

    def days(self, group: str, uniforms: np.ndarray) -> np.ndarray:
        """Whole days at the quantile-function values of ``uniforms`` (in [0, 1]) for ``group``."""
        logs = np.interp(uniforms, self.probabilities, self.groups[group])
        return np.floor(np.expm1(logs) + self.offset + 0.5).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

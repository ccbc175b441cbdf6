"""The treatment-sequence plot: real against synthetic patients through lines 1 -> 2 -> 3, as PNG.

Each panel is an alluvial diagram: at each line a stacked bar of the patients' regimen classes
(``no line`` for patients without that line), and between lines bands as wide as the share of
patients moving from one class to the next.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from pipeline.journeys.features import JourneySet
from pipeline.plots import plt, to_png

NO_LINE = "no line"
OTHER = "other classes"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
BAR_WIDTH = 0.18


def _class_paths(journeys: JourneySet, depth: int, keep: list[str]) -> np.ndarray:
    """Per patient, its regimen class at lines 1..depth (``NO_LINE`` where it has none)."""
    paths = np.full((journeys.n, depth), NO_LINE, dtype=object)
    shown = journeys.lines.filter(pl.col("line") <= depth)
    for row, line, regimen_class in shown.select("row", "line", "regimen_class").iter_rows():
        paths[row, line - 1] = regimen_class if regimen_class in keep else OTHER
    return paths


def _band(axis, x0: float, x1: float, source: tuple[float, float], target: tuple[float, float], colour: str) -> None:
    xs = np.linspace(x0, x1, 30)
    ease = 3 * ((xs - x0) / (x1 - x0)) ** 2 - 2 * ((xs - x0) / (x1 - x0)) ** 3
    low = source[0] + (target[0] - source[0]) * ease
    high = source[1] + (target[1] - source[1]) * ease
    axis.fill_between(xs, low, high, color=colour, alpha=0.35, linewidth=0)


def _alluvial(axis, paths: np.ndarray, order: list[str], colours: dict[str, str], title: str) -> None:
    n, depth = paths.shape
    tops: list[dict[str, float]] = []
    for k in range(depth):
        counts, bottom, top = Counter(paths[:, k]), 0.0, {}
        for state in order:
            share = counts.get(state, 0) / max(n, 1)
            axis.bar(k, share, bottom=bottom, width=BAR_WIDTH, color=colours[state], edgecolor="white", linewidth=0.5)
            top[state] = bottom
            bottom += share
        tops.append(top)
    for k in range(depth - 1):
        pairs = Counter(zip(paths[:, k], paths[:, k + 1], strict=True))
        out, into = dict(tops[k]), dict(tops[k + 1])
        for a in order:
            for b in order:
                share = pairs.get((a, b), 0) / max(n, 1)
                if share == 0:
                    continue
                _band(axis, k + BAR_WIDTH / 2, k + 1 - BAR_WIDTH / 2, (out[a], out[a] + share),
                      (into[b], into[b] + share), colours[a])  # fmt: skip
                out[a] += share
                into[b] += share
    axis.set_xticks(range(depth), [f"line {k + 1}" for k in range(depth)])
    axis.set_ylim(0, 1)
    axis.set_ylabel("share of patients")
    axis.set_title(f"{title} ({n} patients)", fontsize=10)


def sequence_png(real: JourneySet | None, synthetic: JourneySet, *, depth: int = 3, classes: int = 5) -> bytes | None:
    """Real and synthetic patients' regimen classes through lines 1..``depth``, side by side; the synthetic
    panel alone without ``real`` (a release, which holds no real patient)."""
    panels = [(journeys, title) for journeys, title in ((real, "real"), (synthetic, "synthetic")) if journeys]
    if all(journeys.lines.is_empty() for journeys, _ in panels):
        return None
    common = Counter(c for journeys, _ in panels for c in journeys.lines["regimen_class"].to_list())
    keep = [c for c, _ in common.most_common(classes)]
    order = [*keep, *([OTHER] if len(common) > classes else []), NO_LINE]
    colours = {state: PALETTE[i % len(PALETTE)] for i, state in enumerate(order)} | {NO_LINE: "#d9d9d9"}
    widths = [1] * len(panels) + [0.35]
    figure, axes = plt.subplots(1, len(widths), figsize=(1.5 + 4.75 * len(panels), 4), dpi=90,
                                gridspec_kw={"width_ratios": widths})  # fmt: skip
    for axis, (journeys, title) in zip(axes, panels, strict=False):
        _alluvial(axis, _class_paths(journeys, depth, keep), order, colours, title)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[s]) for s in reversed(order)]
    axes[-1].axis("off")
    axes[-1].legend(handles, list(reversed(order)), loc="center left", fontsize=8, frameon=False,
                    title="regimen class")  # fmt: skip
    return to_png(figure)

"""Validation figures as PNG bytes: marginals, pair-trend gaps, Kaplan-Meier overlay, representation."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.dtypes import as_labels
from pipeline.plots import plt, to_png
from pipeline.validation.columns import SURVIVAL_TIME, ColumnKinds, as_float
from pipeline.validation.survival import km_curve

REAL_COLOUR, SYNTHETIC_COLOUR = "#1f77b4", "#ff7f0e"


def marginals_png(real: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds, max_columns: int = 12) -> bytes:
    """Histograms (numerical) and bar charts (categorical), real against synthetic."""
    columns = list(kinds.all)[:max_columns]
    cols = 4
    rows = max(1, -(-len(columns) // cols))
    figure, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), dpi=90, squeeze=False)
    for axis, column in zip(axes.flat, columns, strict=False):
        if column in kinds.numerical:
            r, s = as_float(real[column]), as_float(synthetic[column])
            r, s = r[~np.isnan(r)], s[~np.isnan(s)]
            bins = np.histogram_bin_edges(r, bins=20) if r.size else 20
            axis.hist(r, bins=bins, density=True, alpha=0.5, color=REAL_COLOUR, label="real")
            axis.hist(s, bins=bins, density=True, alpha=0.5, color=SYNTHETIC_COLOUR, label="synthetic")
        else:
            r = as_labels(real[column]).fill_null("null").value_counts(normalize=True, name="share")
            s = as_labels(synthetic[column]).fill_null("null").value_counts(normalize=True, name="share")
            levels = sorted(set(r[column].to_list()) | set(s[column].to_list()))[:12]
            x = np.arange(len(levels))
            axis.bar(x - 0.2, _shares(r, levels), width=0.4, color=REAL_COLOUR, label="real")
            axis.bar(x + 0.2, _shares(s, levels), width=0.4, color=SYNTHETIC_COLOUR, label="synthetic")
            axis.set_xticks(x, [str(level)[:10] for level in levels], rotation=45, fontsize=7)
        axis.set_title(column, fontsize=9)
    for axis in list(axes.flat)[len(columns) :]:
        axis.axis("off")
    axes.flat[0].legend(fontsize=7)
    return to_png(figure)


def _shares(counts: pl.DataFrame, levels: list[str]) -> list[float]:
    known = dict(counts.iter_rows())
    return [known.get(level, 0.0) for level in levels]


def pair_gap_png(metrics: pl.DataFrame) -> bytes | None:
    """Heatmap of 1 - pair-trend similarity (0: the pair behaves as in real data)."""
    pairs = metrics.filter(pl.col("metric").is_in(["correlation_similarity", "contingency_similarity"]))
    if pairs.is_empty():
        return None
    split = pairs["target"].str.split_exact("|", 1).struct.rename_fields(["a", "b"]).struct.unnest()
    columns = sorted(set(split["a"].to_list()) | set(split["b"].to_list()))
    index = {c: i for i, c in enumerate(columns)}
    matrix = np.zeros((len(columns), len(columns)))
    for a, b, value in zip(split["a"], split["b"], pairs["value"], strict=True):
        gap = np.nan if value is None else 1.0 - value
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = gap
    size = max(4.0, 0.28 * len(columns))
    figure, axis = plt.subplots(figsize=(size + 1.5, size), dpi=90)
    image = axis.imshow(matrix, cmap="Reds", vmin=0, vmax=max(0.2, float(np.nanmax(matrix))))
    axis.set_xticks(range(len(columns)), columns, rotation=90, fontsize=6)
    axis.set_yticks(range(len(columns)), columns, fontsize=6)
    axis.set_title("pair-trend gap (1 - similarity)")
    figure.colorbar(image, ax=axis, shrink=0.8)
    return to_png(figure)


def km_overlay_png(real: pl.DataFrame, synthetic: pl.DataFrame, group: str | None = None) -> bytes:
    """Kaplan-Meier curves, real (solid) against synthetic (dashed), overall or per level of ``group``."""
    horizon = float(min(real[SURVIVAL_TIME].max(), synthetic[SURVIVAL_TIME].max()))
    times = np.linspace(0.0, horizon, 200)
    figure, axis = plt.subplots(figsize=(6.5, 3.6), dpi=90)
    levels = [None] if group is None else as_labels(real[group]).drop_nulls().value_counts(sort=True)[group][:5]
    for i, level in enumerate(levels):
        colour = f"C{i}"
        r = real if level is None else real.filter(as_labels(real[group]) == level)
        s = synthetic if level is None else synthetic.filter(as_labels(synthetic[group]) == level)
        if r.is_empty() or s.is_empty():
            continue
        label = "all" if level is None else str(level)
        axis.step(times, km_curve(r, times).survival, where="post", color=colour, label=f"{label} real")
        axis.step(times, km_curve(s, times).survival, where="post", color=colour, ls="--", label=f"{label} synthetic")
    axis.set_xlabel("months")
    axis.set_ylabel("survival probability")
    axis.set_ylim(0, 1.02)
    axis.set_title("Kaplan-Meier: real holdout (solid) vs synthetic (dashed)" + (f" by {group}" if group else ""))
    axis.legend(fontsize=7, ncol=2)
    return to_png(figure)


def representation_png(metrics: pl.DataFrame) -> bytes | None:
    """Real against synthetic share of every protected subgroup."""
    rows = metrics.filter(pl.col("metric") == "representation_ratio")
    if rows.is_empty():
        return None
    labels = rows["target"].to_list()
    real_share = rows["baseline"].to_numpy()
    synthetic_share = real_share * rows["value"].to_numpy()
    y = np.arange(len(labels))
    figure, axis = plt.subplots(figsize=(6.5, 0.3 * len(labels) + 1.2), dpi=90)
    axis.barh(y - 0.2, real_share, height=0.4, color=REAL_COLOUR, label="real")
    axis.barh(y + 0.2, synthetic_share, height=0.4, color=SYNTHETIC_COLOUR, label="synthetic")
    axis.set_yticks(y, labels, fontsize=7)
    axis.set_xlabel("share of patients")
    axis.set_title("subgroup representation")
    axis.legend(fontsize=7)
    return to_png(figure)

"""Rare edge cases and subgroup upsampling, drawn from a fitted synthesizer by conditional sampling.

Rare cells are combinations of cancer type, stage, a biomarker or a protected attribute that
fewer than ``k`` real patients have (but at least one: a combination no patient has may be
impossible). Extremes (age, tumour mutational burden beyond the real 5th/95th percentiles) are
drawn by oversampling and keeping the tail.
"""

from __future__ import annotations

import itertools

import polars as pl

from pipeline.schema import GENOMIC_VARIANT_PREFIX
from pipeline.stress.tags import EDGE_CASE, UPSAMPLE, tagged
from pipeline.subgroups import is_banded, subgroup_labels
from pipeline.synthesis.base import Synthesizer

DISEASE_COLUMNS = ("primary_cancer_condition", "cancer_stage_group")
BIOMARKERS = (
    "tumor_grade",
    "msi_status",
    "tumor_marker_er_status",
    "tumor_marker_pr_status",
    "tumor_marker_her2_status",
)
EXTREME_COLUMNS = ("age_at_diagnosis", "tumor_mutational_burden")
TAIL = 0.05
OVERSAMPLE = 40


def _varying(real: pl.DataFrame, columns: list[str]) -> list[str]:
    return [c for c in columns if c in real.columns and real[c].drop_nulls().n_unique() > 1]


def cell_dimensions(real: pl.DataFrame, model: Synthesizer, protected: list[str]) -> list[tuple[str, ...]]:
    """Column sets whose combinations define cells: disease (cancer type, stage) with each biomarker
    or protected attribute, with each biomarker x protected-attribute pair, and each biomarker pair."""
    conditionable = set(model.conditionable_columns)
    disease = [c for c in _varying(real, list(DISEASE_COLUMNS)) if c in conditionable]
    markers = [*BIOMARKERS, *(c for c in real.columns if c.startswith(GENOMIC_VARIANT_PREFIX))]
    markers = [c for c in _varying(real, markers) if c in conditionable and c not in disease]
    attributes = [c for c in _varying(real, protected) if c in conditionable and c not in disease]
    singles = [(*disease, c) for c in dict.fromkeys([*markers, *attributes])]
    pairs = [(*disease, m, a) for m in markers for a in attributes if m != a]
    pairs += [(*disease, *pair) for pair in itertools.combinations(markers, 2)]
    return [d for d in singles + pairs if len(d) >= 2]


def rare_cells(
    real: pl.DataFrame, dimensions: list[tuple[str, ...]], k: int, max_cells: int | None = None
) -> pl.DataFrame:
    """Every minimal cell (as ``column=value & ...``) with 1 <= n < k real patients, rarest first.

    A cell is minimal when no cell of fewer conditions that it contains is already rare
    (``stage=I & BRAF=true & ALK=false`` adds nothing to a rare ``stage=I & BRAF=true``), so
    many flags do not multiply into thousands of near-identical cells. ``max_cells`` keeps the
    rarest, fewest-condition cells.
    """
    found: list[dict[str, object]] = []
    for columns in sorted(dict.fromkeys(dimensions), key=len):
        counts = real.select(pl.col(c).cast(pl.String) for c in columns).drop_nulls().group_by(columns).len()
        for row in counts.filter(pl.col("len") < k).sort(list(columns)).iter_rows(named=True):
            conditions = {c: row[c] for c in columns}
            items = set(conditions.items())
            if any(set(cell["conditions"].items()) < items for cell in found):  # type: ignore[union-attr]
                continue
            found.append(
                {
                    "cell": " & ".join(f"{c}={v}" for c, v in conditions.items()),
                    "n_real": row["len"],
                    "conditions": conditions,
                }
            )
    found.sort(key=lambda cell: (cell["n_real"], len(cell["conditions"]), cell["cell"]))  # type: ignore[arg-type]
    kept = found if max_cells is None else found[:max_cells]
    return pl.DataFrame(kept, schema={"cell": pl.String, "n_real": pl.Int64, "conditions": pl.Object})


def draw_cells(model: Synthesizer, cells: pl.DataFrame, rows_per_cell: int, seed: int) -> pl.DataFrame:
    """``rows_per_cell`` synthetic patients per rare cell, tagged with the cell they fill."""
    parts = []
    for i, (cell, conditions) in enumerate(cells.select("cell", "conditions").iter_rows()):
        drawn = model.sample(rows_per_cell, conditions=conditions, seed=seed + i)
        parts.append(tagged(drawn, stress_type=EDGE_CASE, stress_cell=cell))
    return pl.concat(parts) if parts else pl.DataFrame()


def draw_extremes(model: Synthesizer, real: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    """Patients beyond the real 5th or 95th percentile of age and TMB, by oversampling."""
    parts = []
    for offset, column in enumerate(
        c for c in EXTREME_COLUMNS if c in real.columns and real[c].null_count() < real.height
    ):
        low, high = real[column].quantile(TAIL), real[column].quantile(1 - TAIL)
        pool = model.sample(rows * OVERSAMPLE, seed=seed + 1000 + offset)
        for label, keep in (
            (f"{column}<=P5 ({low:g})", pl.col(column) <= low),
            (f"{column}>=P95 ({high:g})", pl.col(column) >= high),
        ):
            tail = pool.filter(keep).head(rows)
            if tail.height:
                parts.append(tagged(tail, stress_type=EDGE_CASE, stress_cell=label))
    return pl.concat(parts) if parts else pl.DataFrame()


def upsample_to_parity(model: Synthesizer, real: pl.DataFrame, protected: list[str], seed: int) -> pl.DataFrame:
    """For each protected attribute, enough rows per subgroup to match the largest real subgroup."""
    parts = []
    conditionable = set(model.conditionable_columns)
    for offset, column in enumerate(protected):
        if column not in real.columns or column not in conditionable or is_banded(real[column]):
            continue
        counts = subgroup_labels(real, column).drop_nulls().value_counts(name="n").sort(column)
        if counts.height < 2:
            continue
        largest = counts["n"].max()
        for i, (level, n) in enumerate(counts.iter_rows()):
            if n >= largest:
                continue
            drawn = model.sample(largest - n, conditions={column: level}, seed=seed + 100 * offset + i)
            parts.append(tagged(drawn, stress_type=UPSAMPLE, stress_cell=f"{column}={level}"))
    return pl.concat(parts) if parts else pl.DataFrame()

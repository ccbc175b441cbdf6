"""What must hold for twins (their flip rate is measured by :mod:`pipeline.evaluation.counterfactual`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from pipeline.stress.derived import derived_columns
from pipeline.stress.tags import TAG_COLUMNS, TWIN

ALWAYS_ALLOWED = frozenset({"patient_id", *TAG_COLUMNS})


def twin_problems(frame: pl.DataFrame, descendants: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Broken twin pairs: a pair without exactly one base and at least one twin, or a twin that differs
    from its base outside the changed attribute (and, in consistent mode, its causal descendants)."""
    twins = frame.filter(pl.col("stress_type") == TWIN)
    if twins.is_empty():
        return []
    problems = []
    roles = twins.group_by("pair_id").agg(
        (pl.col("twin_role") == "base").sum().alias("bases"), (pl.col("twin_role") == "twin").sum().alias("twins")
    )
    incomplete = roles.filter((pl.col("bases") != 1) | (pl.col("twins") < 1))
    if incomplete.height or twins["pair_id"].null_count():
        problems.append(f"{incomplete.height} pairs without exactly one base and at least one twin")
    compared = [c for c in frame.columns if c not in ALWAYS_ALLOWED]
    bases = twins.filter(pl.col("twin_role") == "base")
    carried = {a: derived_columns(bases.filter(pl.col("changed_attribute") == a), a).recoded
               for a in twins["changed_attribute"].unique().drop_nulls()}  # fmt: skip
    base = bases.select("pair_id", *compared)
    joined = twins.filter(pl.col("twin_role") == "twin").join(base, on="pair_id", suffix="__base")
    for column in compared:
        allowed = pl.col("changed_attribute") == column
        for attribute, recoded in carried.items():  # a column carrying the attribute changes with it
            if column in recoded:
                allowed = allowed | (pl.col("changed_attribute") == attribute)
        for attribute, children in (descendants or {}).items():
            if column in children:
                allowed = allowed | ((pl.col("changed_attribute") == attribute) & (pl.col("twin_mode") == "consistent"))
        differs = ~pl.col(column).eq_missing(pl.col(f"{column}__base"))
        bad = joined.filter(differs & ~allowed)
        if bad.height:
            problems.append(f"{bad.height} twins differ from their base in {column!r} (e.g. pair {bad['pair_id'][0]})")
    return problems

"""Counterfactual twins: the same patient with one protected attribute changed.

``pure`` twins change the attribute and nothing else (columns that carry it under another name,
:mod:`pipeline.stress.derived`, change with it or are blanked in the pair). ``consistent`` twins also redraw the
columns the cohort's causal graph says depend on it (e.g. income_band -> insurance), from
the rows of the input that have the new value, and nothing else. Numeric attributes (age)
move to the median of each other band.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from pipeline.errors import OncoBenchError
from pipeline.stress.derived import derived_columns
from pipeline.stress.tags import TWIN, TWIN_MODES, stable_ids, tagged
from pipeline.subgroups import is_banded, subgroup_labels


class TwinError(OncoBenchError):
    """A twin request the data cannot satisfy (unknown attribute, a single value, bad mode)."""


def counterfactual_values(frame: pl.DataFrame, attribute: str) -> dict[str, object]:
    """Subgroup label -> the value a twin in that subgroup gets (the value, or a band's median)."""
    if attribute not in frame.columns:
        raise TwinError(f"cannot flip {attribute!r}: the data has no such column; columns: {frame.columns}")
    labels = subgroup_labels(frame, attribute)
    observed = sorted(labels.drop_nulls().unique().to_list())
    if not observed:
        raise TwinError(f"cannot flip {attribute!r}: the data records no value of it (all null)")
    if len(observed) < 2:
        raise TwinError(f"cannot flip {attribute!r}: it has a single observed value {observed}")
    if not is_banded(frame[attribute]):
        return {label: label for label in observed}
    medians = frame.with_columns(labels.alias("__band")).group_by("__band").agg(pl.col(attribute).median())
    median = dict(medians.drop_nulls("__band").iter_rows())
    return {band: median[band] for band in observed if band in median}  # in label order: the twins' row order


def make_twins(
    base: pl.DataFrame,
    attributes: Sequence[str],
    *,
    mode: str = "pure",
    descendants: dict[str, list[str]] | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Base rows (``twin_role = base``) and, per attribute, one twin per other value.

    Rows whose attribute is unknown get no twins. ``descendants`` (for ``consistent``) maps an
    attribute to the columns redrawn with it.
    """
    if mode not in TWIN_MODES:
        raise TwinError(f"mode must be one of {TWIN_MODES}, got {mode!r}")
    rng = np.random.default_rng(seed)
    parts = []
    for attribute in attributes:
        values = counterfactual_values(base, attribute)
        redrawn = (
            [c for c in (descendants or {}).get(attribute, []) if c in base.columns] if mode == "consistent" else []
        )
        labels = subgroup_labels(base, attribute)
        carried = derived_columns(base, attribute)
        known = base.with_columns(labels.alias("__label")).filter(pl.col("__label").is_not_null())
        known = known.with_columns(pl.lit(None, dtype=base.schema[c]).alias(c) for c in carried.blanked)
        pair_ids = stable_ids(known["patient_id"], f"{attribute}:{mode}")
        known = known.with_columns(pair_ids.alias("__pair"))
        parts.append(_rows(known, "base", attribute, mode))
        for label, value in values.items():
            twins = known.filter(pl.col("__label") != label)
            if twins.is_empty():
                continue
            twins = twins.with_columns(pl.lit(value).cast(base.schema[attribute]).alias(attribute))
            twins = twins.with_columns(
                pl.lit(mapping.get(label), dtype=base.schema[c]).alias(c) for c, mapping in carried.recoded.items()
            )
            if redrawn:
                pool = base.filter(labels == label).select(redrawn)
                picked = pool[rng.integers(0, pool.height, size=twins.height)]
                twins = twins.with_columns(picked.get_column(c) for c in redrawn)
            parts.append(_rows(twins, f"twin:{label}", attribute, mode))
    frame = pl.concat(parts, how="vertical")
    return frame.drop("__label", "__pair")


def _rows(frame: pl.DataFrame, role: str, attribute: str, mode: str) -> pl.DataFrame:
    """Tag rows of one role; each row gets a fresh id derived from its pair and role."""
    return tagged(
        frame.with_columns(
            pl.col("patient_id").alias("base_patient_id"),
            stable_ids(frame["__pair"], role).alias("patient_id"),
        ),
        stress_type=TWIN,
        pair_id=pl.col("__pair"),
        twin_role="base" if role == "base" else "twin",
        changed_attribute=attribute,
        twin_mode=mode,
        base_patient_id=pl.col("base_patient_id"),
    )

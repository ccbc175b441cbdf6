"""The columns that say what a stress row is, and stable ids for new rows."""

from __future__ import annotations

import hashlib

import polars as pl

TWIN, EDGE_CASE, UPSAMPLE = "twin", "edge_case", "upsample"
STRESS_TYPES = (TWIN, EDGE_CASE, UPSAMPLE)
TWIN_MODES = ("pure", "consistent")
TAG_SCHEMA = pl.Schema(
    {
        "stress_type": pl.String,
        "stress_cell": pl.String,  # edge cases and upsampling: the cell or subgroup filled
        "pair_id": pl.String,  # twins: one base row and its counterfactuals share it
        "twin_role": pl.String,  # "base" or "twin"
        "changed_attribute": pl.String,
        "twin_mode": pl.String,
        "base_patient_id": pl.String,  # twins: the synthetic patient the pair starts from
    }
)
TAG_COLUMNS = tuple(TAG_SCHEMA)


def tagged(frame: pl.DataFrame, **tags: str | pl.Expr | None) -> pl.DataFrame:
    """``frame`` with every tag column, set from ``tags`` (others null)."""
    return frame.with_columns(
        (tags[name] if isinstance(tags.get(name), pl.Expr) else pl.lit(tags.get(name))).cast(dtype).alias(name)
        for name, dtype in TAG_SCHEMA.items()
    )


def stable_ids(keys: pl.Series, salt: str) -> pl.Series:
    """20-hex ids derived from row keys: the same keys and salt give the same ids."""
    return keys.map_elements(
        lambda key: hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:20], return_dtype=pl.String
    )

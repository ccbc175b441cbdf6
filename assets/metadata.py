"""Turn polars frames and numbers into Dagster metadata the UI shows readably."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence

import dagster as dg
import polars as pl


def rounded(value: float) -> float:
    """Three significant digits below 1 (0.000123, 0.0185, 0.798), three decimals above (12.346)."""
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.3g}") if abs(value) < 1 else round(value, 3)


def readable(metadata: Mapping[str, object]) -> dict[str, object]:
    """Metadata with floats rounded and booleans shown as booleans (Dagster would show True as 1.0)."""
    shown: dict[str, object] = {}
    for key, value in metadata.items():
        if isinstance(value, bool):
            shown[key] = dg.MetadataValue.bool(value)
        elif isinstance(value, float):
            shown[key] = dg.MetadataValue.float(rounded(value))
        else:
            shown[key] = value
    return shown


def _cell(value: object, kind: str) -> object:
    if value is None:
        return None
    if kind == "string":
        return str(value)
    return rounded(value) if kind == "float" else value


def table(frame: pl.DataFrame, *, limit: int = 100, first: Sequence[str] = ()) -> dg.MetadataValue:
    """A Dagster table (first ``limit`` rows) with a typed schema, floats rounded, columns ``first`` leading."""
    leading = [c for c in first if c in frame.columns]
    frame = frame.head(limit).select(*leading, *[c for c in frame.columns if c not in leading])
    kinds = {
        c: ("float" if t.is_float() else "int" if t.is_integer() else "bool" if t == pl.Boolean else "string")
        for c, t in frame.schema.items()
    }
    records = [dg.TableRecord({k: _cell(v, kinds[k]) for k, v in row.items()}) for row in frame.iter_rows(named=True)]
    schema = dg.TableSchema(columns=[dg.TableColumn(c, kinds[c]) for c in frame.columns])
    return dg.MetadataValue.table(records=records, schema=schema)


def markdown_preview(frame: pl.DataFrame, *, rows: int = 5) -> dg.MetadataValue:
    """The first rows as a Markdown table (floats rounded)."""
    head = frame.head(rows).with_columns(pl.col(pl.Float32, pl.Float64).map_elements(rounded, return_dtype=pl.Float64))
    return dg.MetadataValue.md(head.to_pandas().to_markdown(index=False))


def png(image: bytes | None, caption: str) -> dg.MetadataValue:
    """An inline image (Markdown with a data URI): the UI opens it from the metadata table's "[Show Markdown]"
    (Dagster 1.13 renders Markdown inline only under 1,000 characters, which no plot is)."""
    if image is None:
        return dg.MetadataValue.md(f"_{caption}: no data_")
    encoded = base64.b64encode(image).decode()
    return dg.MetadataValue.md(f"### {caption}\n\n![{caption}](data:image/png;base64,{encoded})")

"""Turn polars frames into Dagster metadata the UI can show."""

from __future__ import annotations

import base64

import dagster as dg
import polars as pl


def table(frame: pl.DataFrame, *, limit: int = 100) -> dg.MetadataValue:
    """A Dagster table (first ``limit`` rows) with a typed schema."""
    frame = frame.head(limit)
    kinds = {
        c: ("float" if t.is_float() else "int" if t.is_integer() else "bool" if t == pl.Boolean else "string")
        for c, t in frame.schema.items()
    }
    records = [
        dg.TableRecord({k: (None if v is None else v if kinds[k] != "string" else str(v)) for k, v in row.items()})
        for row in frame.iter_rows(named=True)
    ]
    schema = dg.TableSchema(columns=[dg.TableColumn(c, kinds[c]) for c in frame.columns])
    return dg.MetadataValue.table(records=records, schema=schema)


def markdown_preview(frame: pl.DataFrame, *, rows: int = 5) -> dg.MetadataValue:
    """The first rows as a Markdown table."""
    return dg.MetadataValue.md(frame.head(rows).to_pandas().to_markdown(index=False))


def png(image: bytes | None, caption: str) -> dg.MetadataValue:
    """An inline image the Dagster UI renders (Markdown with a data URI)."""
    if image is None:
        return dg.MetadataValue.md(f"_{caption}: no data_")
    encoded = base64.b64encode(image).decode()
    return dg.MetadataValue.md(f"![{caption}](data:image/png;base64,{encoded})")

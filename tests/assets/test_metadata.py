"""Metadata the UI shows: numbers rounded, booleans as booleans, the deciding columns of a table first."""

from __future__ import annotations

import math

import dagster as dg
import polars as pl

from assets.metadata import markdown_preview, readable, rounded, table


def test_rounded_keeps_three_significant_digits_below_one_and_three_decimals_above() -> None:
    assert rounded(0.7980310760667904) == 0.798
    assert rounded(0.018494623655913978) == 0.0185
    assert rounded(-0.000123456) == -0.000123
    assert rounded(1049.283746556474) == 1049.284
    assert rounded(0.0) == 0.0 and math.isnan(rounded(float("nan")))


def test_readable_shows_booleans_as_booleans_and_rounds_floats_only() -> None:
    shown = readable({"passed": False, "auc": 0.52454362, "rows": 279, "name": "colon"})
    assert shown["passed"] == dg.MetadataValue.bool(False)
    assert shown["auc"] == dg.MetadataValue.float(0.525)
    assert shown["rows"] == 279 and shown["name"] == "colon"


def test_table_rounds_floats_keeps_booleans_and_puts_the_given_columns_first() -> None:
    row = {"family": ["fidelity"], "value": [0.7980310760667904], "metric": ["c2st_auc"], "passed": [False]}
    frame = pl.DataFrame(row)
    shown = table(frame, first=("metric", "value", "passed", "not_a_column"))
    assert [c.name for c in shown.schema.columns] == ["metric", "value", "passed", "family"]
    assert shown.records[0].data == {"metric": "c2st_auc", "value": 0.798, "passed": False, "family": "fidelity"}


def test_markdown_preview_rounds_floats() -> None:
    preview = markdown_preview(pl.DataFrame({"x": [0.123456789]})).value
    assert "0.123" in preview and "0.1234" not in preview

"""The event table in the MEDS data schema (``meds.DataSchema``, meds 0.4).

Real dates are never kept: day 0 (diagnosis) is mapped to the fixed epoch :data:`EPOCH`
(2000-01-01), so day ``d`` is ``EPOCH + d days``. ``subject_id`` is the patient id's first 15 hex
digits as an integer (60 bits, fits int64). One measurement per event start, with code
``DRUG//<agent>`` (a treatment), ``RADIATION//<detail>``, ``PROGRESSION//<detail>``, ``STATUS//<detail>`` ... (the
death status is ``MEDS_DEATH``), and one ``<code>//STOP`` at its stop day where it has one. A
lab's numeric result is ``numeric_value``. Rows are sorted by subject and time, as MEDS requires.
"""

from __future__ import annotations

from datetime import datetime

import meds
import polars as pl
import pyarrow as pa

EPOCH = datetime(2000, 1, 1)
SUBJECT_HEX_DIGITS = 15


def _codes(events: pl.DataFrame) -> pl.Expr:
    kind = pl.col("event_type").cast(pl.String).replace({"treatment": "drug"}).str.to_uppercase()
    what = pl.when(pl.col("event_type") == "treatment").then(pl.col("agent")).otherwise(pl.col("detail"))
    code = pl.concat_str([kind, what.fill_null("unspecified").str.replace_all(r"\s+", "_")], separator="//")
    is_death = (pl.col("event_type") == "status") & (pl.col("detail") == "death")
    return pl.when(is_death).then(pl.lit(meds.death_code)).otherwise(code)


def to_meds(events: pl.DataFrame, subject_ids: dict[str, int] | None = None) -> pa.Table:
    """The events as a MEDS data table (module docstring); validated against ``meds.DataSchema``.
    ``subject_ids`` maps patient ids to subject ids where the ids are not hashes (synthetic patients are
    numbered, so their first hex digits are shared)."""
    if subject_ids is not None:
        subject = pl.col("patient_id").replace_strict(subject_ids, return_dtype=pl.Int64)
    else:
        subject = pl.col("patient_id").str.slice(0, SUBJECT_HEX_DIGITS).str.to_integer(base=16).cast(pl.Int64)
    base = events.select(
        subject_id=subject,
        start=pl.col("start_day"),
        stop=pl.col("stop_day"),
        code=_codes(events),
        numeric_value=pl.col("numeric_value").cast(pl.Float32),
    )
    starts = base.select("subject_id", day="start", code="code", numeric_value="numeric_value")
    stops = base.filter(pl.col("stop").is_not_null() & (pl.col("code") != meds.death_code)).select(
        "subject_id", day="stop", code=pl.col("code") + "//STOP", numeric_value=pl.lit(None, pl.Float32)
    )
    measurements = (
        pl.concat([starts, stops])
        .with_columns(time=pl.lit(EPOCH, pl.Datetime("us")) + pl.duration(days=pl.col("day")))
        .sort("subject_id", "time", "code", maintain_order=True)
    )
    table = measurements.select("subject_id", "time", "code", "numeric_value").to_arrow()
    table = table.cast(pa.schema([("subject_id", pa.int64()), ("time", pa.timestamp("us")),
                                  ("code", pa.string()), ("numeric_value", pa.float32())]))  # fmt: skip
    return meds.DataSchema.align(table)

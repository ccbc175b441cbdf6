"""The event table in the MEDS data schema: validated by the meds package, day 0 at the fixed epoch."""

from __future__ import annotations

from datetime import datetime

import meds
import polars as pl

from pipeline.journeys.meds import EPOCH, to_meds
from pipeline.journeys.schema import EVENT_SCHEMA


def _events() -> pl.DataFrame:
    rows = [
        ("a" * 20, 0, 90, "treatment", "paclitaxel", "chemotherapy", None, None),
        ("a" * 20, -3, None, "diagnosis", None, None, "initial pathologic diagnosis", None),
        ("a" * 20, 400, None, "status", None, None, "death", None),
        ("0" * 14 + "1" + "0" * 5, 12, None, "lab", None, None, "cea", 4.5),
        ("0" * 14 + "1" + "0" * 5, 20, 30, "radiation", None, None, "external beam", None),
    ]
    columns = ["patient_id", "start_day", "stop_day", "event_type", "agent", "agent_class", "detail", "numeric_value"]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.select(
        [pl.col(c).cast(t) if c in columns else pl.lit(None, t).alias(c) for c, t in EVENT_SCHEMA.items()]
    )


def test_meds_table_validates_against_the_meds_data_schema() -> None:
    table = to_meds(_events())
    meds.DataSchema.validate(table)
    assert table.schema.field("subject_id").type == meds.DataSchema.schema().field("subject_id").type


def test_codes_times_and_order() -> None:
    rows = pl.from_arrow(to_meds(_events())).rows()
    assert datetime(2000, 1, 1) == EPOCH
    assert rows == [
        (1, datetime(2000, 1, 13), "LAB//cea", 4.5),
        (1, datetime(2000, 1, 21), "RADIATION//external_beam", None),
        (1, datetime(2000, 1, 31), "RADIATION//external_beam//STOP", None),
        (int("a" * 15, 16), datetime(1999, 12, 29), "DIAGNOSIS//initial_pathologic_diagnosis", None),
        (int("a" * 15, 16), datetime(2000, 1, 1), "DRUG//paclitaxel", None),
        (int("a" * 15, 16), datetime(2000, 3, 31), "DRUG//paclitaxel//STOP", None),
        (int("a" * 15, 16), datetime(2001, 2, 4), meds.death_code, None),
    ]

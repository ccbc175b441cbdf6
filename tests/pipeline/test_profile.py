"""Subgroup counts in the profile use the same subgroups as fairness, survival and stress."""

from __future__ import annotations

import polars as pl

from pipeline.profile import subgroup_attributes, subgroup_counts
from pipeline.subgroups import subgroup_labels
from tests.conftest import schema_named_frame


def test_ages_are_counted_in_the_bands_fairness_and_stress_use() -> None:
    frame = schema_named_frame(40)
    counts = subgroup_counts(frame, ["age_at_diagnosis", "sex"])
    ages = counts.filter(pl.col("attribute") == "age_at_diagnosis")
    expected = subgroup_labels(frame, "age_at_diagnosis").value_counts(name="n")
    assert dict(ages.select("value", "n").iter_rows()) == dict(expected.iter_rows())
    assert set(ages["value"]) <= {"<40", "40-50", "50-60", "60-70", "70-80", ">=80"}
    for attribute in ("age_at_diagnosis", "sex"):
        assert counts.filter(pl.col("attribute") == attribute)["n"].sum() == frame.height


def test_unknown_values_are_counted_as_missing() -> None:
    frame = schema_named_frame(10)
    frame = frame.with_columns(pl.when(pl.int_range(10) < 3).then(None).otherwise(pl.col("sex")).alias("sex"))
    counts = subgroup_counts(frame, ["sex"])
    assert counts.filter(pl.col("value") == "missing")["n"].item() == 3


def test_profile_attributes_include_age_and_declared_columns() -> None:
    frame = schema_named_frame(20)
    attributes = subgroup_attributes(frame, ["race"])
    assert attributes[0] == "race"
    assert "age_at_diagnosis" in attributes

"""Columns that carry a protected attribute under another name, so a twin can flip them with it.

A spec that maps ``sex`` through an expression keeps its source column as an extra
(``sex_1_male_0_female``); a cohort may record race twice (``race`` and a finer code). A twin that
changes ``sex`` but keeps the source column still tells the model the original sex. Found from the
data, not from names: a code column (not a measurement) whose every value, each seen in at least
five rows, goes with exactly one label of the attribute carries it. When labels and values also
pair one to one (a code, a recoding, a one-hot copy), the twin gets the value of its new label;
otherwise (a finer code than the attribute) the column is blanked in both the base and its twin,
so the pair still differs in the attribute only.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.schema import IDENTITY_COLUMNS
from pipeline.stress.tags import TAG_COLUMNS
from pipeline.subgroups import subgroup_labels

MAX_LEVELS = 100  # a column with more distinct values is a measurement or an identifier, not a recoding
MIN_VALUE_ROWS = 5  # a value seen fewer times goes with one label by chance as often as by design


@dataclass(frozen=True)
class Derived:
    """Columns that carry ``attribute``: recoded (label -> value) or blanked in twin pairs."""

    recoded: dict[str, dict[str, object]]
    blanked: list[str]


def derived_columns(frame: pl.DataFrame, attribute: str) -> Derived:
    """The columns of ``frame`` that carry ``attribute`` (see the module docstring)."""
    labels = subgroup_labels(frame, attribute)
    skip = {attribute, *IDENTITY_COLUMNS, *TAG_COLUMNS}
    recoded, blanked = {}, []
    for column in frame.columns:
        values = frame[column]
        if column in skip or values.dtype.is_float() or values.n_unique() > MAX_LEVELS:
            continue  # measurements (times, ages) are not codes of an attribute
        rows = pl.DataFrame({"label": labels, "value": values}).drop_nulls()
        if rows.is_empty() or rows["value"].value_counts()["count"].min() < MIN_VALUE_ROWS:
            continue
        pairs = rows.unique()
        if pairs["label"].n_unique() < 2:
            continue
        if pairs["value"].n_unique() != pairs.height:  # some value goes with two labels: not this attribute
            continue
        if pairs["label"].n_unique() == pairs.height:  # one to one: a recoding
            recoded[column] = dict(zip(pairs["label"].to_list(), pairs["value"].to_list(), strict=True))
        else:
            blanked.append(column)
    return Derived(recoded, blanked)

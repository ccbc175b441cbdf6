"""Candidate plausibility rules from the least plausible patients, for a human to accept.

What sets the bottom decile of the Bradley–Terry ranking apart from the other patients: a value
(or a pair of values) at least three times as common there and held by at least two of them, or a
number beyond every other patient's range. Each candidate is written in the form of
``config/plausibility_rules.yaml`` conditions; none is applied until a person adds it there.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import polars as pl

ENRICHMENT = 3.0
MIN_PATIENTS = 2
MAX_LEVELS = 30  # columns with more distinct values (identifiers, free text) propose nothing


def _categorical(patients: pl.DataFrame) -> list[str]:
    return [c for c in patients.columns
            if c not in ("patient_id", "cohort") and not patients.schema[c].is_numeric()
            and 1 < patients[c].n_unique() <= MAX_LEVELS]  # fmt: skip


def candidate_rules(patients: pl.DataFrame, ranking: pl.DataFrame) -> list[dict[str, Any]]:
    """Candidates, most enriched first: ``rule`` (a condition), ``bottom`` (patients of the bottom
    decile holding it), ``share_bottom`` and ``share_others``."""
    judged = ranking.filter(pl.col("judgements") > 0)
    if judged.height < 10:
        return []
    bottom_ids = judged.sort("score").head(math.ceil(judged.height / 10))["patient_id"].implode()
    is_bottom = pl.col("patient_id").is_in(bottom_ids)
    bottom, others = patients.filter(is_bottom), patients.filter(~is_bottom)
    found = []
    columns = _categorical(patients)
    for group in [*([c] for c in columns), *(list(p) for p in combinations(columns, 2))]:
        counts = bottom.group_by(group).len("bottom").join(others.group_by(group).len("others"), on=group,
                                                             how="left", nulls_equal=True)  # fmt: skip
        for row in counts.fill_null(0).iter_rows(named=True):
            if any(row[c] is None for c in group) or row["bottom"] < MIN_PATIENTS:
                continue
            share_bottom, share_others = row["bottom"] / bottom.height, row["others"] / max(others.height, 1)
            if share_bottom >= ENRICHMENT * share_others:
                rule = " and ".join(f"{c} == {str(row[c])!r}" for c in group)
                found.append({"rule": rule, "bottom": row["bottom"], "share_bottom": round(share_bottom, 3),
                              "share_others": round(share_others, 3)})  # fmt: skip
    for column in [c for c in patients.columns if patients.schema[c].is_numeric()]:
        low, high = others[column].min(), others[column].max()
        if low is None:
            continue
        for op, beyond in (("<", bottom.filter(pl.col(column) < low)), (">", bottom.filter(pl.col(column) > high))):
            if beyond.height >= MIN_PATIENTS:
                share = round(beyond.height / bottom.height, 3)
                found.append({"rule": f"{column} {op} {low if op == '<' else high}", "bottom": beyond.height,
                              "share_bottom": share, "share_others": 0.0})  # fmt: skip
    return sorted(found, key=lambda r: (-r["share_bottom"] + r["share_others"], r["rule"]))

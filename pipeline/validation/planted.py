"""Planted failures: "synthetic" frames that trustworthy release gates must withhold.

Each function takes a split (``train``, ``unseen`` real patients nobody trained on, the protected
columns, a seed) and returns a frame with the columns of ``unseen`` that carries one planted
failure, or None when the cohort lacks what the failure needs. ``unseen`` itself is the honest
reference (what a perfect synthesizer would produce); ``bench/calibration.py`` gates them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
import polars as pl

from pipeline.dtypes import as_labels
from pipeline.rules import load_rules
from pipeline.schema import IDENTITY_COLUMNS
from pipeline.subgroups import subgroup_labels
from pipeline.validation.adversary import qi_labels, quasi_identifiers
from pipeline.validation.columns import SURVIVAL_EVENT, SURVIVAL_TIME, column_kinds
from pipeline.validation.replay import identifier_like
from pipeline.validation.survival import survival_gaps

Frame = pl.DataFrame
Planter = Callable[[Frame, Frame, Sequence[str], int], Frame | None]

ID_COLUMN = IDENTITY_COLUMNS[0]  # patient_id: judged by the identifier-copy gate
ARM_COLUMN, FALLBACK_GROUP = "cancer_related_medication", "cancer_stage_group"
COPIED_SHARE = 0.2
MIN_ARM_ROWS = 30  # arms smaller than the survival gates' min_rows cannot show a swap
MIN_GROUP_TRAIN_ROWS = 30  # a minority whose absence the data can show: >= 30 training patients (min_subgroup_rows)
# The sex-specific cancers of config/plausibility_rules.yaml: OncoTree code -> the only sex recorded
OTHER_SEX_CANCER = {"Female": "PRAD", "Male": "HGSOC"}


@cache
def sex_specific_codes() -> dict[str, str]:
    """Cancer code -> the only sex recorded with it, from the plausibility rules' organ selectors."""
    out = {}
    for rule in load_rules():
        required = re.fullmatch(r"\s*sex\s*=\s*'(Female|Male)'\s*", rule.require)
        if rule.codes and required:
            out.update(dict.fromkeys(rule.codes, required.group(1)))
    return out


def _take(frame: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """``n`` rows of ``frame``, without replacement when it has enough."""
    return frame.sample(n, with_replacement=n > frame.height, seed=seed)


def _overwrite(frame: pl.DataFrame, rows: np.ndarray, values: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the columns of ``values`` (one row per entry of ``rows``) written over those rows."""
    indexed = frame.with_row_index("_row")
    chosen = pl.col("_row").is_in(pl.Series(np.sort(rows), dtype=pl.UInt32).implode())
    changed = indexed.filter(chosen).drop(values.columns).hstack(values).select(indexed.columns)
    return pl.concat([indexed.filter(~chosen), changed]).sort("_row").drop("_row")


def _present(frame: pl.DataFrame, columns: Sequence[str]) -> list[str]:
    """Those of ``columns`` that ``frame`` has with at least one known value."""
    return [c for c in columns if c in frame.columns and frame[c].null_count() < frame.height]


def verbatim_copy(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame:
    """Training patients verbatim, as many as there are unseen patients."""
    return _take(train, unseen.height, seed)


def copies_20pct(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame:
    """Unseen patients with a fifth of the rows replaced by training patients verbatim."""
    copies = round(COPIED_SHARE * unseen.height)
    rows = np.random.default_rng(seed).choice(unseen.height, copies, replace=False)
    return _overwrite(unseen, rows, _take(train, copies, seed))


def qi_replay(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame | None:
    """Unseen patients carrying the quasi-identifiers (as :func:`replay.qi_replay` picks them) of
    training patients no other training patient shares: every such patient once, and in at least a
    fifth of the rows (the dose of ``copies_20pct``; donors repeat when there are fewer). Where few
    training patients are unique (colon: 5%), replaying each once stays below the gate's bound of
    0.10 and is not what it is bound to catch."""
    columns = [c for part in quasi_identifiers(column_kinds(train)) for c in part]
    donors = train.filter(qi_labels(train, columns, train).is_unique()) if columns else train.clear()
    if donors.is_empty():
        return None
    replaced = min(unseen.height, max(donors.height, round(COPIED_SHARE * unseen.height)))
    rows = np.random.default_rng(seed).choice(unseen.height, replaced, replace=False)
    chosen = pl.concat([donors.sample(fraction=1.0, shuffle=True, seed=seed)] * -(-replaced // donors.height))
    return _overwrite(unseen, rows, chosen.head(replaced).select(columns))


def identifier_copy(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame | None:
    """Unseen patients whose patient ids are training patients' ids (an id column leaked whole)."""
    if ID_COLUMN not in train.columns or ID_COLUMN not in unseen.columns:
        return None
    return unseen.with_columns(_take(train, unseen.height, seed)[ID_COLUMN])


def identifier_column_copy(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame | None:
    """Unseen patients whose identifier-like compared columns carry training values (what
    ``identifier_copy_excess`` is meant to catch); None when the cohort has no such column."""
    columns = identifier_like(train, column_kinds(train))
    return unseen.with_columns(_take(train, unseen.height, seed).select(columns)) if columns else None


def minority_erased(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame | None:
    """Unseen patients with the smallest protected subgroup of at least 30 training patients (a
    smaller one can be missing by chance: 10 real patients hold 2-3 unseen ones) replaced by patients
    of the other subgroups of that attribute; the row count is kept."""
    smallest: tuple[int, str, str] | None = None
    for column in _present(unseen, protected):
        counts = subgroup_labels(train, column, train).drop_nulls().value_counts(name="n")
        for level, n in counts.filter(pl.col("n") >= MIN_GROUP_TRAIN_ROWS).iter_rows():
            if smallest is None or n < smallest[0]:
                smallest = (n, column, level)
    if smallest is None:
        return None
    labels = subgroup_labels(unseen, smallest[1], train)
    erased = (labels == smallest[2]).fill_null(False)
    others = unseen.filter(labels.is_not_null() & ~erased)
    if others.is_empty() or not erased.any():
        return None
    rows = np.flatnonzero(erased.to_numpy())
    return _overwrite(unseen, rows, others.sample(len(rows), with_replacement=True, seed=seed))


def event_inverted(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame | None:
    """Unseen patients with deaths and censorings swapped."""
    if SURVIVAL_EVENT not in unseen.columns:
        return None
    return unseen.with_columns((1 - pl.col(SURVIVAL_EVENT)).cast(unseen.schema[SURVIVAL_EVENT]).alias(SURVIVAL_EVENT))


def survival_halved_subgroup(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame | None:
    """Unseen patients with survival times halved in the largest subgroup of the first protected
    attribute present (of the stage group when there is none)."""
    columns = _present(unseen, protected) or _present(unseen, [FALLBACK_GROUP])
    if not columns or SURVIVAL_TIME not in unseen.columns:
        return None
    labels = subgroup_labels(unseen, columns[0], train)
    largest = labels.drop_nulls().mode().sort()[0]
    halved = pl.when(pl.lit((labels == largest).fill_null(False))).then(pl.col(SURVIVAL_TIME) / 2)
    return unseen.with_columns(halved.otherwise(pl.col(SURVIVAL_TIME)).cast(unseen.schema[SURVIVAL_TIME]))


def arms_swapped(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame | None:
    """Unseen patients of two treatment arms with outcomes (time and event) drawn from the other
    arm's patients: of the arms with at least 30 unseen patients, the two whose survival differs
    most (swapping two arms with the same prognosis changes nothing to find); None without two."""
    if not {ARM_COLUMN, SURVIVAL_TIME, SURVIVAL_EVENT} <= set(unseen.columns):
        return None
    arms = as_labels(unseen[ARM_COLUMN])
    counts = arms.drop_nulls().value_counts(sort=True, name="n")
    candidates = counts.filter(pl.col("n") >= MIN_ARM_ROWS)[ARM_COLUMN].to_list()
    if len(candidates) < 2:
        return None

    def outcomes(arm: str) -> tuple[np.ndarray, np.ndarray]:
        rows = unseen.filter((arms == arm).fill_null(False)).select(SURVIVAL_TIME, SURVIVAL_EVENT).drop_nulls()
        return rows[SURVIVAL_TIME].cast(pl.Float64).to_numpy(), rows[SURVIVAL_EVENT].cast(pl.Float64).to_numpy()

    pairs = [(a, b) for i, a in enumerate(candidates) for b in candidates[i + 1 :]]
    largest = list(max(pairs, key=lambda pair: survival_gaps(outcomes(pair[0]), outcomes(pair[1]))[0]))
    swapped = unseen
    for arm, other in (largest, largest[::-1]):
        rows = np.flatnonzero((arms == arm).fill_null(False).to_numpy())
        donors = unseen.filter((arms == other).fill_null(False)).select(SURVIVAL_TIME, SURVIVAL_EVENT)
        swapped = _overwrite(swapped, rows, donors.sample(len(rows), with_replacement=True, seed=seed))
    return swapped


def ten_rows(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame:
    """Ten unseen patients: too little evidence to judge anything."""
    return unseen.sample(min(10, unseen.height), seed=seed)


def impossible_patients(train: Frame, unseen: Frame, protected: Sequence[str], seed: int) -> Frame | None:
    """Unseen patients breaking a clinical plausibility rule (``pipeline.rules``) in a fifth of the
    rows: the other sex for a sex-specific cancer (where a fifth has one), else a negative age at
    diagnosis, else a cancer of the other sex (prostate for women, ovary for men)."""
    budget, present = max(1, round(COPIED_SHARE * unseen.height)), _present(unseen, ["sex", "age_at_diagnosis"])
    plants: list[tuple[str, pl.Series, pl.Expr]] = []  # (column, rows that can carry it, the impossible value)
    with_cancer = "sex" in present and "primary_cancer_condition" in unseen.columns
    if with_cancer:
        sex, cancer = as_labels(unseen["sex"]), as_labels(unseen["primary_cancer_condition"])
        flipped = pl.when(pl.col("sex") == "Male").then(pl.lit("Female")).otherwise(pl.lit("Male"))
        plants.append(("sex", sex == cancer.replace_strict(sex_specific_codes(), default=None), flipped))
    if "age_at_diagnosis" in present:
        plants.append(("age_at_diagnosis", unseen["age_at_diagnosis"].is_not_null(), -pl.col("age_at_diagnosis") - 1))
    if with_cancer:
        other = pl.col("sex").cast(pl.String).replace_strict(OTHER_SEX_CANCER, default=None)
        plants.append(("primary_cancer_condition", sex.is_in(list(OTHER_SEX_CANCER)), other))
    for column, candidates, value in plants:
        rows = np.flatnonzero(candidates.fill_null(False).to_numpy())
        if len(rows) >= budget:
            rows = np.random.default_rng(seed).choice(rows, budget, replace=False)
            values = unseen[np.sort(rows)].select(value.cast(unseen.schema[column]).alias(column))
            return _overwrite(unseen, rows, values)
    return None


PLANTED: dict[str, Planter] = {
    "verbatim_copy": verbatim_copy,
    "copies_20pct": copies_20pct,
    "qi_replay": qi_replay,
    "identifier_copy": identifier_copy,
    "identifier_column_copy": identifier_column_copy,
    "minority_erased": minority_erased,
    "event_inverted": event_inverted,
    "survival_halved_subgroup": survival_halved_subgroup,
    "arms_swapped": arms_swapped,
    "ten_rows": ten_rows,
    "impossible_patients": impossible_patients,
}

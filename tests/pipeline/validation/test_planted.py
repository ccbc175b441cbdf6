"""Each planted failure changes what it says it changes, keeps the columns, and is None where the
cohort cannot carry it. Whether the gates catch them is bench/calibration.py's (and the gates' tests')."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.rules import count_violations, load_rules
from pipeline.subgroups import subgroup_labels
from pipeline.validation import planted
from pipeline.validation.adversary import qi_labels, quasi_identifiers
from pipeline.validation.columns import SURVIVAL_EVENT, SURVIVAL_TIME, column_kinds
from pipeline.validation.replay import identifier_like

PROTECTED = ["sex"]  # colon's registry entry


def _toy(n: int, seed: int, **columns: object) -> pl.DataFrame:
    """A prostate cohort of ``n`` men: ids, sex, cancer type and outcomes, plus ``columns``."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "patient_id": [f"p{seed}-{i}" for i in range(n)],
            "sex": pl.Series(["Male"] * n, dtype=pl.Enum(["Female", "Male"])),
            "primary_cancer_condition": ["PRAD"] * n,
            SURVIVAL_TIME: rng.uniform(1, 100, n),
            SURVIVAL_EVENT: pl.Series(rng.integers(0, 2, n), dtype=pl.Int8),
            **columns,
        }
    )


def _ids(frame: pl.DataFrame) -> set[str]:
    return set(frame["patient_id"])


def test_every_planted_frame_has_the_columns_of_the_unseen_patients(colon_three_way) -> None:
    train, _, unseen = colon_three_way
    made = {name: plant(train, unseen, PROTECTED, 0) for name, plant in planted.PLANTED.items()}
    assert {name for name, frame in made.items() if frame is None} == {"identifier_column_copy"}  # no such column
    for name, frame in made.items():
        assert frame is None or frame.schema == unseen.schema, name


def test_copies_are_training_patients_verbatim(colon_three_way) -> None:
    train, _, unseen = colon_three_way
    copy = planted.verbatim_copy(train, unseen, PROTECTED, 0)
    assert copy.height == unseen.height and copy["patient_id"].is_unique().all()
    assert copy.join(train, on=train.columns, how="anti", nulls_equal=True).is_empty()
    some = planted.copies_20pct(train, unseen, PROTECTED, 0)
    copied = some.filter(pl.col("patient_id").is_in(train["patient_id"].implode()))
    assert some.height == unseen.height and copied.height == round(0.2 * unseen.height)
    assert copied.join(train, on=train.columns, how="anti", nulls_equal=True).is_empty()
    kept = some.filter(~pl.col("patient_id").is_in(train["patient_id"].implode()))
    assert kept.join(unseen, on=unseen.columns, how="anti", nulls_equal=True).is_empty()


def test_qi_replay_gives_rows_the_quasi_identifiers_of_unique_training_patients(colon_three_way) -> None:
    train, _, unseen = colon_three_way
    columns = [c for part in quasi_identifiers(column_kinds(train)) for c in part]
    replayed = planted.qi_replay(train, unseen, PROTECTED, 0)
    unique = qi_labels(train, columns, train).filter(qi_labels(train, columns, train).is_unique())
    # colon's quasi-identifiers are coarse: 20 unique patients, each replayed, and repeated up to a fifth of the rows
    dose = max(unique.height, round(planted.COPIED_SHARE * unseen.height))
    chance = qi_labels(unseen, columns, train).join(unique, on=columns, how="semi").height
    replayed_keys = qi_labels(replayed, columns, train)
    hits = replayed_keys.join(unique, on=columns, how="semi").height
    assert 0 < unique.height < dose and hits >= dose and hits > chance
    assert unique.join(replayed_keys, on=columns, how="anti").is_empty()  # every unique patient replayed
    assert replayed.join(unseen, on=unseen.columns, how="anti", nulls_equal=True).height <= dose
    assert replayed.drop(columns).equals(unseen.drop(columns))


def test_identifier_copies(colon_three_way) -> None:
    train, _, unseen = colon_three_way
    copied = planted.identifier_copy(train, unseen, PROTECTED, 0)
    assert _ids(copied) <= _ids(train) and copied.drop("patient_id").equals(unseen.drop("patient_id"))
    assert planted.identifier_copy(train.drop("patient_id"), unseen.drop("patient_id"), PROTECTED, 0) is None
    codes = {f"MRN{i:06d}" for i in range(100)}
    toy_train = _toy(60, 1, source_record=sorted(codes)[:60])
    toy_unseen = _toy(30, 2, source_record=sorted(codes)[60:90])
    assert identifier_like(toy_train, column_kinds(toy_train)) == ["source_record"]
    leaked = planted.identifier_column_copy(toy_train, toy_unseen, [], 0)
    assert set(leaked["source_record"]) <= set(toy_train["source_record"])
    assert leaked.drop("source_record").equals(toy_unseen.drop("source_record"))


def test_the_smallest_protected_subgroup_is_erased_and_the_rows_kept(colon_three_way) -> None:
    train, _, unseen = colon_three_way
    counts = pl.concat([train, unseen])["sex"].value_counts(sort=True)
    smallest = counts["sex"][-1]
    erased = planted.minority_erased(train, unseen, PROTECTED, 0)
    assert erased.height == unseen.height and (erased["sex"] == smallest).sum() == 0
    assert (unseen["sex"] == smallest).sum() > 0
    men = _toy(40, 1)
    assert planted.minority_erased(men, men, ["sex"], 0) is None  # one subgroup: nobody to replace it with
    assert planted.minority_erased(train, unseen, [], 0) is None


def test_outcome_plants(colon_three_way) -> None:
    train, _, unseen = colon_three_way
    inverted = planted.event_inverted(train, unseen, PROTECTED, 0)
    assert (inverted[SURVIVAL_EVENT] == 1 - unseen[SURVIVAL_EVENT]).all()
    halved = planted.survival_halved_subgroup(train, unseen, PROTECTED, 0)
    largest = (subgroup_labels(unseen, "sex") == unseen["sex"].cast(pl.String).mode()[0]).to_numpy()
    before, after = unseen[SURVIVAL_TIME].to_numpy(), halved[SURVIVAL_TIME].to_numpy()
    assert np.allclose(after[largest], before[largest] / 2) and np.array_equal(after[~largest], before[~largest])
    assert halved.drop(SURVIVAL_TIME).equals(unseen.drop(SURVIVAL_TIME))
    no_groups = unseen.drop("sex", "cancer_stage_group")
    assert planted.survival_halved_subgroup(train, no_groups, [], 0) is None


def test_arms_swapped_draws_each_arms_outcomes_from_the_other(colon_three_way) -> None:
    train, _, unseen = colon_three_way
    swapped = planted.arms_swapped(train, unseen, PROTECTED, 0)
    outcomes = [SURVIVAL_TIME, SURVIVAL_EVENT]
    assert swapped.drop(outcomes).equals(unseen.drop(outcomes))
    arms = unseen["cancer_related_medication"].unique().to_list()

    def rows(frame: pl.DataFrame, arm: str) -> pl.DataFrame:
        return frame.filter(pl.col("cancer_related_medication") == arm).select(outcomes)

    changed = [arm for arm in arms if not rows(swapped, arm).equals(rows(unseen, arm))]
    assert len(changed) == 2 and len(arms) == 3  # the third arm keeps its own outcomes
    for arm, other in (changed, changed[::-1]):
        assert rows(swapped, arm).join(rows(unseen, other), on=outcomes, how="anti").is_empty()
    assert planted.arms_swapped(train, unseen.drop("cancer_related_medication"), PROTECTED, 0) is None
    one_arm = unseen.with_columns(cancer_related_medication=pl.lit("Observation"))
    assert planted.arms_swapped(train, one_arm, PROTECTED, 0) is None


def test_ten_rows(colon_three_way) -> None:
    train, _, unseen = colon_three_way
    ten = planted.ten_rows(train, unseen, PROTECTED, 0)
    assert ten.height == 10 and _ids(ten) <= _ids(unseen)


@pytest.mark.parametrize("kind", ["sex-specific cancer", "age", "cancer of the other sex"])
def test_impossible_patients_break_a_plausibility_rule(colon_three_way, kind: str) -> None:
    rules = load_rules()
    if kind == "sex-specific cancer":  # prostate cancer: some men become women
        train, unseen, changed = _toy(100, 1), _toy(50, 2), "sex"
    elif kind == "age":  # colon: no sex-specific cancer, so negative ages at diagnosis
        (train, _, unseen), changed = colon_three_way, "age_at_diagnosis"
    else:  # no age: women get prostate cancer, men ovarian cancer
        train, _, unseen = (f.drop("age_at_diagnosis") for f in colon_three_way)
        changed = "primary_cancer_condition"
    impossible = planted.impossible_patients(train, unseen, PROTECTED, 0)
    broken, _ = count_violations(impossible, rules)
    assert count_violations(unseen, rules)[0].sum() == 0
    assert broken.sum() == round(0.2 * unseen.height)
    assert impossible.drop(changed).equals(unseen.drop(changed))
    assert planted.impossible_patients(train, unseen.drop("sex", "age_at_diagnosis", strict=False), [], 0) is None

"""Twins change only what they may, refuse impossible flips, and prove their power on a model."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.evaluation.counterfactual import Decisions, counterfactual_scores, twin_pairs
from pipeline.release.tasks import BINARY, Task
from pipeline.stress.consistency import twin_problems
from pipeline.stress.twins import TwinError, make_twins

SUPPORT2 = load_registry().get("support2_cancer")
DESCENDANTS = {a: SUPPORT2.descendants(a) for a in SUPPORT2.protected}


@pytest.fixture(scope="module")
def support2() -> pl.DataFrame:
    return harmonize_entry(read_raw(SUPPORT2), SUPPORT2, salt="t")


def test_pure_twins_differ_from_their_base_only_in_the_flipped_attribute(support2: pl.DataFrame) -> None:
    twins = make_twins(support2.head(300), ["race", "sex", "income_band"], mode="pure")
    assert twin_problems(twins) == []
    per_pair = twins.group_by("pair_id").agg(pl.len(), (pl.col("twin_role") == "base").sum().alias("bases"))
    assert (per_pair["bases"] == 1).all() and (per_pair["len"] >= 2).all()
    sex_pairs = twins.filter(pl.col("changed_attribute") == "sex").group_by("pair_id").agg(pl.col("sex").n_unique())
    assert (sex_pairs["sex"] == 2).all()


def test_consistent_twins_redraw_causal_descendants_and_nothing_else(support2: pl.DataFrame) -> None:
    twins = make_twins(support2.head(300), ["race"], mode="consistent", descendants=DESCENDANTS, seed=1)
    assert twin_problems(twins, DESCENDANTS) == []
    assert twin_problems(twins) != []  # without the graph, the redrawn income and education are violations
    tampered = twins.with_columns(
        pl.when(pl.col("twin_role") == "twin")
        .then(pl.col("age_at_diagnosis") + 1)
        .otherwise(pl.col("age_at_diagnosis"))
    )
    assert any("'age_at_diagnosis'" in p for p in twin_problems(tampered, DESCENDANTS))


def test_impossible_flips_are_clear_errors(support2: pl.DataFrame) -> None:
    with pytest.raises(TwinError, match="cannot flip 'zip_code': the data has no such column"):
        make_twins(support2, ["zip_code"])
    with pytest.raises(TwinError, match="cannot flip 'insurance': the data records no value of it"):
        make_twins(support2, ["insurance"])
    with pytest.raises(TwinError, match="cannot flip 'sex': it has a single observed value"):
        make_twins(support2.filter(pl.col("sex") == "Female"), ["sex"])
    with pytest.raises(TwinError, match="mode must be one of"):
        make_twins(support2, ["sex"], mode="causal")


def _features(frame: pl.DataFrame, use_race: bool) -> np.ndarray:
    columns = [frame["age_at_diagnosis"].fill_null(60).to_numpy(), (frame["sex"] == "Male").to_numpy()]
    if use_race:
        columns += [(frame["race"] == level).to_numpy() for level in ("White", "Black", "Asian", "Hispanic")]
    return np.column_stack(columns).astype(float)


@pytest.mark.parametrize("use_race", [True, False])
def test_twins_catch_a_model_that_uses_race_and_clear_one_that_does_not(support2: pl.DataFrame, use_race: bool) -> None:
    rows = support2.filter(pl.col("race").is_not_null())
    labels = ((rows["vital_status_event"] == 1) & (rows["survival_months"] <= 12)).to_numpy()
    model = LogisticRegression(C=100.0, max_iter=1000).fit(_features(rows, use_race), labels)
    twins = make_twins(rows.sample(400, seed=0), ["race"], mode="pure")
    pairs = twin_pairs(twins)  # the evaluation's own flip rate: decisions at the task's threshold
    scores = model.predict_proba(_features(pairs, use_race))[:, 1]
    task = Task("mortality_12m", BINARY, "death within 12 months", 12.0, threshold=float(np.median(scores)))
    entries, _ = counterfactual_scores(pairs, scores, Decisions(task), bins=20, max_cases=5)
    rate = next(e["flip_rate"] for e in entries if e["attribute"] == "race")
    if use_race:
        assert rate > 0.02, rate
    else:
        assert rate == 0.0


def test_pure_twins_flip_what_carries_the_attribute_under_another_name() -> None:
    """A spec that maps sex through an expression keeps its source column as an extra; a finer race
    code goes with one race each. A sex twin must not still say the original sex."""
    six = pl.DataFrame({
        "sex": ["Male", "Female", "Male", "Female", "Male", "Female"],
        "sex_1_male_0_female": [1, 0, 1, 0, 1, 0],
        "race": ["White", "White", "Black", "Black", "White", "Black"],
        "race_detail": ["White-EU", "White-US", "Black-US", "Black-AF", "White-EU", "Black-US"],
        "stage": ["I", "I", "II", "II", "I", "I"],
        "survival_months": [5.0, 7.5, 12.25, 30.0, 41.5, 2.0],  # unique values: a measurement, not a code
    })  # fmt: skip
    base = (
        pl.concat([six] * 10)
        .with_row_index("n")
        .with_columns(patient_id=pl.format("p{}", "n"), age_at_diagnosis=50.0 + pl.col("n").cast(pl.Float64))
        .drop("n")
    )
    twins = make_twins(base, ["sex", "race"], mode="pure")
    sex = twins.filter(pl.col("changed_attribute") == "sex")
    coded = sex.select((pl.col("sex") == "Male").cast(pl.Int64) == pl.col("sex_1_male_0_female"))
    assert coded.to_series().all()  # the extra follows the flipped sex in every row
    race = twins.filter(pl.col("changed_attribute") == "race")
    assert race["race_detail"].is_null().all()  # finer than race: blanked in the base and its twin
    assert sex["race_detail"].is_not_null().all()  # ... only in the pairs that flip race
    assert sex["survival_months"].is_not_null().all() and race["survival_months"].is_not_null().all()
    assert twin_problems(twins) == []  # the pairs still differ only where allowed

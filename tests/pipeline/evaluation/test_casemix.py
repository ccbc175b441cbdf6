"""A subgroup's AUC or C-index is compared with what its own predictions lead one to expect, not with the
whole split's: a group cut by a predictor the model uses ranks less well by its case mix alone."""

from __future__ import annotations

import numpy as np
import polars as pl
from lifelines.utils import concordance_index
from sklearn.metrics import roc_auc_score

from pipeline.evaluation.casemix import expected_auc, expected_c_index, expected_macro_auc
from pipeline.evaluation.config import load_evaluation_config
from pipeline.evaluation.findings import FAIL, judge
from pipeline.evaluation.performance import Scored
from pipeline.evaluation.subgroups import enough_events, subgroup_scores
from pipeline.release.tasks import BINARY, MULTICLASS, Task

TASK = Task(name="mortality_12m", kind=BINARY, label="", horizon_months=12.0, threshold=0.5, classes=())


def _pairwise_expected_auc(p: np.ndarray) -> float:
    weight = p[:, None] * (1 - p[None, :])
    np.fill_diagonal(weight, 0.0)
    order = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])
    return float((weight * order).sum() / weight.sum())


def test_expected_auc_is_the_pairwise_definition_and_the_mean_auc_of_outcomes_drawn_from_p() -> None:
    rng = np.random.default_rng(0)
    for p in (rng.random(80), np.round(rng.random(90), 1)):  # ties count half
        assert abs(expected_auc(p) - _pairwise_expected_auc(p)) < 1e-12
    p = rng.random(60)
    drawn = [roc_auc_score(y, p) for y in rng.random((3000, 60)) < p if 0 < y.sum() < 60]
    assert abs(np.mean(drawn) - expected_auc(p)) < 0.005
    two = expected_macro_auc(np.column_stack([1 - p, p]), (rng.random(60) < p).astype(int))
    assert abs(two - expected_auc(p)) < 1e-12


def test_expected_c_index_is_the_mean_harrell_c_of_times_drawn_from_the_hazards() -> None:
    rng = np.random.default_rng(1)
    lp = rng.normal(size=300)
    drawn = [concordance_index(rng.exponential(1 / np.exp(lp)), -lp) for _ in range(40)]
    assert abs(np.mean(drawn) - expected_c_index(lp)) < 0.01
    assert expected_c_index(np.zeros(10)) == 0.5


def _banded(noise_in_old: bool, seed: int = 0, confidence: float = 1.0) -> tuple[Scored, pl.DataFrame]:
    """Risk rises steeply with age; a calibrated model knows it (``confidence`` > 1: its logits are that many
    times too large everywhere). With ``noise_in_old`` its predictions for the oldest band are shuffled (it is
    worse there than its own predictions claim)."""
    rng = np.random.default_rng(seed)
    n = 3000
    age = rng.uniform(30, 90, n)
    logit = (age - 60) / 6 + rng.normal(0, 0.7, n)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p).astype(int)
    band = np.where(age < 50, "<50", np.where(age < 70, "50-70", ">=70"))
    prediction = 1 / (1 + np.exp(-confidence * np.log(p / (1 - p))))
    if noise_in_old:
        old = np.flatnonzero(band == ">=70")
        prediction[old] = rng.permutation(prediction[old])
    race = np.where(rng.random(n) < 0.3, "Black", "White")
    return Scored(y, prediction), pl.DataFrame({"age_group": band, "race": race})


def _gap_finding(scored: Scored, rows: pl.DataFrame, attributes: tuple[str, ...] = ("age_group",)) -> tuple[dict, dict]:
    block = subgroup_scores(TASK, scored, rows, rows, list(attributes), min_rows=30, min_events=10, reps=100, seed=0,
                            clinical=("age_group",))  # fmt: skip
    [rule] = [r for r in load_evaluation_config().findings if r.id == "subgroup_performance_gap"]
    [finding] = judge((rule,), {"subgroups": block}, {}, max_cases=5)
    return block, finding


def test_an_age_band_of_a_calibrated_model_is_not_a_gap_but_a_model_worse_in_a_band_is() -> None:
    block, finding = _gap_finding(*_banded(noise_in_old=False))
    overall = block["overall"]
    scores = {g["group"]: g["auc"]["value"] for g in block["groups"]}
    assert min(scores.values()) < overall - 0.15  # the old rule (whole split minus group) called this a gap
    assert finding["verdict"] != FAIL and abs(block["worst"]["gap"]) < 0.05
    assert {g["compared_with"] for g in block["groups"] if g["judged"]} == {"case mix"}
    block, finding = _gap_finding(*_banded(noise_in_old=True))
    assert finding["verdict"] == FAIL and block["worst"]["group"] == ">=70"


def test_a_model_too_confident_everywhere_has_no_gap_in_its_age_bands() -> None:
    block, finding = _gap_finding(*_banded(noise_in_old=False, confidence=2.5))
    assert finding["verdict"] != FAIL and abs(block["worst"]["gap"]) < 0.05


def test_a_group_whose_predictions_the_model_flattens_is_a_gap_against_the_whole_split() -> None:
    scored, rows = _banded(noise_in_old=False)
    black = rows["race"].to_numpy() == "Black"
    flat = scored.prediction.copy()
    flat[black] = 0.5 + 0.001 * (flat[black] - 0.5)  # the same ranking, squeezed: uninformative in practice
    rng = np.random.default_rng(3)
    flat[black] = flat[black][rng.permutation(int(black.sum()))]  # and no ranking left
    block, finding = _gap_finding(Scored(scored.y, flat), rows, ("race",))
    assert block["worst"]["group"] == "Black" and block["worst"]["compared_with"] == "whole split"
    assert finding["verdict"] == FAIL


def test_a_multiclass_group_is_judged_only_with_enough_rows_of_every_class() -> None:
    task = Task(name="treatment", kind=MULTICLASS, label="", horizon_months=None, threshold=None, classes=("a", "b"))
    assert enough_events(task, np.array([0] * 40 + [1] * 10), 10)
    assert not enough_events(task, np.array([0] * 48 + [1] * 2), 10)


def test_the_encoded_row_cache_tells_dtypes_apart_and_starts_over_on_refit() -> None:
    import pandas as pd

    from pipeline.evaluation.reference import ReferenceModel
    from pipeline.validation.columns import column_kinds
    from pipeline.validation.encoding import MixedEncoder

    train = pl.DataFrame({"flag": pl.Series([0, 1, None, 1], dtype=pl.Int8), "x": [1.0, 2.0, 3.0, 4.0]})
    model = ReferenceModel(TASK, ["flag", "x"], [], seed=0)
    model.encoder = MixedEncoder.fit(column_kinds(train), train)
    as_int = model._matrix(pd.DataFrame({"flag": pd.Series([0], dtype="Int8"), "x": [1.0]}))
    as_float = model._matrix(pd.DataFrame({"flag": [0.0], "x": [1.0]}))
    fresh = ReferenceModel(TASK, ["flag", "x"], [], seed=0)
    fresh.encoder = model.encoder
    assert np.array_equal(as_float, fresh._matrix(pd.DataFrame({"flag": [0.0], "x": [1.0]})))
    assert np.array_equal(as_int, model._matrix(pd.DataFrame({"flag": pd.Series([0], dtype="Int8"), "x": [1.0]})))
    assert (
        model._matrix(pd.DataFrame({"flag": pd.Series([], dtype="Int8"), "x": pd.Series([], dtype=float)})).shape[0]
        == 0
    )

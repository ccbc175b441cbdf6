"""Planted failures, each of which must fail a release gate, and unseen real patients, which must not.

The honest reference is a quarter of colon that nobody trained on (``colon_three_way``): what a
perfect synthesizer would produce. Each planted set changes one thing about it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from pipeline.validation import privacy, survival
from pipeline.validation.columns import column_kinds
from pipeline.validation.gates import ANONYMETER_METRICS, load_validation_config
from pipeline.validation.planted import PLANTED
from pipeline.validation.suite import ValidationResult, validate_cohort
from pipeline.validation.verdicts import describe_failures, failed_gates

CONFIG = load_validation_config()
WITH_FLOOR = dataclasses.replace(
    CONFIG,
    settings=dataclasses.replace(CONFIG.settings, anonymeter_attacks=0),  # one test below runs Anonymeter
    gates=tuple(g for g in CONFIG.gates if g.metric not in ANONYMETER_METRICS),
)
FAST = dataclasses.replace(WITH_FLOOR, settings=dataclasses.replace(WITH_FLOOR.settings, noise_floor=False))


def _validate(
    train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame, *, floor: bool = False
) -> ValidationResult:
    return validate_cohort(
        train, holdout, synthetic, protected=["sex"], config=WITH_FLOOR if floor else FAST, cohort="colon",
        synthesizer="planted", run_id="r",
    )  # fmt: skip


def _failed(result: ValidationResult) -> set[str]:
    return set(failed_gates(result.table)["metric"])


def test_unseen_patients_pass_every_privacy_and_survival_gate(colon_three_way) -> None:
    train, holdout, unseen = colon_three_way
    result = _validate(train, holdout, unseen)
    gated = result.table.filter(pl.col("gate") & pl.col("family").is_in(["privacy", "survival"]))
    assert {"qi_replay_excess", "domias_auc", "km_max_gap", "abs_optimism"} <= set(gated["metric"])
    assert gated["passed"].all(), describe_failures(gated)


def test_a_verbatim_copy_fails(colon_three_way) -> None:
    train, holdout, unseen = colon_three_way
    failed = _failed(_validate(train, holdout, train.sample(unseen.height, seed=3)))
    # colon's quasi-identifiers are coarse (age band, sex, grade, event): copies hit few unique ones
    assert {"unique_record_copy_excess", "mia_auc", "dcr_share"} <= failed


def test_quasi_identifiers_replayed_from_unique_training_patients_fail(colon_three_way) -> None:
    train, holdout, unseen = colon_three_way
    demographic, clinical = privacy.quasi_identifiers(column_kinds(train))
    columns = demographic + clinical
    keys = privacy._qi_labels(train, columns, train)
    unique = train.filter(keys.is_unique())
    # half of the honest rows get the quasi-identifiers of a patient no other training patient shares
    donors = unique.sample(unseen.height // 2, with_replacement=True, seed=4).select(columns)
    planted = pl.concat([unseen.head(donors.height).drop(columns).hstack(donors).select(unseen.columns),
                         unseen.tail(unseen.height - donors.height)])  # fmt: skip
    result = _validate(train, holdout, planted, floor=True)
    assert "qi_replay_excess" in _failed(result)
    row = result.table.filter((pl.col("metric") == "qi_replay_excess") & (pl.col("target") == "(all)"))
    assert row["value"][0] > 0.3 and row["noise_floor"][0] < 0.05


def test_one_copied_identifier_column_fails(colon_three_way) -> None:
    train, holdout, unseen = colon_three_way
    rng = np.random.default_rng(5)

    def codes(n: int) -> pl.Series:
        return pl.Series("source_record", [f"MRN{v:09d}" for v in rng.choice(10**9, size=n, replace=False)])

    train, holdout = (f.with_columns(codes(f.height)) for f in (train, holdout))
    copied = unseen.with_columns(train["source_record"].sample(unseen.height, with_replacement=True, seed=6))
    result = _validate(train, holdout, copied)
    assert "identifier_copy_excess" in _failed(result)
    assert any("identifier_copy_excess [source_record] = 1" in line for line in result.failures)
    kinds = column_kinds(train)
    honest = privacy.identifier_copies(train, holdout, unseen.with_columns(codes(unseen.height)), kinds)
    excess = next(m for m in honest if m.metric == "identifier_copy_excess" and m.target == "source_record")
    assert excess.value == 0.0 and excess.upper < 0.05


def test_ten_rows_are_inconclusive_and_withheld_for_lack_of_evidence(colon_three_way) -> None:
    train, holdout, unseen = colon_three_way
    result = _validate(train, holdout, unseen.head(10))
    assert not result.passed  # privacy stays the synthesizer's burden: an attack that cannot tell blocks
    assert any("dcr_share" in line and "too few rows to tell (10 < 30)" in line for line in result.failures)
    assert any("qi_replay_excess [(all)]" in line and "too few rows" in line for line in result.failures)
    blocking = result.table.filter(pl.col("blocking"))
    assert set(blocking["verdict"]) == {"inconclusive"} and set(blocking["family"]) == {"privacy"}


def test_an_inverted_event_flag_fails_the_survival_gates(colon_three_way) -> None:
    train, holdout, unseen = colon_three_way
    event = unseen.schema["vital_status_event"]
    inverted = unseen.with_columns((1 - pl.col("vital_status_event")).cast(event).alias("vital_status_event"))
    failed = _failed(_validate(train, holdout, inverted))
    assert "km_max_gap" in failed


def test_optimism_is_signed_and_short_sightedness_counts_missing_follow_up() -> None:
    real = pl.DataFrame({"survival_months": np.linspace(1, 100, 200), "vital_status_event": [1] * 200})
    longer = real.with_columns(pl.col("survival_months") * 1.5)
    shorter = real.with_columns(pl.col("survival_months") * 0.5)
    assert survival.optimism_and_short_sightedness(real, longer)[0] > 0.1
    optimism, short = survival.optimism_and_short_sightedness(real, shorter)
    assert optimism < -0.1 and abs(short - 0.5) < 0.01
    assert survival.optimism_and_short_sightedness(real, real) == (0.0, 0.0)


def test_a_gate_needs_enough_rows_and_judges_the_pessimistic_end(colon_three_way) -> None:
    train, holdout, unseen = colon_three_way
    table = _validate(train, holdout, unseen).table
    row = table.filter((pl.col("metric") == "mia_auc") & pl.col("gate")).row(0, named=True)
    # privacy passes when the attack can tell: the one-sided 95% end around the ideal (0.5) is within the bound
    assert 0.5 < row["judged"] < 0.6 and row["min_rows"] == 30 and row["verdict"] == "pass"
    fidelity = table.filter((pl.col("metric") == "c2st_auc") & pl.col("gate")).row(0, named=True)
    assert fidelity["judged"] == fidelity["value"]  # fidelity gates judge the estimate


def test_anonymeter_gates_single_out_a_verbatim_copy_and_pass_unseen_patients(colon_three_way) -> None:
    train, holdout, unseen = colon_three_way
    config = dataclasses.replace(CONFIG, settings=dataclasses.replace(CONFIG.settings, noise_floor=False))

    def anonymeter_gates(synthetic: pl.DataFrame) -> pl.DataFrame:
        table = validate_cohort(
            train, holdout, synthetic, protected=["sex"], config=config, cohort="colon", synthesizer="planted",
            run_id="r",
        ).table  # fmt: skip
        return table.filter(pl.col("gate") & pl.col("metric").is_in(ANONYMETER_METRICS))

    honest = anonymeter_gates(unseen)
    assert set(ANONYMETER_METRICS) <= set(honest["metric"]) and honest["value"].is_not_null().all()
    assert honest["passed"].all(), describe_failures(honest)
    copied = anonymeter_gates(train.sample(unseen.height, seed=3))
    failed = copied.filter(~pl.col("passed"))
    # colon's quasi-identifiers are coarse: a copy is singled out, its links and secrets are not
    assert "singling_out_risk" in set(failed["metric"]), describe_failures(copied)
    singled = failed.filter(pl.col("metric") == "singling_out_risk")
    assert (singled["verdict"] == "fail").all() and (singled["blocking"]).all()


# the planted failures of bench/calibration.py that a quarter of colon (232 patients) has the power
# to show; arms_swapped (77 patients per arm) it has not, which bench/results/calibration.md reports
CAUGHT_ON_COLON = ("verbatim_copy", "copies_20pct", "qi_replay", "identifier_copy", "minority_erased",
                   "event_inverted", "survival_halved_subgroup", "ten_rows", "impossible_patients")  # fmt: skip


@pytest.mark.parametrize("name", CAUGHT_ON_COLON)
def test_every_planted_failure_is_withheld(colon_three_way, name: str) -> None:
    train, holdout, unseen = colon_three_way
    planted_set = PLANTED[name](train, unseen, ["sex"], 0)
    assert planted_set is not None
    result = _validate(train, holdout, planted_set)
    assert not result.passed, f"{name} was released: {result.verdict()}"


def test_domias_compares_at_most_max_rows_of_each_set_so_a_registry_costs_no_more(colon_three_way) -> None:
    """The kernel densities cost (reference rows) x (scored rows): each set is capped, drawn with the seed."""
    from pipeline.validation.membership import domias_sets

    train, holdout, synthetic = colon_three_way
    big = pl.concat([holdout] * 40)  # a holdout of a registry's size
    kinds = column_kinds(train)
    sets = domias_sets(train, big, synthetic, kinds, seed=0, max_rows=300)
    assert max(len(sets.reference), len(sets.non_members), len(sets.members), len(sets.synthetic)) <= 300
    again = domias_sets(train, big, synthetic, kinds, seed=0, max_rows=300)
    assert np.array_equal(sets.reference, again.reference) and np.array_equal(sets.members, again.members)

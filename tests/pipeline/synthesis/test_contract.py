"""The synthesizer contract, for every engine: schema, dtypes, categories, conditions,
determinism, save/load, and clear errors."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl
import pytest

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.synthesis.base import ConditionError, SynthesisError, Synthesizer
from pipeline.synthesis.catalog import SYNTHESIZERS, make_synthesizer
from pipeline.synthesis.storage import load_model, save_model

ENGINES = sorted(SYNTHESIZERS)
TINY = {"flow": {"epochs": 3}, "ctgan": {"epochs": 2}, "copula": {}}


@cache
def training_frame() -> pl.DataFrame:
    """300 real support2 cancer patients: race, sex, income, nulls, numbers, an event flag."""
    entry = load_registry().get("support2_cancer")
    return harmonize_entry(read_raw(entry), entry, salt="s").head(300)


@cache
def fitted(name: str) -> Synthesizer:
    return make_synthesizer(name, profile="fast", **TINY[name]).fit(training_frame(), seed=7)


@pytest.mark.parametrize("name", ENGINES)
def test_sample_keeps_columns_dtypes_and_categories(name: str) -> None:
    real = training_frame()
    synthetic = fitted(name).sample(120, seed=1)
    assert synthetic.height == 120
    assert synthetic.schema == real.schema  # same columns, order, dtypes and enum categories
    for column in ("race", "sex", "income_band"):
        assert set(synthetic[column].drop_nulls().to_list()) <= set(real[column].drop_nulls().to_list())
    assert synthetic["survival_months"].min() >= 0
    assert set(synthetic["vital_status_event"].unique().to_list()) <= {0, 1}
    assert synthetic["insurance"].null_count() == 120  # never observed -> stays null
    assert synthetic["patient_id"].is_unique().all()
    assert not synthetic["patient_id"].is_in(real["patient_id"]).any()


@pytest.mark.parametrize("name", ENGINES)
def test_conditions_are_honoured(name: str) -> None:
    rows = fitted(name).sample(40, conditions={"sex": "Female", "race": "Black"}, seed=2)
    assert rows.height == 40
    assert rows["sex"].unique().to_list() == ["Female"] and rows["race"].unique().to_list() == ["Black"]


@pytest.mark.parametrize("name", ENGINES)
def test_same_seed_same_rows_and_new_seed_new_rows(name: str) -> None:
    model = fitted(name)
    assert model.sample(60, seed=3).equals(model.sample(60, seed=3))
    assert not model.sample(60, seed=3).equals(model.sample(60, seed=4))


@pytest.mark.parametrize("name", ENGINES)
def test_refit_with_the_same_seed_is_identical(name: str) -> None:
    again = make_synthesizer(name, profile="fast", **TINY[name]).fit(training_frame(), seed=7)
    assert again.sample(50, seed=5).equals(fitted(name).sample(50, seed=5))


@pytest.mark.parametrize("name", ENGINES)
def test_save_load_round_trip(name: str, tmp_path: Path) -> None:
    path = save_model(fitted(name), tmp_path / f"{name}.pkl")
    loaded = load_model(path)
    assert loaded.sample(30, seed=9).equals(fitted(name).sample(30, seed=9))
    assert loaded.report is not None and loaded.report.n_rows == 300


@pytest.mark.parametrize("name", ENGINES)
def test_unknown_condition_column_and_value_list_the_allowed_ones(name: str) -> None:
    model = fitted(name)
    with pytest.raises(ConditionError, match=r"cannot condition on 'shoe_size'; allowed columns: \["):
        model.sample(5, conditions={"shoe_size": "42"})
    with pytest.raises(ConditionError, match=r"race='Martian' has no support.*observed values: \['Asian'"):
        model.sample(5, conditions={"race": "Martian"})


def test_too_small_cohort_names_the_minimum() -> None:
    with pytest.raises(SynthesisError, match="the minimum is 50"):
        make_synthesizer("flow").fit(training_frame().head(10), seed=0)


def test_unknown_synthesizer_and_profile() -> None:
    with pytest.raises(SynthesisError, match="choose one of"):
        make_synthesizer("vae")
    with pytest.raises(SynthesisError, match="unknown profile"):
        make_synthesizer("flow", profile="turbo")


def test_flow_reproduces_null_rates_and_training_history() -> None:
    model = fitted("flow")
    assert len(model.report.history) == 3
    real_null = training_frame()["income_band"].null_count() / 300
    synthetic_null = model.sample(3000, seed=11)["income_band"].null_count() / 3000
    assert abs(real_null - synthetic_null) < 0.1

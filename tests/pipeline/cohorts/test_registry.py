"""The registry: default cohorts, validation, and that each default cohort harmonizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.errors import RegistryError

EXPECTED_ROWS = {"support2_cancer": 3110, "colon": 929, "rott2": 2982, "prostate_seer": 14294}


def test_default_registry_lists_the_embedded_cohorts() -> None:
    registry = load_registry()
    assert set(EXPECTED_ROWS) <= set(registry.names)
    assert registry.get("support2_cancer").protected[:2] == ("race", "sex")


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_each_default_cohort_harmonizes(name: str) -> None:
    entry = load_registry().get(name)
    frame = harmonize_entry(read_raw(entry), entry, salt="s")
    assert frame.height == EXPECTED_ROWS[name]
    assert frame["patient_id"].is_unique().all()
    assert frame["survival_months"].min() >= 0


def test_support2_keeps_race_income_and_education_with_readable_labels() -> None:
    entry = load_registry().get("support2_cancer")
    frame = harmonize_entry(read_raw(entry), entry, salt="s")
    assert {"White", "Black", "Hispanic"} <= set(frame["race"].drop_nulls().to_list())
    assert set(frame["income_band"].drop_nulls().to_list()) == {"<$11k", "$11k-$25k", "$25k-$50k", ">$50k"}
    assert frame["education_band"].null_count() < frame.height
    assert set(frame["cancer_stage_group"].drop_nulls().to_list()) == {"IV"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("cohorts: {}", "non-empty"),
        ("cohorts:\n  Bad-Name:\n    source: {kind: survset, dataset: colon}", "lower_snake_case"),
        ("cohorts:\n  x:\n    source: {kind: ftp, path: a}", "source.kind must be one of"),
        ("cohorts:\n  x:\n    source: {kind: table}", "source.path is required"),
        ("cohorts:\n  x:\n    source: {kind: survset, dataset: colon}\n    colour: red", "unknown keys"),
    ],
)
def test_malformed_registry_is_refused(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "cohorts.yaml"
    path.write_text(body)
    with pytest.raises(RegistryError, match=message):
        load_registry(path)


def test_unknown_cohort_lists_the_registered_ones() -> None:
    with pytest.raises(RegistryError, match="registered: \\['support2_cancer'"):
        load_registry().get("nope")


def _registry_with_graph(tmp_path: Path, graph: str) -> Path:
    path = tmp_path / "cohorts.yaml"
    path.write_text(f"cohorts:\n  c:\n    source: {{kind: survset, dataset: colon}}\n    causal_graph: {graph}\n")
    return path


def test_causal_graph_gives_descendants() -> None:
    entry = load_registry().get("support2_cancer")
    assert entry.descendants("race") == ["education_band", "income_band"]
    assert entry.descendants("sex") == []


def test_causal_graph_with_a_cycle_is_refused_at_load(tmp_path: Path) -> None:
    path = _registry_with_graph(tmp_path, "{income_band: [insurance], insurance: [income_band]}")
    with pytest.raises(RegistryError, match=r"cohort 'c': causal_graph has a cycle: .*income_band.*insurance"):
        load_registry(path)


def test_causal_graph_with_an_unknown_column_is_refused_at_load(tmp_path: Path) -> None:
    path = _registry_with_graph(tmp_path, "{income_band: [zip_code]}")
    with pytest.raises(RegistryError, match=r"causal_graph names unknown columns \['zip_code'\]"):
        load_registry(path)

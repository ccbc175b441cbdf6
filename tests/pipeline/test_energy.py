"""track_energy measures offline or says 'not measured'; record_emissions and lineage_energy in DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline.energy as energy
from pipeline.energy import Measurement, lineage_energy, record_emissions, track_energy
from pipeline.warehouse import Warehouse


def test_a_block_is_measured_offline() -> None:
    with track_energy("ingestion", "raw_cohort colon", "DEU") as measured:
        sum(range(100_000))
    assert measured.measured and measured.kwh > 0 and measured.kg_co2e > 0 and measured.seconds > 0
    assert (measured.stage, measured.key, measured.country) == ("ingestion", "raw_cohort colon", "DEU")


def test_no_country_or_a_failing_codecarbon_is_not_measured_and_the_block_still_runs(monkeypatch) -> None:
    with track_energy("s", "k", "") as off:
        pass
    assert (off.kwh, off.kg_co2e) == (None, None) and "tracking off" in off.note

    def broken(country: str) -> None:
        raise RuntimeError("no RAPL, no CPU model")

    monkeypatch.setattr(energy, "_start", broken)
    ran = []
    with track_energy("s", "k", "DEU") as failed:
        ran.append(True)
    assert ran and not failed.measured and failed.note.startswith("not measured: codecarbon could not start")
    with pytest.raises(ValueError, match="the block's own error"), track_energy("s", "k", "DEU"):
        raise ValueError("the block's own error")


def test_rows_are_replaced_per_run_stage_asset_and_partition(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "w.duckdb")
    assert lineage_energy(store, ["colon"])["runs"] == 0  # no table yet
    for kwh in (1.0, 2.0):  # a retried step counts once
        record_emissions(store, Measurement(kwh=kwh, kg_co2e=kwh, seconds=1.0), run_id="r", stage="ingestion",
                         asset="raw_cohort", partition="colon")  # fmt: skip
    record_emissions(store, Measurement(seconds=1.0), run_id="r", stage="ingestion", asset="cohort_profile",
                     partition="colon")  # fmt: skip
    rows = store.query("SELECT * FROM emissions ORDER BY asset").to_dicts()
    assert [(r["asset"], r["kwh"]) for r in rows] == [("cohort_profile", None), ("raw_cohort", 2.0)]
    assert all(r["measured_at"] for r in rows)
    assert lineage_energy(store, ["colon", "colon|flow"]) == {
        "kwh": 2.0, "kg_co2e": 2.0, "runs": 1, "materializations": 2, "not_measured": 1,
    }  # fmt: skip

"""The CLI on every real study of ../shared/cohorts, with its defaults, as a new user runs it.

Per study: ingest, synthesize conditioned on a mutation flag (saving the model), then stress
twins with the default attributes, edge cases and upsampling from that model. A study too small
to train on is refused with exit 2 and nothing written.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.cli import main
from tests.conftest import SHARED_COHORTS

TRAINABLE = ["crc_msk_2017", "csf_ctdna_msk", "luad_tcga_pan_can_atlas_2018", "brca_metabric"]
TOO_SMALL = "summit_btc_neratinib_msk"


def _study(name: str) -> Path:
    folder = SHARED_COHORTS / name
    if not folder.exists():
        pytest.skip(f"real study {name} not found at {folder} (../shared/cohorts is beside the repo in CI)")
    return folder


@pytest.fixture(scope="module", params=TRAINABLE)
def fitted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str | None]:
    """Ingested study, a synthetic cohort conditioned on a carried mutation, and the saved model."""
    folder = _study(request.param)
    work = tmp_path_factory.mktemp(request.param)
    real = work / "real.parquet"
    assert main(["ingest", str(folder), "--out", str(real)]) == 0
    frame = pl.read_parquet(real)
    carried = [c for c in frame.columns if c.startswith("genomic_variant_") and (frame[c].sum() or 0) >= 20]
    flag = "genomic_variant_kras" if "genomic_variant_kras" in carried else (carried[0] if carried else None)
    synthetic, model = work / "synthetic.parquet", work / "flow.model"
    argv = ["synthesize", str(real), "--profile", "fast", "--rows", "120", "--seed", "1", "--save-model", str(model)]
    argv += ["--condition", f"{flag}=true"] if flag else []
    assert main([*argv, "--out", str(synthetic)]) == 0
    return {"name": request.param, "real": real, "synthetic": synthetic, "model": model, "flag": flag}


def test_synthesize_conditioned_on_a_mutation_flag(fitted) -> None:
    synthetic = pl.read_parquet(fitted["synthetic"])
    real = pl.read_parquet(fitted["real"])
    assert synthetic.height == 120 and synthetic.schema == real.schema
    if fitted["flag"]:
        assert synthetic[fitted["flag"]].to_list() == [True] * 120


def test_stress_twins_with_default_attributes(fitted, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "twins.parquet"
    code = main(["stress", str(fitted["real"]), "--kind", "twins", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    twins = pl.read_parquet(out)
    assert twins.height > 0 and twins["changed_attribute"].n_unique() >= 1


@pytest.mark.parametrize("kind", ["edge", "upsample"])
def test_stress_from_the_saved_model(fitted, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"{kind}.parquet"
    code = main(["stress", str(fitted["real"]), "--kind", kind, "--model", str(fitted["model"]), "--out", str(out)])
    err = capsys.readouterr().err
    if code == 2:  # a study may have no rare cell or no subgroup gap: a clear refusal, nothing written
        assert "nothing to draw" in err and not out.exists()
        return
    assert code == 0, err
    assert pl.read_parquet(out).height > 0


def test_a_study_too_small_to_train_on_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "summit.parquet"
    assert main(["ingest", str(_study(TOO_SMALL)), "--out", str(real)]) == 0
    out = tmp_path / "synthetic.parquet"
    assert main(["synthesize", str(real), "--profile", "fast", "--out", str(out)]) == 2
    assert "rows" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob(".*tmp")) == []

"""The flow keeps the structure real cohorts have and a smooth density cannot: values many
patients share exactly, labs measured together, and columns another column determines."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.synthesis.catalog import make_synthesizer

N = 600
TISSUE = {"Breast Cancer": "Breast", "Lung Cancer": "Lung", "Glioma": "CNS/Brain", "Melanoma": "Skin"}


def _cohort(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cancer = rng.choice(list(TISSUE), N, p=[0.4, 0.3, 0.2, 0.1])
    measured = rng.random(N) < 0.6  # both labs are drawn together or not at all
    synchronous = rng.random(N) < 0.5  # metastatic at diagnosis: exactly 0 months
    return pl.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(N)],
            "cohort": ["t"] * N,
            "cancer_type": cancer,
            "oncotree_tissue": [TISSUE[c] for c in cancer],
            "albumin": pl.Series(np.where(measured, rng.normal(3.5, 0.5, N), np.nan)).fill_nan(None),
            "bilirubin": pl.Series(np.where(measured, rng.lognormal(0, 0.5, N), np.nan)).fill_nan(None),
            "time_to_metastasis_months": np.where(synchronous, 0.0, rng.exponential(20, N) + 0.5),
            "survival_months": rng.exponential(30, N),
            "vital_status_event": pl.Series(rng.integers(0, 2, N), dtype=pl.Int8),
        }
    )


def _sample(conditions: dict[str, str] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    real = _cohort()
    model = make_synthesizer("flow", profile="fast", epochs=30).fit(real, seed=0)
    return real, model.sample(N, conditions=conditions or {}, seed=1)


def test_a_value_many_patients_share_comes_back_exactly_and_only_there() -> None:
    real, synthetic = _sample()
    months = synthetic["time_to_metastasis_months"]
    real_share = (real["time_to_metastasis_months"] == 0).mean()
    assert abs((months == 0).mean() - real_share) < 0.08  # a smooth density puts almost nothing at exactly 0
    assert months.filter(months != 0).min() > 0.05  # the rest is continuous, not smeared into the spike


def test_labs_measured_together_are_missing_together() -> None:
    real, synthetic = _sample()
    albumin, bilirubin = synthetic["albumin"].is_null(), synthetic["bilirubin"].is_null()
    assert abs(albumin.mean() - real["albumin"].is_null().mean()) < 0.08
    assert (albumin != bilirubin).mean() < 0.03  # real: never one without the other


def test_a_column_determined_by_another_follows_it_unless_it_is_the_condition() -> None:
    _, synthetic = _sample()
    pairs = set(synthetic.select("cancer_type", "oncotree_tissue").unique().iter_rows())
    assert pairs <= set(TISSUE.items())  # no breast cancer in lung tissue
    _, lung = _sample({"oncotree_tissue": "Lung"})
    assert (lung["oncotree_tissue"] == "Lung").all()


def test_a_detailed_diagnosis_with_a_tail_of_rare_codes_still_determines_its_tissue() -> None:
    from pipeline.synthesis.flow import _derived_columns

    # csf_ctdna_msk: 36 detailed diagnoses in 454 patients, 7% of them in codes seen once or twice
    common, rare = np.repeat(np.arange(20), 21), np.arange(20, 52)  # 420 rows in 20 codes, 32 singletons
    diagnosis = np.r_[common, rare]
    tissue = diagnosis % 7
    assert _derived_columns(np.column_stack([diagnosis, tissue]), ["diagnosis", "tissue"]) == {
        "tissue": ["diagnosis", (np.arange(52) % 7).tolist()]
    }
    # a code column made mostly of singletons 'determines' anything: it is not taken as a parent
    mostly_rare = np.r_[np.repeat(np.arange(10), 21), np.arange(10, 250)]
    assert _derived_columns(np.column_stack([mostly_rare, mostly_rare % 7]), ["code", "tissue"]) == {}


def test_the_network_widens_with_the_number_of_flow_dimensions() -> None:
    import torch

    rng = np.random.default_rng(0)
    labs = pl.DataFrame({f"lab_{i}": rng.normal(size=200) for i in range(30)}).with_columns(  # a wide lab panel
        sex=pl.Series(rng.choice(["Female", "Male"], 200))
    )
    model = make_synthesizer("flow", profile="fast", epochs=1).fit(labs, seed=0)
    widths = {m.out_features for m in model._flow.modules() if isinstance(m, torch.nn.Linear)}
    assert model.n_features == 30 and 150 in widths  # 5 hidden units per dimension, above the profile's 64
    assert model.report.params["hidden_features"] == 150  # the width built is the width reported and saved

"""Outcome proxies found by the data: a column that alone predicts death, or restates survival."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.cohorts.proxies import find_outcome_proxies, proxy_by_prediction


def cohort(
    n: int = 400, seed: int = 0, risk: np.ndarray | None = None
) -> tuple[pl.Series, pl.Series, np.random.Generator]:
    """Exponential survival, hazard exp(risk), uniform censoring."""
    rng = np.random.default_rng(seed)
    hazard = np.exp(risk) / 20.0 if risk is not None else np.full(n, 1 / 20.0)
    time = rng.exponential(1 / hazard)
    censor = rng.uniform(0, 60, n)
    event = (time <= censor).astype(int)
    return pl.Series("event", event), pl.Series("time", np.minimum(time, censor)), rng


def test_a_progression_time_that_tracks_survival_is_a_proxy() -> None:
    event, time, rng = cohort()
    pfi_time = pl.Series("pfi_t", time.to_numpy() * rng.uniform(0.3, 1.0, time.len()))  # PFI <= OS
    assert "on its own" in proxy_by_prediction(pfi_time, event, time)


def test_a_category_that_gives_away_early_death_is_a_proxy() -> None:
    event, time, rng = cohort()
    early = (event.to_numpy() == 1) & (time.to_numpy() <= 3)
    labels = np.where(early, "<2 mo. follow-up", rng.choice(["SIP>=30", "adl>=4", "no"], time.len()))
    assert proxy_by_prediction(pl.Series("sfdm", labels), event, time) is not None


def test_a_strong_clinical_predictor_is_kept() -> None:
    risk = np.random.default_rng(1).normal(0, 1.0, 400)  # hazard ratio e = 2.7 per SD: strong, not the outcome
    event, time, _ = cohort(risk=risk)
    stage = pl.Series("stage", np.digitize(risk, np.quantile(risk, [0.25, 0.5, 0.75])).astype(str))
    assert proxy_by_prediction(pl.Series("score", risk), event, time) is None
    assert proxy_by_prediction(stage, event, time) is None


def test_noise_is_never_a_proxy() -> None:
    event, time, rng = cohort()
    columns = {f"c{i}": pl.Series(rng.normal(size=time.len())) for i in range(20)}
    assert find_outcome_proxies(columns, event, time) == {}

"""Outcome proxies: source columns that restate the outcome and would leak it into features.

A column is a proxy when its name matches ``vocabularies/outcome_proxies.yaml`` (vital status,
death, DSS/PFS/DFS, follow-up, ...) or its values give the outcome away: each value goes with
one event value only (it equals the event), it is filled only for patients who died, it
equals the survival time for the patients who died, it alone predicts death within the horizon
(AUC at least :data:`PROXY_AUC`; TCGA-CDR's ``PFI.time``: 0.948) or it restates the survival
time (Spearman correlation at least :data:`PROXY_RHO`).
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import polars as pl
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from pipeline.cohorts.identifiers import snake_case
from pipeline.schema import DAYS_PER_MONTH
from pipeline.vocabularies import load

MIN_ROWS = 20  # value tests need this many rows with both outcomes
MIN_DEATHS = 5
PROXY_AUC = 0.90  # a single column predicting death within the horizon this well is the outcome
PROXY_RHO = 0.95  # a column this rank-correlated with the survival time restates it
HORIZON_MONTHS = 12.0  # death within 12 months, and within these quantiles of the death times:
HORIZON_QUANTILES = (0.1, 0.25, 0.5)
MAX_LEVELS = 30  # categorical columns with more levels are not scored
MIN_LEVEL_ROWS = 5  # levels with fewer rows share one pooled rate


@cache
def _name_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in load("outcome_proxies")["name_patterns"])


def proxy_by_name(column: str) -> str | None:
    """The reason a column name looks like an outcome, or None."""
    name = snake_case(column)
    match = next((m for p in _name_patterns() if (m := p.search(name))), None)
    return f"named like an outcome ({match.group(0).strip('_')!r})" if match else None


def proxy_by_values(values: pl.Series, event: pl.Series, survival: pl.Series) -> str | None:
    """The reason the values restate the outcome, or None (see module docstring)."""
    died = event == 1
    n_deaths, n_alive = int(died.sum()), int((~died).sum())
    present = values.is_not_null()
    if values.len() < MIN_ROWS or n_deaths < MIN_DEATHS or n_alive < MIN_DEATHS or present.sum() < MIN_DEATHS:
        return None
    frame = pl.DataFrame({"v": values.cast(pl.String), "e": event.cast(pl.Int8)}).filter(pl.col("v").is_not_null())
    n_values = frame["v"].n_unique()
    if 2 <= n_values <= 10 and frame.height >= MIN_ROWS and frame["e"].n_unique() == 2:
        purity = frame.group_by("v").agg(pl.col("e").n_unique().alias("k"))
        if (purity["k"] == 1).all():
            return "equals the event"
    if not (present & ~died).any() and present.sum() >= MIN_DEATHS:
        return "filled only for deaths"
    if values.dtype.is_numeric():
        both = died & present & survival.is_not_null()
        if both.sum() >= MIN_DEATHS:
            x, s = values.filter(both).cast(pl.Float64), survival.filter(both)
            tolerance = (s.abs() * 0.005).clip(lower_bound=0.01)
            as_months = ((x - s).abs() <= tolerance).mean()
            as_days = ((x / DAYS_PER_MONTH - s).abs() <= tolerance.clip(lower_bound=0.5)).mean()
            if max(as_months or 0.0, as_days or 0.0) >= 0.95:
                return "equals survival for deaths"
    return proxy_by_prediction(values, event, survival)


def proxy_by_prediction(values: pl.Series, event: pl.Series, survival: pl.Series) -> str | None:
    """The reason the column alone predicts death within a horizon or restates survival, or None.

    Horizons: 12 months and the 10th, 25th and 50th percentiles of the death times (SUPPORT's
    ``sfdm2`` gives away death within 2 months, AUC 0.999, while no clinical column passes 0.83).
    """
    time, died = survival.cast(pl.Float64).fill_null(np.nan).to_numpy(), (event == 1).fill_null(False).to_numpy()
    present = values.is_not_null().to_numpy() & ~np.isnan(time)
    death_times = time[died & ~np.isnan(time)]
    if death_times.size < MIN_DEATHS or present.sum() < MIN_ROWS:
        return None
    best: tuple[float, float] = (0.0, HORIZON_MONTHS)
    for horizon in sorted({HORIZON_MONTHS, *np.quantile(death_times, HORIZON_QUANTILES).round(2)}):
        label = died & (time <= horizon)
        known = (label | (time > horizon)) & present
        if known.sum() < MIN_ROWS or min(int(label[known].sum()), int((~label[known]).sum())) < MIN_DEATHS:
            continue
        score = _score(values, label, known)
        if score is None:
            return None
        auc = float(roc_auc_score(label[known], score[known]))
        best = max(best, (max(auc, 1 - auc), float(horizon)))
    if best[0] >= PROXY_AUC:
        return f"predicts death within {best[1]:g} months on its own (AUC {best[0]:.3f})"
    if values.dtype.is_numeric():
        rho = float(spearmanr(values.cast(pl.Float64).to_numpy()[present], time[present]).statistic)
        if abs(rho) >= PROXY_RHO:
            return f"restates the survival time (Spearman {rho:.3f})"
    return None


def _score(values: pl.Series, label: np.ndarray, known: np.ndarray) -> np.ndarray | None:
    """A number per row: the value itself, or the death rate of the row's category."""
    if values.dtype.is_numeric():
        return values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    if values.dtype == pl.Boolean:
        return values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    text = values.cast(pl.String)
    if text.n_unique() > MAX_LEVELS:
        return None
    frame = pl.DataFrame({"v": text, "y": label.astype(float), "k": known}).filter(pl.col("k"))
    rates = frame.group_by("v").agg(pl.col("y").mean().alias("rate"), pl.len().alias("n"))
    pooled = float(frame["y"].mean())
    lookup = {v: (r if n >= MIN_LEVEL_ROWS else pooled) for v, r, n in rates.iter_rows()}
    return np.array([lookup.get(v, pooled) if v is not None else np.nan for v in text.to_list()], dtype=float)


def find_outcome_proxies(columns: dict[str, pl.Series], event: pl.Series, survival: pl.Series) -> dict[str, str]:
    """Source column -> why it is an outcome proxy, for every proxy among ``columns``."""
    found = {}
    for name, values in columns.items():
        reason = proxy_by_name(name) or proxy_by_values(values, event, survival)
        if reason:
            found[name] = reason
    return found

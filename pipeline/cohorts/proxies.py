"""Outcome proxies: source columns that restate the outcome and would leak it into features.

A column is a proxy when its name matches ``vocabularies/outcome_proxies.yaml`` (vital status,
death, DSS/PFS/DFS, follow-up, ...) or its values give the outcome away: each value goes with
one event value only (it equals the event), it is filled only for patients who died, or it
equals the survival time for the patients who died.
"""

from __future__ import annotations

import re
from functools import cache

import polars as pl

from pipeline.cohorts.identifiers import snake_case
from pipeline.schema import DAYS_PER_MONTH
from pipeline.vocabularies import load

MIN_ROWS = 20  # value tests need this many rows with both outcomes
MIN_DEATHS = 5


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
    return None


def find_outcome_proxies(columns: dict[str, pl.Series], event: pl.Series, survival: pl.Series) -> dict[str, str]:
    """Source column -> why it is an outcome proxy, for every proxy among ``columns``."""
    found = {}
    for name, values in columns.items():
        reason = proxy_by_name(name) or proxy_by_values(values, event, survival)
        if reason:
            found[name] = reason
    return found

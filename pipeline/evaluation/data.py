"""What a model under test may learn from: one cohort's training split and its protected attributes."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class CohortData:
    """What a model may learn from: one cohort's training split and its protected attributes."""

    cohort: str
    train: pl.DataFrame
    protected: tuple[str, ...]
    seed: int = 0
    proxy_nmi: float = 0.5

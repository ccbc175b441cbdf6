"""What a model under test may learn from: one cohort's training split and its protected attributes."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class CohortData:
    """What a model may learn from: one cohort's training split and its protected attributes.

    ``clinical`` are the protected attributes a clinical model may use (age: every prognostic model in
    oncology does); its predictions must not depend on the others (``invariant``: race, sex, income, ...).
    """

    cohort: str
    train: pl.DataFrame
    protected: tuple[str, ...]
    seed: int = 0
    proxy_nmi: float = 0.5
    clinical: tuple[str, ...] = ()

    @property
    def invariant(self) -> tuple[str, ...]:
        """The protected attributes a prediction must not depend on."""
        return tuple(a for a in self.protected if a not in self.clinical)

"""SDV engines: CTGAN (the field's default GAN) and GaussianCopula (the baseline).

SDV conditions these models by rejection sampling only, which can be slow or fail in rare
cells; a condition that yields no rows is reported as an error rather than looping forever.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import polars as pl

from pipeline.synthesis.base import ProgressCallback, Synthesizer
from pipeline.synthesis.errors import ConditionError

TABLE = "cohort"


class SDVSynthesizer(Synthesizer):
    """Thin wrapper over an SDV single-table synthesizer (SDV 2.0 dict-of-tables API)."""

    engine: ClassVar[str]

    def _metadata(self, frame: pd.DataFrame) -> Any:
        from sdv.metadata import Metadata

        metadata = Metadata.detect_from_dataframes({TABLE: frame})
        for column in frame.columns:  # never let SDV guess ids or PII and anonymize them
            sdtype = "categorical" if column in self.categorical_columns else "numerical"
            metadata.update_column(column, TABLE, sdtype=sdtype)
        return metadata

    def _to_pandas(self, frame: pl.DataFrame) -> pd.DataFrame:
        categorical = self.categorical_columns
        converted = frame.with_columns(
            *(pl.col(c).cast(pl.String) for c in categorical),
            *(pl.col(c).cast(pl.Float64) for c in frame.columns if c not in categorical),
        )
        return converted.to_pandas().astype({c: object for c in categorical})

    def _build(self, metadata: Any) -> Any:
        raise NotImplementedError

    def _fit(self, frame: pl.DataFrame, *, seed: int, progress: ProgressCallback | None) -> list[dict[str, float]]:
        data = self._to_pandas(frame)
        self._model = self._build(self._metadata(data))
        self._model.fit({TABLE: data})
        return self._history(progress)

    def _history(self, progress: ProgressCallback | None) -> list[dict[str, float]]:
        return []

    def _sample(self, n: int, *, conditions: dict[str, Any], seed: int) -> pl.DataFrame:
        self._model.reset_sampling()
        if not conditions:
            return _from_pandas(self._model.sample(num_rows=n)[TABLE])
        from sdv.sampling import Condition

        try:
            drawn = self._model.sample_from_conditions(
                [Condition(column_values=conditions, num_rows=n)], max_tries_per_batch=100
            )[TABLE]
        except Exception as exc:  # SDV raises ValueError when rejection sampling finds nothing
            raise ConditionError(f"{self.name} could not draw rows with {conditions}: {exc}") from exc
        if len(drawn) < n:
            raise ConditionError(
                f"{self.name} drew only {len(drawn)} of {n} rows with {conditions} by rejection sampling; "
                "use the flow synthesizer for rare conditions"
            )
        return _from_pandas(drawn)


def _from_pandas(frame: pd.DataFrame) -> pl.DataFrame:
    return pl.from_pandas(frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}))


class CTGANEngine(SDVSynthesizer):
    """CTGAN through SDV's CTGANSynthesizer; parameters pass straight through."""

    name = "ctgan"
    profiles: ClassVar[dict[str, dict[str, Any]]] = {"fast": {"epochs": 5, "batch_size": 200}, "full": {"epochs": 300}}

    def _build(self, metadata: Any) -> Any:
        from sdv.single_table import CTGANSynthesizer

        return CTGANSynthesizer(metadata, enable_gpu=False, **self.params)

    def _history(self, progress: ProgressCallback | None) -> list[dict[str, float]]:
        losses = self._model.get_loss_values()
        history = [
            {
                "epoch": float(row["Epoch"]),
                "generator_loss": float(row["Generator Loss"]),
                "discriminator_loss": float(row["Discriminator Loss"]),
            }
            for _, row in losses.iterrows()
        ]
        total = len(history)
        if progress is not None:
            for entry in history:
                progress(int(entry["epoch"]) + 1, total, entry["generator_loss"])
        return history


class GaussianCopulaEngine(SDVSynthesizer):
    """SDV's GaussianCopulaSynthesizer: the baseline every generator must beat."""

    name = "copula"
    partition_by_default = True  # the baseline beside the flow; CTGAN takes minutes per cohort

    def _build(self, metadata: Any) -> Any:
        from sdv.single_table import GaussianCopulaSynthesizer

        return GaussianCopulaSynthesizer(metadata, **self.params)

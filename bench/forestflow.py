"""ForestFlow (Jolicoeur-Martineau et al., AISTATS 2024) as a reference engine for the benchmark only.

The ``forestdiffusion`` package requires ``xgboost``, whose Linux wheel pulls a CUDA NCCL
library of several hundred MB; the benchmark installs ``xgboost-cpu`` (the same module) and
``ForestDiffusion`` without dependencies instead (``make bench-setup``). It is not a pipeline
synthesizer: the package pickles nothing we could check and cannot condition on a value.

Encoding: categorical columns (strings, booleans, few-valued codes) become integer codes with
a code of their own for a missing value (ForestFlow one-hot encodes them); numbers stay numbers
with their missing values (XGBoost learns with them, one model per column then). Sampled codes
map back to labels, the missing code to null; sampled numbers have no missing values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from pipeline.synthesis.base import ProgressCallback, Synthesizer

MISSING = "\x00missing"


class ForestFlowSynthesizer(Synthesizer):
    """Gradient-boosted-tree flow matching over the modelled columns (reference engine)."""

    name = "forestflow"

    def _fit(self, frame: pl.DataFrame, *, seed: int, progress: ProgressCallback | None) -> list[dict[str, float]]:
        from ForestDiffusion import ForestDiffusionModel

        self._labels: dict[str, list[str]] = {}
        columns = []
        for name in frame.columns:
            series = frame.get_column(name)
            if name in self.categorical_columns:
                text = series.cast(pl.String).fill_null(MISSING)
                labels = sorted(text.unique().to_list())
                self._labels[name] = labels
                columns.append(text.replace_strict(labels, list(range(len(labels))), return_dtype=pl.Float64))
            else:
                columns.append(series.cast(pl.Float64))
        matrix = np.column_stack([c.to_numpy() for c in columns])
        names = list(frame.columns)
        self._integers = [i for i, n in enumerate(names) if n not in self._labels and frame.schema[n].is_integer()]
        categorical = [i for i, n in enumerate(names) if n in self._labels and len(self._labels[n]) > 2]
        binary = [i for i, n in enumerate(names) if n in self._labels and len(self._labels[n]) == 2]
        self._model = ForestDiffusionModel(
            matrix,
            n_t=self.params.get("n_t", 50),
            duplicate_K=self.params.get("duplicate_K", 100),
            diffusion_type="flow",
            cat_indexes=categorical,
            bin_indexes=binary,
            int_indexes=self._integers,
            n_jobs=self.params.get("n_jobs", 1),
            seed=seed,
        )
        self._names = names
        return []

    def _sample(self, n: int, *, conditions: dict[str, Any], seed: int) -> pl.DataFrame:
        np.random.seed(seed % 2**32)
        matrix = self._model.generate(batch_size=n)
        out = {}
        for i, name in enumerate(self._names):
            values = matrix[:, i]
            if name in self._labels:
                labels = self._labels[name]
                codes = np.clip(np.rint(values), 0, len(labels) - 1).astype(int)
                out[name] = pl.Series(name, [None if labels[c] == MISSING else labels[c] for c in codes], pl.String)
            else:
                out[name] = pl.Series(name, values, pl.Float64)
        return pl.DataFrame(out)

    @property
    def conditionable_columns(self) -> list[str]:
        return []

"""Split a real cohort into the training rows a synthesizer sees and a holdout it never sees."""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.model_selection import train_test_split

from pipeline.errors import OncoBenchError

DEFAULT_HOLDOUT_FRACTION = 0.3
STRATIFY_COLUMN = "vital_status_event"


def split_cohort(
    frame: pl.DataFrame, *, holdout_fraction: float = DEFAULT_HOLDOUT_FRACTION, seed: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (train, holdout), stratified by the event indicator, deterministic for a seed."""
    if not 0.0 < holdout_fraction < 1.0:
        raise OncoBenchError(f"holdout_fraction must lie strictly between 0 and 1, got {holdout_fraction}")
    holdout_rows = round(frame.height * holdout_fraction)
    if holdout_rows < 2 or frame.height - holdout_rows < 2:
        raise OncoBenchError(f"cannot split {frame.height} rows with holdout_fraction={holdout_fraction}")
    labels = frame[STRATIFY_COLUMN].fill_null(-1).to_numpy() if STRATIFY_COLUMN in frame.columns else None
    if labels is not None and np.unique(labels, return_counts=True)[1].min() < 2:
        labels = None  # a class with one row cannot be stratified
    train_idx, holdout_idx = train_test_split(
        np.arange(frame.height), test_size=holdout_rows, random_state=seed, stratify=labels
    )
    return frame[np.sort(train_idx)], frame[np.sort(holdout_idx)]

"""Real public survival cohorts shipped inside the ``survset`` package (no download)."""

from __future__ import annotations

import polars as pl

from pipeline.errors import CohortDataError


def read_survset(dataset: str) -> pl.DataFrame:
    """Load one SurvSet dataset; pandas categories become their string labels."""
    from SurvSet.data import SurvLoader  # heavy import, only when needed

    loader = SurvLoader()
    known = set(loader.df_ds["ds"])
    if dataset not in known:
        raise CohortDataError(
            f"unknown SurvSet dataset; known: {sorted(known)[:20]}...",
            file=f"survset:{dataset}",
        )
    frame = loader.load_dataset(ds_name=dataset)["df"]
    for column in frame.columns:
        if str(frame[column].dtype) == "category":
            frame[column] = frame[column].astype("string")
    return pl.from_pandas(frame)

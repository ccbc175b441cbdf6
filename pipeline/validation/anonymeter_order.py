"""anonymeter 1.1's singling-out attack with its query pools in a fixed order.

anonymeter draws its univariate queries from an unordered polars ``group_by`` and its random baseline
queries from an unordered ``Series.unique``; polars seeds its hash tables per process, so the same seed
gives other queries (and a singling-out risk about 0.01 apart) in another process: a Celery worker and
an in-process run wrote different releases. :func:`ordered_singling_out` swaps in the two functions as
anonymeter 1.1.0 writes them, with the order of first appearance kept; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import polars as pl

SUPPORTED = "1.1.0"


def _univariate_queries(df: pl.DataFrame, n_queries: int, rng: np.random.Generator) -> list[pl.Expr]:
    """anonymeter's ``univariate_singling_out_queries`` with rare values in order of first appearance."""
    from anonymeter.evaluators.singling_out_evaluator import UniqueSinglingOutQueries

    queries = []
    schema = df.schema
    for col in df.columns:
        if df.select(pl.col(col).is_null().sum()).item() == 1:
            queries.append(pl.col(col).is_null())
        if schema[col].is_numeric() and df[col].drop_nulls().len() > 0:
            queries.extend([pl.col(col) <= df[col].min(), pl.col(col) >= df[col].max()])
        counts = df.group_by(col, maintain_order=True).len()
        queries.extend(pl.col(col) == value for value in counts.filter(pl.col("len") == 1)[col].to_list())
    rng.shuffle(queries)  # type: ignore[arg-type]
    unique = UniqueSinglingOutQueries(max_size=n_queries)
    unique.check_and_extend(queries, df)
    return unique.queries


def _random_queries(df: pl.DataFrame, n_queries: int, n_cols: int, rng: np.random.Generator) -> list[pl.Expr]:
    """anonymeter's ``_random_queries`` with each column's values in order of first appearance."""
    from anonymeter.evaluators.singling_out_evaluator import _convert_polars_dtype, _random_query

    unique_values = {col: df[col].unique(maintain_order=True).to_list() for col in df.columns}
    column_types = {col: _convert_polars_dtype(df[col].dtype) for col in df.columns}
    return [
        _random_query(unique_values=unique_values, cols=rng.choice(df.columns, size=n_cols, replace=False).tolist(),
                      column_types=column_types, rng=rng)
        for _ in range(n_queries)
    ]  # fmt: skip


@contextmanager
def ordered_singling_out() -> Iterator[None]:
    """Within the block, anonymeter's singling-out queries come from ordered pools (see the module)."""
    from importlib.metadata import version

    from anonymeter.evaluators import singling_out_evaluator as module

    if version("anonymeter") != SUPPORTED:  # another release may have fixed or changed these functions
        yield
        return
    saved = module.univariate_singling_out_queries, module._random_queries
    module.univariate_singling_out_queries, module._random_queries = _univariate_queries, _random_queries
    try:
        yield
    finally:
        module.univariate_singling_out_queries, module._random_queries = saved

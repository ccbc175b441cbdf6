"""The DuckDB warehouse (``data/warehouse.duckdb``): every profile and metric as a table.

DuckDB allows one writing process per file. Dagster runs partitions in parallel
processes, so every access takes an exclusive file lock first; writes replace the rows of
one key (e.g. one cohort) inside a transaction, so re-materializing never duplicates rows
and a failed write leaves the previous rows intact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
from filelock import FileLock

LOCK_TIMEOUT_SECONDS = 300


class Warehouse:
    """A DuckDB file guarded by a cross-process lock."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An exclusive connection, held only for the duration of the block."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            connection = duckdb.connect(str(self.path))
            try:
                yield connection
            finally:
                connection.close()

    def replace_rows(self, table: str, frame: pl.DataFrame, key: Mapping[str, str]) -> int:
        """Replace the rows of ``table`` matching ``key`` by ``frame`` (key columns added)."""
        rows = _plain_types(frame.with_columns(pl.lit(v).alias(k) for k, v in key.items()))
        rows = rows.select([*key, *(c for c in rows.columns if c not in key)])
        where = " AND ".join(f'"{k}" = ?' for k in key)
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.register("incoming", rows)
                con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" AS SELECT * FROM incoming LIMIT 0')
                con.execute(f'DELETE FROM "{table}" WHERE {where}', list(key.values()))
                con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM incoming')
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        return rows.height

    def query(self, sql: str, params: list[object] | None = None) -> pl.DataFrame:
        """Run a read query and return the result as a polars frame."""
        with self.connect() as con:
            return con.sql(sql, params=params or None).pl()

    def tables(self) -> list[str]:
        """Names of the tables in the warehouse."""
        if not self.path.exists():
            return []
        return self.query("SELECT table_name FROM information_schema.tables ORDER BY 1")["table_name"].to_list()


def _plain_types(frame: pl.DataFrame) -> pl.DataFrame:
    """Enums and categoricals as strings, so tables from different cohorts line up."""
    return frame.with_columns(
        pl.col(c).cast(pl.String) for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)
    )

"""The DuckDB warehouse (``data/warehouse.duckdb``): every profile and metric as a table.

DuckDB allows one writing process per file. Dagster runs partitions in parallel
processes, so every access takes an exclusive file lock first; writes replace the rows of
one key (e.g. one cohort) inside a transaction, so re-materializing never duplicates rows
and a failed write leaves the previous rows intact. A file DuckDB cannot open (truncated,
garbage, another program's) is a :class:`WarehouseError` naming it, never a raw traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
from filelock import FileLock

from pipeline.errors import OncoBenchError

LOCK_TIMEOUT_SECONDS = 300


class WarehouseError(OncoBenchError):
    """The warehouse file cannot be opened as a DuckDB database; names the file."""


class Warehouse:
    """A DuckDB file guarded by a cross-process lock."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)
        self._open = threading.local()  # this thread's connection inside transaction(), if any

    def __getstate__(self) -> dict:  # picklable (a worker process opens its own connections)
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"])

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An exclusive connection, held only for the duration of the block (inside
        :meth:`transaction`, that transaction's connection)."""
        active = getattr(self._open, "connection", None)
        if active is not None:
            yield active
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            try:
                connection = duckdb.connect(str(self.path))
            except duckdb.Error as error:
                raise _unreadable(self.path, error) from None
            try:
                yield connection
            except (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException) as error:
                if isinstance(error, duckdb.IOException) and self.path.name not in str(error):
                    raise  # another file (e.g. a Parquet file read in SQL), not the warehouse
                raise _unreadable(self.path, error) from None
            finally:
                connection.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: every write in the block through this warehouse (rows of several tables,
        an audit entry) lands, or none does. Nested, it joins the outer transaction."""
        with self.connect() as con:
            if getattr(self._open, "connection", None) is not None:
                yield con
                return
            con.execute("BEGIN TRANSACTION")
            self._open.connection = con
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                self._open.connection = None

    def replace_rows(
        self, table: str, frame: pl.DataFrame, key: Mapping[str, str], *, add_columns: bool = False
    ) -> int:
        """Replace the rows of ``table`` matching ``key`` by ``frame`` (key columns added).

        ``add_columns``: columns ``frame`` has and an older table lacks are added first.
        """
        rows = _plain_types(frame.with_columns(pl.lit(v).alias(k) for k, v in key.items()))
        rows = rows.select([*key, *(c for c in rows.columns if c not in key)])
        where = " AND ".join(f'"{k}" = ?' for k in key)
        with self.transaction() as con:
            con.register("incoming", rows)
            con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" AS SELECT * FROM incoming LIMIT 0')
            if add_columns:
                _add_missing_columns(con, table)
            con.execute(f'DELETE FROM "{table}" WHERE {where}', list(key.values()))
            con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM incoming')
            con.unregister("incoming")
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


def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Columns the incoming rows have and an older table lacks are added (null in older rows)."""
    existing = {row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}
    for name, dtype, *_ in con.execute("DESCRIBE incoming").fetchall():
        if name not in existing:
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {dtype}')


def _unreadable(path: Path, error: Exception) -> WarehouseError:
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return WarehouseError(
        f"{path} is not a readable DuckDB database (truncated, corrupt or not DuckDB): {detail}; "
        "restore it from a backup or move it aside to start an empty warehouse"
    )


def _plain_types(frame: pl.DataFrame) -> pl.DataFrame:
    """Enums and categoricals as strings, so tables from different cohorts line up."""
    return frame.with_columns(
        pl.col(c).cast(pl.String) for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)
    )

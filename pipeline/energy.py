"""Energy and carbon of any stage, measured offline with codecarbon's ``OfflineEmissionsTracker``.

No network: the grid's carbon intensity comes from codecarbon's bundled table for the configured
country (ISO 3166 alpha-3, ``emissions_country`` in ``config/evaluation.yaml``; empty turns tracking
off). Power is read from RAPL where the machine exposes it, else estimated from the CPU model. When
codecarbon cannot measure at all (not installed, no power source, an error) the measurement is
"not measured": ``kwh`` and ``kg_co2e`` stay ``None`` (null in DuckDB), never a made-up zero.

Every measurement can be written to the DuckDB table ``emissions`` (one row per run, stage, asset
and partition) with :func:`record_emissions`; a release sums the rows of its lineage
(:func:`lineage_energy`). Nothing here imports Dagster.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.warehouse import Warehouse

EMISSIONS = "emissions"  # kWh and kg CO2e per run, stage, asset and partition (codecarbon, offline)
KEY_COLUMNS = ("run_id", "stage", "asset", "partition")

log = logging.getLogger(__name__)


@dataclass
class Measurement:
    """What one block consumed: kWh, kg CO2e (None: not measured), seconds, the grid's country."""

    kwh: float | None = None
    kg_co2e: float | None = None
    seconds: float = 0.0
    country: str = ""
    stage: str = ""
    key: str = ""
    note: str = ""  # why it was not measured, when it was not

    @property
    def measured(self) -> bool:
        return self.kwh is not None

    def as_dict(self) -> dict[str, float | str | None]:
        return {"kwh": self.kwh, "kg_co2e": self.kg_co2e, "seconds": round(self.seconds, 3), "country": self.country}


def _start(country: str) -> Any:
    from codecarbon import OfflineEmissionsTracker

    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    tracker = OfflineEmissionsTracker(
        country_iso_code=country, save_to_file=False, log_level="error", tracking_mode="process",
        measure_power_secs=5, allow_multiple_runs=True,
    )  # fmt: skip
    tracker.start()
    return tracker


@contextmanager
def track_energy(stage: str, key: str, country: str) -> Iterator[Measurement]:
    """Measure the block; the yielded :class:`Measurement` is filled in when it ends.

    ``country`` empty: not measured (tracking off). Any failure of codecarbon leaves the block
    running and the measurement not measured, with the reason in ``note``; errors of the block
    itself propagate unchanged.
    """
    measured = Measurement(country=country, stage=stage, key=key)
    tracker = None
    if not country:
        measured.note = "tracking off (no emissions_country)"
    else:
        try:
            tracker = _start(country)
        except Exception as error:
            measured.note = f"not measured: codecarbon could not start ({type(error).__name__}: {error})"
            log.warning(f"{stage} {key}: {measured.note}")
    started = time.perf_counter()
    try:
        yield measured
    finally:
        measured.seconds = time.perf_counter() - started
        if tracker is not None:
            _stop(tracker, measured)


def _stop(tracker: Any, measured: Measurement) -> None:
    try:
        kg = tracker.stop()
        data = tracker.final_emissions_data
        if data is None or data.energy_consumed is None or kg is None:
            measured.note = "not measured: codecarbon returned no data"
            return
        measured.kwh, measured.kg_co2e = float(data.energy_consumed), float(kg)
    except Exception as error:
        measured.note = f"not measured: codecarbon could not stop ({type(error).__name__}: {error})"
        log.warning(f"{measured.stage} {measured.key}: {measured.note}")


def emissions_frame(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    schema = {"run_id": pl.String, "stage": pl.String, "asset": pl.String, "partition": pl.String,
              "kwh": pl.Float64, "kg_co2e": pl.Float64, "seconds": pl.Float64, "country": pl.String,
              "measured_at": pl.String}  # fmt: skip
    return pl.DataFrame(list(rows), schema=schema)


def record_emissions(
    store: Warehouse, measurement: Measurement, *, run_id: str, stage: str, asset: str, partition: str = ""
) -> None:
    """Write the measurement's row to ``emissions``, replacing an earlier row with the same key
    (``run_id``, ``stage``, ``asset``, ``partition``: a retried step counts once)."""
    key = {"run_id": run_id, "stage": stage, "asset": asset, "partition": partition}
    row = {**key, "kwh": measurement.kwh, "kg_co2e": measurement.kg_co2e, "seconds": round(measurement.seconds, 3),
           "country": measurement.country, "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    store.replace_rows(EMISSIONS, emissions_frame([row]).drop(*KEY_COLUMNS), key, add_columns=True)


LINEAGE_SQL = f"""
WITH latest AS (
    SELECT *, row_number() OVER (PARTITION BY asset, "partition" ORDER BY measured_at DESC, run_id DESC) AS nth
    FROM {EMISSIONS}
    WHERE run_id IS NOT NULL AND stage <> 'evaluation' AND list_contains(?, "partition")
)
SELECT sum(kwh) AS kwh, sum(kg_co2e) AS kg_co2e, count(DISTINCT run_id)::BIGINT AS runs,
       count(*)::BIGINT AS materializations, count(*) FILTER (kwh IS NULL)::BIGINT AS not_measured
FROM latest WHERE nth = 1
"""


def lineage_energy(store: Warehouse, partitions: Iterable[str]) -> dict[str, Any]:
    """The energy of the latest materialization of every asset partition in ``partitions`` (a cohort
    ``colon`` and its ``colon|flow``): kWh, kg CO2e, the Dagster runs they came from, how many
    materializations and how many of them were not measured (they add nothing; kWh and kg CO2e are
    null when no materialization was measured)."""
    empty = {"kwh": None, "kg_co2e": None, "runs": 0, "materializations": 0, "not_measured": 0}
    wanted = sorted(set(partitions))
    if not wanted or EMISSIONS not in store.tables():
        return empty
    columns = set(store.query(f"SELECT * FROM {EMISSIONS} LIMIT 0").columns)
    if not {"run_id", "partition", "measured_at"} <= columns:  # only evaluations recorded (an older table)
        return empty
    row = store.query(LINEAGE_SQL, [wanted]).row(0, named=True)
    return {k: (row[k] if row[k] is not None else empty[k]) for k in empty}

"""Energy and carbon of a run, measured offline with codecarbon's ``OfflineEmissionsTracker``.

No network: the grid's carbon intensity comes from codecarbon's bundled table for the configured
country (ISO 3166 alpha-3, ``emissions_country`` in ``config/evaluation.yaml``; empty turns tracking
off). Power is read from RAPL where the machine exposes it, else estimated from the CPU model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Emissions:
    """What one run consumed: kWh, kg CO2e, seconds, and the country whose grid it was charged to."""

    kwh: float | None = None
    kg_co2e: float | None = None
    seconds: float = 0.0
    country: str = ""

    def as_dict(self) -> dict[str, float | str | None]:
        return {"kwh": self.kwh, "kg_co2e": self.kg_co2e, "seconds": round(self.seconds, 3), "country": self.country}


@contextmanager
def track_emissions(country: str) -> Iterator[Emissions]:
    """Measure the block; the yielded object is filled in when it ends (values None when tracking is off)."""
    measured = Emissions(country=country)
    started = time.perf_counter()
    tracker = None
    if country:
        from codecarbon import OfflineEmissionsTracker

        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        tracker = OfflineEmissionsTracker(
            country_iso_code=country, save_to_file=False, log_level="error", tracking_mode="process",
            measure_power_secs=5, allow_multiple_runs=True,
        )  # fmt: skip
        tracker.start()
    try:
        yield measured
    finally:
        measured.seconds = time.perf_counter() - started
        if tracker is not None:
            measured.kg_co2e = float(tracker.stop() or 0.0)
            data = tracker.final_emissions_data
            measured.kwh = float(data.energy_consumed) if data is not None else None

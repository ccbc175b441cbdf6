"""Energy and carbon of an evaluation: :mod:`pipeline.energy`'s tracker under the evaluation's names.

``Emissions`` is :class:`pipeline.energy.Measurement`; ``track_emissions(country)`` measures a block
as stage ``evaluation`` (offline, no network; empty country: not measured).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.energy import Measurement, track_energy

Emissions = Measurement


@contextmanager
def track_emissions(country: str, key: str = "") -> Iterator[Emissions]:
    """Measure the block; the yielded object is filled in when it ends (values None when not measured)."""
    with track_energy("evaluation", key, country) as measured:
        yield measured

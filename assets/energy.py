"""Energy and carbon of every asset materialization, in the UI and in DuckDB's ``emissions``.

Each asset's compute function carries :func:`measured` under its ``@dg.asset`` decorator. That adds
the resource parameter ``energy`` (:class:`EnergyResource`: the warehouse, the grid's country, on or
off) to the signature Dagster reads, so Dagster's public resource injection hands it over and the
body itself stays as it is. The step runs inside ``pipeline.energy.track_energy`` (codecarbon's
offline tracker), its output(s) get the metadata ``energy_kwh`` and ``co2e_kg`` (three significant
digits; null with ``energy_note`` when not measured), and one row goes to ``emissions`` (run id,
stage = asset group, asset, partition). A step that fails is measured and recorded too (its energy
was spent); its error propagates.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import dagster as dg

from pipeline.energy import Measurement, record_emissions, track_energy
from pipeline.warehouse import Warehouse

ENERGY = "energy"  # the resource key and the parameter name :func:`measured` adds


def significant(value: float | None) -> float | None:
    """Three significant digits (0.000123, 0.0185, 12.3); None stays None."""
    return None if value is None else float(f"{value:.3g}")


def energy_metadata(measurement: Measurement) -> dict[str, Any]:
    """``energy_kwh`` and ``co2e_kg`` (null when not measured, with the reason as ``energy_note``)."""
    if not measurement.measured:
        return {"energy_kwh": dg.MetadataValue.null(), "co2e_kg": dg.MetadataValue.null(),
                "energy_note": measurement.note or "not measured"}  # fmt: skip
    return {"energy_kwh": dg.MetadataValue.float(significant(measurement.kwh)),
            "co2e_kg": dg.MetadataValue.float(significant(measurement.kg_co2e))}  # fmt: skip


class EnergyResource(dg.ConfigurableResource):
    """Where materializations are measured: ``country`` (ISO 3166 alpha-3) of the grid, the DuckDB
    ``warehouse`` that gets the rows; ``enabled`` false or ``country`` empty measures nothing."""

    warehouse: str
    country: str = ""
    enabled: bool = True

    def run(self, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
        """``fn(*args, **kwargs)`` inside the tracker, with metadata and an ``emissions`` row (see the module)."""
        if not self.enabled or not self.country:
            return fn(*args, **kwargs)
        context = dg.AssetExecutionContext.get()
        keys = sorted(context.selected_asset_keys, key=lambda k: k.to_user_string())
        asset = ",".join(k.to_user_string() for k in keys)
        stage = context.assets_def.group_names_by_key.get(keys[0], "") if keys else ""
        partition = context.partition_key if context.has_partition_key else ""
        measurement = Measurement(country=self.country)
        try:
            with track_energy(stage, f"{asset} {partition}".strip(), self.country) as measurement:
                result = fn(*args, **kwargs)
        finally:  # a failed step spent energy too
            record_emissions(Warehouse(self.warehouse), measurement, run_id=context.run_id, stage=stage, asset=asset,
                             partition=partition)  # fmt: skip
        for name in context.selected_output_names:
            context.add_output_metadata(energy_metadata(measurement), output_name=name)
        return result


def measured(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` measured by the ``energy`` resource: put it under ``@dg.asset`` (see the module)."""
    if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(f"{fn.__name__}: energy tracking wraps plain functions only")
    hints = typing.get_type_hints(fn)  # annotations resolved in fn's module, so the signature carries classes
    signature = inspect.signature(fn)
    if ENERGY in signature.parameters:
        raise TypeError(f"{fn.__name__}: the parameter {ENERGY!r} is the energy resource's")
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
    extra = inspect.Parameter(ENERGY, inspect.Parameter.KEYWORD_ONLY, annotation=EnergyResource)
    at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params))
    params.insert(at, extra)  # before any **kwargs

    @functools.wraps(fn)
    def compute(*args: Any, **kwargs: Any) -> Any:
        energy: EnergyResource = kwargs.pop(ENERGY)
        return energy.run(fn, args, kwargs)

    compute.__signature__ = signature.replace(
        parameters=params, return_annotation=hints.get("return", signature.return_annotation)
    )
    compute.__annotations__ = {**hints, ENERGY: EnergyResource}
    return compute

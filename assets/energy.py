"""Energy and carbon of every asset materialization, in the UI and in DuckDB's ``emissions``.

:func:`with_energy` wraps the compute function of each asset definition once, where the
definitions are built, so asset bodies stay as they are: the step runs inside
``pipeline.energy.track_energy`` (codecarbon's offline tracker), its output(s) get the metadata
``energy_kwh`` and ``co2e_kg`` (three significant digits; null with ``energy_note`` when not
measured), and one row goes to ``emissions`` (run id, stage = asset group, asset, partition).
A step that fails is measured and recorded too (its energy was spent); its error propagates.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import dagster as dg
from dagster._core.definitions.decorators.op_decorator import DecoratedOpFunction
from dagster._utils.warnings import disable_dagster_warnings

from pipeline.energy import Measurement, record_emissions, track_energy
from pipeline.warehouse import Warehouse


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


def _measured(fn: Callable[..., Any], warehouse: str, country: str) -> Callable[..., Any]:
    """``fn`` run inside the tracker; signature (inputs, resources, context) unchanged for Dagster."""
    if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(f"{fn.__name__}: energy tracking wraps plain functions only")

    @functools.wraps(fn)
    def compute(*args: Any, **kwargs: Any) -> Any:
        context = dg.AssetExecutionContext.get()
        keys = sorted(context.selected_asset_keys, key=lambda k: k.to_user_string())
        asset = ",".join(k.to_user_string() for k in keys)
        stage = context.assets_def.group_names_by_key.get(keys[0], "") if keys else ""
        partition = context.partition_key if context.has_partition_key else ""
        measurement = Measurement(country=country)
        try:
            with track_energy(stage, f"{asset} {partition}".strip(), country) as measurement:
                result = fn(*args, **kwargs)
        finally:  # a failed step spent energy too
            record_emissions(Warehouse(warehouse), measurement, run_id=context.run_id, stage=stage, asset=asset,
                             partition=partition)  # fmt: skip
        for name in context.selected_output_names:
            context.add_output_metadata(energy_metadata(measurement), output_name=name)
        return result

    return compute


def with_energy(assets: Iterable[Any], *, warehouse: str, country: str, enabled: bool = True) -> list[Any]:
    """Every asset definition with its compute measured (see the module); other objects unchanged.

    ``enabled`` false or ``country`` empty: the definitions are returned as they are (nothing measured,
    no metadata, no rows).
    """
    assets = list(assets)
    if not enabled or not country:
        return assets
    return [_instrument(a, warehouse, country) if isinstance(a, dg.AssetsDefinition) else a for a in assets]


def _instrument(assets_def: dg.AssetsDefinition, warehouse: str, country: str) -> dg.AssetsDefinition:
    op = assets_def.op
    compute_fn = op.compute_fn
    if not isinstance(compute_fn, DecoratedOpFunction):
        return assets_def
    measured_op = copy.copy(op)
    measured_op._compute_fn = DecoratedOpFunction(_measured(compute_fn.decorated_fn, warehouse, country))
    with disable_dagster_warnings():  # the same copy Dagster's own ``with_resources`` makes
        return assets_def.__class__(**{**assets_def.get_attributes_dict(), "node_def": measured_op})

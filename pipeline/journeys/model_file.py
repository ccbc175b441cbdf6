"""Journey models as JSON files: plain tables and numbers, nothing that can run code when read.

The file holds ``format`` (``oncobench-journey-model``), ``version``, the cohort it was fitted on
and the model's fields (:class:`JourneyModel`); a file of another format or version, another
cohort than the caller's, or with a field missing is refused with the file named.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from pipeline.io import write_text_atomic
from pipeline.journeys.model import JourneyModel, JourneySettings
from pipeline.journeys.tables import BackoffTable, QuantileTable
from pipeline.synthesis.errors import ModelFileError

MAGIC = "oncobench-journey-model"
FORMAT_VERSION = 1
_TABLES = {"line_counts": BackoffTable, "first": BackoffTable, "following": BackoffTable,
           "first_start": QuantileTable, "durations": QuantileTable, "gaps": QuantileTable}  # fmt: skip


def model_to_dict(model: JourneyModel) -> dict[str, Any]:
    """The model as JSON-ready data (with its format header)."""
    body = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}
    body["settings"] = dataclasses.asdict(model.settings)
    body |= {name: getattr(model, name).to_dict() for name in _TABLES}
    return {"format": MAGIC, "version": FORMAT_VERSION, **body}


def model_from_dict(data: dict[str, Any], *, source: str = "journey model") -> JourneyModel:
    """Rebuild a model from :func:`model_to_dict` data; refuse another format, version or missing fields."""
    if not isinstance(data, dict) or data.get("format") != MAGIC:
        raise ModelFileError(f"{source} is not an OncoBench journey model (format {MAGIC!r})")
    if data.get("version") != FORMAT_VERSION:
        raise ModelFileError(f"{source} is journey model format {data.get('version')!r}; this OncoBench reads "
                             f"{FORMAT_VERSION}: fit it again")  # fmt: skip
    fields = {f.name for f in dataclasses.fields(JourneyModel)}
    missing = sorted(fields - set(data))
    if missing:
        raise ModelFileError(f"{source}: fields missing: {', '.join(missing)}")
    try:
        values = {name: data[name] for name in fields}
        values["settings"] = JourneySettings(**values["settings"])
        values |= {name: kind(**values[name]) for name, kind in _TABLES.items()}
        return JourneyModel(**values)
    except TypeError as error:
        raise ModelFileError(f"{source}: malformed ({error})") from None


def save_journey_model(model: JourneyModel, path: Path | str) -> Path:
    """Write ``model`` to ``path`` as JSON (atomically)."""
    return write_text_atomic(json.dumps(model_to_dict(model), sort_keys=True) + "\n", path)


def load_journey_model(path: Path | str, *, cohort: str | None = None) -> JourneyModel:
    """Read a model written by :func:`save_journey_model`; ``cohort``: refuse one fitted on another cohort."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such journey model file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{path} is not a journey model (not JSON: {error})") from None
    model = model_from_dict(data, source=str(path))
    if cohort is not None and model.cohort not in (None, cohort):
        raise ModelFileError(f"{path}: fitted on cohort {model.cohort!r}, not {cohort!r}; refused")
    return model

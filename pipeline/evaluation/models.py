"""The model under test: loaded from ``MODULE:OBJECT`` (or ``path/file.py:OBJECT``) or ``reference:NAME``,
trained on a release's ``train`` split when it is a class with ``fit``, and every prediction checked.

A bad model is refused with a :class:`ModelError` naming the model and the first bad row: an import
that fails, an object without the method the task needs, a call that raises, the wrong shape, NaN
or infinity, or probabilities outside [0, 1] (or rows that do not sum to 1).
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pipeline.evaluation.data import CohortData
from pipeline.evaluation.errors import ModelError
from pipeline.evaluation.tasks import BINARY, MULTICLASS, SURVIVAL, Task, labels_for, model_input, task_rows

REFERENCE_PREFIX = "reference:"
PROBABILITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class LoadedModel:
    """A model spec resolved to something that returns a fitted predictor per cohort and task."""

    name: str
    fingerprint: str
    build: Callable[[Task, CohortData], Any]

    def fitted(self, task: Task, data: CohortData) -> Any:
        """A predictor for ``task`` on ``data``'s cohort (trained on its ``train`` split where the model trains)."""
        try:
            predictor = self.build(task, data)
        except ModelError:
            raise
        except Exception as error:
            raise ModelError(
                f"model {self.name} raised while training on the train split of cohort {data.cohort}: "
                f"{type(error).__name__}: {error}"
            ) from None
        method = "predict_risk" if task.kind == SURVIVAL else "predict_proba"
        if not callable(getattr(predictor, method, None)):
            raise ModelError(f"model {self.name} has no {method}(frame) method, which task {task.name} needs")
        return predictor


def _source_digest(obj: Any) -> str:
    """sha256 of the file defining ``obj`` (empty when it has none)."""
    try:
        source = inspect.getsourcefile(obj if inspect.isclass(obj) or inspect.ismodule(obj) else type(obj))
    except TypeError:
        source = None
    if not source or not Path(source).is_file():
        return ""
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def _import(spec: str) -> Any:
    module_name, separator, object_path = spec.rpartition(":")
    if not separator or not module_name or not object_path:
        raise ModelError(f"model {spec}: expected MODULE:OBJECT (or path/to/file.py:OBJECT, or reference:fair)")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).resolve()
            if not path.is_file():
                raise FileNotFoundError(f"no file {module_name}")
            loader = importlib.util.spec_from_file_location(f"oncobench_model_{path.stem}", path)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())  # a model builder's module beside them, as `python -m` would
            module = importlib.import_module(module_name)
    except Exception as error:
        raise ModelError(f"model {spec}: cannot import {module_name}: {type(error).__name__}: {error}") from None
    target: Any = module
    for part in object_path.split("."):
        if not hasattr(target, part):
            raise ModelError(f"model {spec}: {module_name} has no {object_path}")
        target = getattr(target, part)
    return target


def load_model(spec: str) -> LoadedModel:
    """Resolve ``spec``; a class is instantiated per cohort (and ``fit`` on its train split if it can)."""
    if spec.startswith(REFERENCE_PREFIX):
        from pipeline.evaluation.reference import REFERENCE_MODELS, reference_model

        kind = spec.removeprefix(REFERENCE_PREFIX)
        if kind not in REFERENCE_MODELS:
            raise ModelError(f"model {spec}: unknown reference model; available: {sorted(REFERENCE_MODELS)}")
        digest = hashlib.sha256(f"{spec}:{_source_digest(reference_model)}".encode()).hexdigest()
        return LoadedModel(spec, digest, lambda task, data: reference_model(kind, task, data))
    target = _import(spec)
    digest = hashlib.sha256(f"{spec}:{_source_digest(target)}".encode()).hexdigest()
    if inspect.isclass(target):
        return LoadedModel(spec, digest, lambda task, data: _train(target, task, data))
    return LoadedModel(spec, digest, lambda task, data: copy.copy(target))


def _train(cls: type, task: Task, data: CohortData) -> Any:
    model = cls()
    if callable(getattr(model, "fit", None)):
        rows = data.train[task_rows(task, data.train)]
        model.fit(model_input(rows, task), labels_for(task, rows))
    return model


def _row_name(frame: pl.DataFrame, index: int, where: str) -> str:
    ident = frame["patient_id"][index] if "patient_id" in frame.columns else None
    return f"row {index}" + (f" (patient_id {ident})" if ident else "") + f" of {where}"


def _first_raising_row(call: Callable[[pl.DataFrame], Any], frame: pl.DataFrame) -> int | None:
    """The shortest prefix that makes ``call`` raise, by bisection (its last row is the first bad one)."""
    low, high = 0, frame.height  # the prefix of `high` rows raises
    try:
        call(frame[:1])
        if frame.height == 1:
            return 0
    except Exception:
        return 0
    low = 1
    while high - low > 1:
        middle = (low + high) // 2
        try:
            call(frame[:middle])
            low = middle
        except Exception:
            high = middle
    return high - 1


def predict(name: str, predictor: Any, task: Task, frame: pl.DataFrame, where: str) -> np.ndarray:
    """Checked predictions: P(class 1) (binary), class probabilities (multiclass) or risk (survival).

    ``where`` names the rows in messages, e.g. "the test split of cohort colon".
    """
    method = "predict_risk" if task.kind == SURVIVAL else "predict_proba"

    def call(rows: pl.DataFrame) -> Any:
        return getattr(predictor, method)(model_input(rows, task))

    if frame.height == 0:
        return np.zeros((0, len(task.classes))) if task.kind == MULTICLASS else np.zeros(0)
    try:
        raw = call(frame)
    except Exception as error:
        row = _first_raising_row(call, frame)
        at = f" at {_row_name(frame, row, where)}" if row is not None else f" on {where}"
        raise ModelError(f"model {name}: {method} raised{at}: {type(error).__name__}: {error}") from None
    return check_output(name, raw, task, frame, where)


def check_output(name: str, raw: Any, task: Task, frame: pl.DataFrame, where: str) -> np.ndarray:
    """The model's output as floats, or a ModelError naming the first bad row."""
    method = "predict_risk" if task.kind == SURVIVAL else "predict_proba"
    n = frame.height
    expected = (n,) if task.kind == SURVIVAL else (n, 2 if task.kind == BINARY else len(task.classes))
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as error:
        raise ModelError(f"model {name}: {method} returned something that is not numbers on {where}: {error}") from None
    if task.kind == SURVIVAL and values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != expected:
        columns = "" if task.kind == SURVIVAL else f" (class columns: {list(task.classes) or [0, 1]})"
        raise ModelError(
            f"model {name}: {method} returned shape {values.shape} on {n} rows of {where}; expected {expected}{columns}"
        )
    flat = values.reshape(n, -1)
    bad = ~np.isfinite(flat).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ModelError(f"model {name}: {method} returned NaN or infinity at {_row_name(frame, row, where)}")
    if task.kind != SURVIVAL:
        outside = ((flat < 0) | (flat > 1)).any(axis=1)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise ModelError(
                f"model {name}: {method} returned probabilities outside [0, 1] at {_row_name(frame, row, where)}: "
                f"{flat[row].tolist()}"
            )
        unsummed = np.abs(flat.sum(axis=1) - 1.0) > PROBABILITY_TOLERANCE
        if unsummed.any():
            row = int(np.flatnonzero(unsummed)[0])
            raise ModelError(
                f"model {name}: {method} returned class probabilities that do not sum to 1 at "
                f"{_row_name(frame, row, where)}: {flat[row].tolist()}"
            )
    return values[:, 1] if task.kind == BINARY else values

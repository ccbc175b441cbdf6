"""One synthesizer interface: fit on a harmonized frame with a seed; sample n rows, optionally
under conditions; save; load. The base class owns everything engines share: which columns are
modelled, restoring the exact input schema, honouring hard limits, and the conditions contract.
"""

from __future__ import annotations

import hashlib
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import polars as pl

from pipeline.dtypes import is_categorical
from pipeline.schema import CORE_BY_NAME, IDENTITY_COLUMNS
from pipeline.synthesis.errors import ConditionError, SynthesisError
from pipeline.synthesis.follow_up import censor_beyond_follow_up, follow_up_limits

MIN_TRAINING_ROWS = 50
# text columns with more distinct values than this are free text or identifiers, never categories
MAX_TEXT_LEVELS = 50
MIN_TEXT_LEVELS_CHECKED = 20  # from this many levels, a column whose values are mostly one-off is dropped too
FORMAT_VERSION = 1
ProgressCallback = Callable[[int, int, float], None]  # (epoch, total_epochs, loss)


@dataclass
class TrainingReport:
    """What a fit used and how it went."""

    synthesizer: str
    params: dict[str, Any]
    seed: int
    n_rows: int
    n_columns: int
    fit_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    dropped_columns: dict[str, str] = field(default_factory=dict)  # column -> why it is not synthesized


@dataclass(frozen=True)
class SampleReport:
    """How many sampled values had to be repaired to respect the schema's hard limits."""

    n_rows: int
    n_repaired_rows: int
    repaired_by_column: dict[str, int]


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch so that a fit or a sample is reproducible on CPU."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Synthesizer(ABC):
    """Base class: validate -> preprocess -> fit -> sample -> repair -> restore schema.

    An engine declares what the rest of OncoBench needs to know about it, so that adding one is one
    file plus its registration (``pipeline.synthesis.catalog.register`` or the ``oncobench.synthesizers``
    entry point): its ``name``, its parameter ``profiles`` (``fast`` for tests/CI, ``full`` for quality),
    whether it ``conditions_on_protected`` attributes (twins and rare cells drawn directly), whether
    ``make demo`` builds it by default (``partition_by_default``) and how its model file is stored
    (``storage``: ``signed-pickle``, or ``tensors`` for plain state: then ``stored_classes`` lists the
    further classes its file may rebuild and ``tensor_modules`` its torch modules and their builders).
    """

    name: ClassVar[str]
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {"fast": {}, "full": {}}
    conditions_on_protected: ClassVar[bool] = False
    partition_by_default: ClassVar[bool] = False
    storage: ClassVar[str] = "signed-pickle"
    stored_classes: ClassVar[tuple[str, ...]] = ()
    tensor_modules: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        self.schema: pl.Schema | None = None
        self.modelled: list[str] = []
        self.report: TrainingReport | None = None
        self._support: dict[str, set[str]] = {}
        self._cohort: str | None = None
        self._follow_up: tuple[float, float] | None = None

    # -- public interface -------------------------------------------------------------------
    def fit(self, frame: pl.DataFrame, *, seed: int, progress: ProgressCallback | None = None) -> Synthesizer:
        """Learn the joint distribution of ``frame`` (a harmonized cohort)."""
        if frame.height < MIN_TRAINING_ROWS:
            raise SynthesisError(
                f"{frame.height} rows is too few to train {self.name}; the minimum is {MIN_TRAINING_ROWS}"
            )
        self.schema = frame.schema
        self._cohort = frame.get_column("cohort")[0] if "cohort" in frame.columns else None
        dropped = high_cardinality_text(frame)
        self.modelled = [
            c
            for c in frame.columns
            if c not in IDENTITY_COLUMNS and c not in dropped and frame.get_column(c).null_count() < frame.height
        ]
        training = frame.select(self.modelled)
        self._support = {
            c: set(training.get_column(c).drop_nulls().cast(pl.String).unique().to_list())
            for c in self.categorical_columns
        }
        self._follow_up = follow_up_limits(frame)
        seed_everything(seed)
        started = time.perf_counter()
        history = self._fit(training, seed=seed, progress=progress)
        self.report = TrainingReport(
            synthesizer=self.name,
            params=self.params,
            seed=seed,
            n_rows=frame.height,
            n_columns=len(self.modelled),
            fit_seconds=time.perf_counter() - started,
            history=history,
            dropped_columns=dropped,
        )
        return self

    def sample(self, n: int, *, conditions: Mapping[str, Any] | None = None, seed: int = 0) -> pl.DataFrame:
        """``n`` synthetic rows in the input schema, every row satisfying ``conditions``."""
        return self.sample_with_report(n, conditions=conditions, seed=seed)[0]

    def sample_with_report(
        self, n: int, *, conditions: Mapping[str, Any] | None = None, seed: int = 0
    ) -> tuple[pl.DataFrame, SampleReport]:
        """Like :meth:`sample`, with how many values had to be repaired to respect the schema."""
        if self.schema is None:
            raise SynthesisError(f"{self.name} must be fitted before sampling")
        if n < 1:
            raise SynthesisError(f"the number of rows must be positive, got {n}")
        conditions = self.validate_conditions(conditions or {})
        seed_everything(seed)
        raw = self._sample(n, conditions=conditions, seed=seed)
        return self._restore(raw, conditions, seed)

    @property
    def cohort(self) -> str | None:
        """The cohort the synthesizer was fitted on."""
        return self._cohort

    def check_fits(self, frame: pl.DataFrame, *, source: str) -> None:
        """Refuse ``frame`` (from ``source``) when it is another cohort or schema than the model was fitted on."""
        if self.schema is None:
            raise SynthesisError(f"{self.name} must be fitted before it is used on {source}")
        cohorts = frame.get_column("cohort").unique().drop_nulls().to_list() if "cohort" in frame.columns else []
        if self._cohort is not None and cohorts and cohorts != [self._cohort]:
            raise SynthesisError(
                f"{source}: the model was fitted on cohort {self._cohort!r}, the data is cohort {cohorts}"
            )
        different = [
            f"{c} ({'missing' if c not in frame.columns else frame.schema[c]} vs {self.schema[c]})"
            for c in self.modelled
            if c not in frame.columns or frame.schema[c] != self.schema[c]
        ]
        if different:
            raise SynthesisError(
                f"{source}: not the schema the model was fitted on; columns that differ: {', '.join(different[:10])}"
                + (f" and {len(different) - 10} more" if len(different) > 10 else "")
            )

    @abstractmethod
    def _fit(self, frame: pl.DataFrame, *, seed: int, progress: ProgressCallback | None) -> list[dict[str, float]]:
        """Fit on the modelled columns; return the training history (one dict per epoch)."""

    @abstractmethod
    def _sample(self, n: int, *, conditions: dict[str, Any], seed: int) -> pl.DataFrame:
        """Draw ``n`` rows of the modelled columns (any dtypes); conditions already validated."""

    @property
    def conditionable_columns(self) -> list[str]:
        """Columns a condition may name (default: every modelled categorical column)."""
        return self.categorical_columns

    # -- shared machinery -------------------------------------------------------------------
    @property
    def categorical_columns(self) -> list[str]:
        assert self.schema is not None
        return [c for c in self.modelled if is_categorical(self.schema[c])]

    @property
    def numeric_columns(self) -> list[str]:
        assert self.schema is not None
        return [c for c in self.modelled if not is_categorical(self.schema[c])]

    def validate_conditions(self, conditions: Mapping[str, Any]) -> dict[str, str]:
        """Conditions as strings (booleans as ``true``/``false``); unknown columns or values list the allowed ones."""
        if self.schema is None:
            raise SynthesisError(f"{self.name} must be fitted before its conditions can be checked")
        allowed = self.conditionable_columns
        checked: dict[str, str] = {}
        for column, value in conditions.items():
            if column not in allowed:
                raise ConditionError(f"cannot condition on {column!r}; allowed columns: {allowed}")
            text = _boolean_text(value) if self.schema[column] == pl.Boolean else str(value)
            if text not in self._support[column]:
                raise ConditionError(
                    f"{column}={text!r} has no support in the training data; "
                    f"observed values: {sorted(self._support[column])}"
                )
            checked[column] = text
        return checked

    def _restore(self, raw: pl.DataFrame, conditions: dict[str, str], seed: int) -> tuple[pl.DataFrame, SampleReport]:
        assert self.schema is not None
        n = raw.height
        repaired: dict[str, pl.Series] = {}
        columns: dict[str, pl.Series] = {
            "patient_id": synthetic_ids(n, seed=seed, salt=f"{self.name}:{self._cohort}"),
            "cohort": pl.Series("cohort", [self._cohort] * n, dtype=pl.String),
        }
        for name, dtype in self.schema.items():
            if name in columns:
                continue
            if name not in self.modelled:
                columns[name] = pl.Series(name, [None] * n, dtype=dtype)
                continue
            values, bad = _coerce_back(raw.get_column(name), dtype, self._support.get(name))
            if name in conditions:
                values, _ = _coerce_back(pl.Series(name, [conditions[name]] * n), dtype, self._support.get(name))
            values, out_of_range = _clip_to_limits(values, name)
            columns[name] = values.alias(name)
            repaired[name] = bad | out_of_range
        frame = pl.DataFrame(columns).select(list(self.schema.names()))
        limits = getattr(self, "_follow_up", None)  # models saved before it have none
        frame, _ = censor_beyond_follow_up(frame, limits, event_fixed="vital_status_event" in conditions)
        flags = pl.DataFrame(repaired) if repaired else pl.DataFrame({"_": [False] * n})
        any_repaired = flags.select(pl.any_horizontal(pl.all())).to_series()
        report = SampleReport(
            n_rows=n,
            n_repaired_rows=int(any_repaired.sum()),
            repaired_by_column={c: int(s.sum()) for c, s in repaired.items() if s.sum()},
        )
        return frame, report


def high_cardinality_text(frame: pl.DataFrame) -> dict[str, str]:
    """Text columns that are free text or identifiers, not categories, with the reason.

    Modelled as categories, their rare values (a metastasis site seen once, a patient code)
    would be replayed verbatim, and they carry too little support per level to learn from.
    Such a column is left null in synthetic rows and reported in the training report.
    """
    limit = min(MAX_TEXT_LEVELS, max(MIN_TEXT_LEVELS_CHECKED, frame.height // 10))
    dropped = {}
    for name, dtype in frame.schema.items():
        if name in IDENTITY_COLUMNS or name in CORE_BY_NAME:
            continue  # schema columns have controlled vocabularies (OncoTree codes): long tails, not free text
        if not (dtype == pl.String or isinstance(dtype, pl.Categorical)):
            continue
        counts = frame.get_column(name).drop_nulls().cast(pl.String).value_counts()
        levels = counts.height
        one_off = float((counts["count"] == 1).sum() / levels) if levels else 0.0
        if levels > limit:
            dropped[name] = f"{levels} distinct values (more than {limit}): free text or an identifier"
        elif levels >= MIN_TEXT_LEVELS_CHECKED and one_off > 0.5:
            dropped[name] = f"{one_off:.0%} of its {levels} values occur once: free text or an identifier"
    return dropped


BOOLEAN_TEXT = {"true": "true", "false": "false", "1": "true", "0": "false", "yes": "true", "no": "false"}


def _boolean_text(value: Any) -> str:
    """A boolean condition as ``true``/``false`` (accepts True, 1, yes in any case); else the text as given."""
    text = str(value).strip().lower()
    return BOOLEAN_TEXT.get(text, str(value))


def _coerce_back(values: pl.Series, dtype: pl.DataType, support: set[str] | None) -> tuple[pl.Series, pl.Series]:
    """Cast an engine's output back to the input dtype; values outside the support become null."""
    if dtype == pl.Boolean:
        text = values.cast(pl.String).str.to_lowercase()
        restored = text.replace_strict({"true": True, "false": False, "1": True, "0": False}, default=None)
        return restored.cast(pl.Boolean), values.is_not_null() & restored.is_null()
    if is_categorical(dtype):
        text = values.cast(pl.String)
        unsupported = text.is_not_null() & ~text.is_in(sorted(support or set()))
        text = pl.select(pl.when(unsupported).then(None).otherwise(text)).to_series()
        return text.cast(dtype), unsupported
    numbers = values.cast(pl.Float64, strict=False)
    if dtype.is_integer():
        numbers = numbers.round(0)
    return numbers.cast(dtype), values.is_not_null() & numbers.is_null()


def _clip_to_limits(values: pl.Series, name: str) -> tuple[pl.Series, pl.Series]:
    column = CORE_BY_NAME.get(name)
    if column is None or (column.minimum is None and column.maximum is None):
        return values, pl.Series([False] * values.len())
    low = values < column.minimum if column.minimum is not None else pl.Series([False] * values.len())
    high = values > column.maximum if column.maximum is not None else pl.Series([False] * values.len())
    outside = (low.fill_null(False)) | (high.fill_null(False))
    clipped = values.clip(column.minimum, column.maximum)
    return clipped.cast(values.dtype), outside


def synthetic_ids(n: int, *, seed: int, salt: str) -> pl.Series:
    """Deterministic 20-hex-digit ids for synthetic patients (never derived from real ids)."""
    prefix = hashlib.sha256(f"synthetic:{salt}:{seed}".encode()).hexdigest()[:8]
    return pl.Series("patient_id", [f"{prefix}{i:012x}" for i in range(n)], dtype=pl.String)

"""A conditional normalizing flow (zuko neural spline flow) for mixed-type cohorts.

Encoding, column by column, all invertible:
- continuous: a quantile transform of the observed values to a standard normal; a column with
  nulls gets a missingness indicator, a context column (so the mixture below models which labs
  were measured together, and the flow draws values given that pattern), and its nulls are
  filled with standard-normal draws (random values of the observed marginal; a median fill made
  a point mass that the flow leaked into observed values); a value that at least 5% of patients
  share exactly (0 months to metastasis, TMB 0) is a spike: another context indicator, restored
  exactly, so the flow models only the continuous rest;
- categorical (enums, strings, booleans, and integer columns with few levels such as the
  event flag): uniform dequantization (level code plus U(0, 1) noise, scaled to [-1, 1);
  the floor decodes exactly), one dimension per column; null is a level of its own.
Context columns (cancer type, stage, biomarkers, treatment, protected attributes) are one-hot
inputs of the flow. Their values are drawn from a latent-class mixture (``context.py``), never
copied from training rows; the mixture conditions on any subset exactly, so
``sample(n, conditions={...})`` draws exactly those rows, no rejection.
Coupling transforms (``passes=2``) keep sampling to two network passes per transform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl
from sklearn.preprocessing import QuantileTransformer

from pipeline.schema import GENOMIC_VARIANT_PREFIX, PROTECTED_COLUMNS
from pipeline.synthesis.base import ProgressCallback, Synthesizer
from pipeline.synthesis.context import LatentClassModel

NULL_LEVEL = "__null__"
NULL_SUFFIX = "__isnull"  # a numeric column's missingness indicator, a context column
SPIKE_SUFFIX = "__atspike"  # a numeric column's "at its most common value" indicator, a context column
INDICATOR_LEVELS = ["false", "true"]
SPIKE_SHARE = 0.05  # a value held by at least this share of the observed values is a spike
MAX_INTEGER_LEVELS = 15
DEFAULT_CONTEXT = (
    "primary_cancer_condition", "cancer_stage_group", "tumor_grade", "msi_status",
    "tumor_marker_er_status", "tumor_marker_pr_status", "tumor_marker_her2_status",
    "cancer_related_medication", *PROTECTED_COLUMNS,
    "vital_status_event",  # so survival time is drawn given the event: keeps the Kaplan-Meier curves
)  # fmt: skip
MAX_STEPS = 12_000  # per fit: a registry runs fewer epochs over more rows; none under ~100,000 rows changes
SAMPLE_BATCH = 4096  # larger batches fall out of cache and sample slower (measured)
WIDTH_PER_FEATURE = 5  # hidden units per flow dimension at least: wide lab panels need a wider network
RARE_PARENT_SHARE = 0.10  # a parent with a larger share of rows than this in levels of < 3 rows determines nothing


@dataclass
class _Block:
    """One encoded column: where it sits in the feature vector and how to decode it."""

    column: str
    kind: str  # "numeric" | "categorical"
    start: int
    width: int
    levels: list[str] | None = None
    transformer: QuantileTransformer | None = None
    fill: float = 0.0
    decimals: int | None = None  # round sampled values to the precision the real column has
    null_indicator: str | None = None  # the context column recording where this column is null
    spike: float | None = None  # a value many patients share exactly (e.g. 0 months to metastasis)
    spike_indicator: str | None = None  # the context column recording where this column is at the spike


def _epochs_within(epochs: int, rows: int, batch: int, max_steps: int | None) -> int:
    """``epochs``, or fewer (at least one) when they would take more than ``max_steps`` optimizer steps."""
    per_epoch = max(1, math.ceil(rows / batch))
    return epochs if not max_steps else max(1, min(epochs, int(max_steps) // per_epoch))


class FlowSynthesizer(Synthesizer):
    """Conditional neural spline flow (zuko) with a mixed-type invertible encoding."""

    name = "flow"
    profiles: ClassVar[dict[str, dict[str, Any]]] = {
        "fast": {"epochs": 15, "transforms": 3, "hidden_features": 64},
        "full": {"epochs": 60, "transforms": 4, "hidden_features": 96},
    }
    conditions_on_protected = True  # twins, upsampling and rare cells over them are drawn directly
    partition_by_default = True  # trains fastest, samples any condition directly and keeps null rates
    storage = "tensors"
    stored_classes = (
        "pipeline.synthesis.flow:_Block",
        "pipeline.synthesis.context:LatentClassModel",
        "sklearn.preprocessing._data:QuantileTransformer",
    )
    tensor_modules: ClassVar[dict[str, str]] = {"_flow": "_build_flow"}  # rebuilt from parameters, given weights
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "epochs": 60, "transforms": 4, "hidden_features": 96, "bins": 8,
        "batch_size": 512, "learning_rate": 2e-3, "context_columns": None, "extra_context": None,
        "categorical_context": True, "max_steps": MAX_STEPS,
    }  # fmt: skip

    def __init__(self, **params: Any) -> None:
        super().__init__(**{**self.DEFAULTS, **params})

    # -- encoding ---------------------------------------------------------------------------
    def _plan(self, frame: pl.DataFrame, seed: int) -> None:
        requested = self.params["context_columns"]
        extra_context = [c for c in frame.columns if c.startswith(GENOMIC_VARIANT_PREFIX)]
        extra_context += [
            c for c in self.params["extra_context"] or () if c in frame.columns
        ]  # e.g. registry-protected
        if self.params.get("categorical_context", False):
            # every other categorical column joins the mixture, which models categories better than a
            # dequantized flow dimension does; the flow is left the numbers, given all categories
            extra_context += [c for c in self.categorical_columns if c not in extra_context]
        candidates = (
            list(requested) if requested is not None else list(dict.fromkeys([*DEFAULT_CONTEXT, *extra_context]))
        )
        self.context = [
            c
            for c in candidates
            if c in self.categorical_columns or (c in self.modelled and _few_integer_levels(frame.get_column(c)))
        ]
        self.features: list[_Block] = []
        self.context_blocks: list[_Block] = []
        width = 0
        for column in [c for c in frame.columns if c not in self.context]:
            values = frame.get_column(column)
            if column in self.categorical_columns or _few_integer_levels(values):
                block = _Block(column, "categorical", width, 1, levels=_levels(values))
            else:
                numbers = values.cast(pl.Float64)
                fill = float(numbers.median())
                decimals = _decimals(numbers)
                observed = numbers.drop_nulls()  # the marginal of the values seen, not inflated at the median
                spike = _spike(observed)
                if spike is not None:  # a value many patients share exactly (e.g. 0 months): a context level
                    observed = observed.filter(observed != spike)
                observed = observed if observed.len() > 1 else numbers.fill_null(fill)
                dequantized = _dequantize(observed.to_numpy(), decimals, np.random.default_rng(seed))
                transformer = QuantileTransformer(
                    n_quantiles=min(1000, observed.len()), output_distribution="normal", random_state=seed
                ).fit(dequantized.reshape(-1, 1))
                block = _Block(column, "numeric", width, 1, transformer=transformer, fill=fill, decimals=decimals)
                if values.null_count():  # which values were measured is context: modelled with the categories
                    block.null_indicator = f"{column}{NULL_SUFFIX}"
                if spike is not None:
                    block.spike, block.spike_indicator = spike, f"{column}{SPIKE_SUFFIX}"
            self.features.append(block)
            width = block.start + block.width
        self.n_features = width
        offset = 0
        for column in self.context:
            levels = _levels(frame.get_column(column))
            self.context_blocks.append(_Block(column, "categorical", offset, len(levels), levels=levels))
            offset += len(levels)
        for indicator in self._indicators():
            self.context_blocks.append(_Block(indicator, "categorical", offset, 2, levels=INDICATOR_LEVELS))
            offset += 2
        self.n_context = offset

    def _indicators(self) -> list[str]:
        """The context columns that say where a number is null or at its spike."""
        return [i for b in self.features for i in (b.null_indicator, b.spike_indicator) if i is not None]

    def _with_indicators(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` plus every indicator the context models (``"true"`` where null, or at the spike)."""
        flags: dict[str, pl.Expr] = {}
        for b in self.features:
            if b.null_indicator is not None:
                flags[b.null_indicator] = pl.col(b.column).is_null()
            if b.spike_indicator is not None:
                flags[b.spike_indicator] = (pl.col(b.column).cast(pl.Float64) == b.spike).fill_null(False)
        return frame.with_columns(
            pl.when(flag).then(pl.lit("true")).otherwise(pl.lit("false")).alias(name) for name, flag in flags.items()
        )

    def _encode_features(self, frame: pl.DataFrame, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((frame.height, self.n_features), dtype=np.float32)
        for block in self.features:
            if block.kind == "categorical":
                codes = _codes(frame.get_column(block.column), block.levels)
                out[:, block.start] = _dequantized(codes, len(block.levels), rng)
            else:
                column = frame.get_column(block.column).cast(pl.Float64)
                numbers = _dequantize(column.fill_null(block.fill).to_numpy(), block.decimals, rng)
                encoded = block.transformer.transform(numbers.reshape(-1, 1))[:, 0]
                # a null (or a spike value, restored from its indicator) gets a random draw from the observed
                # marginal, standard normal after the quantile transform: a fixed value would be a point
                # mass that the flow leaks into the other values
                missing = column.is_null().to_numpy()
                if block.spike is not None:
                    missing |= (column == block.spike).fill_null(False).to_numpy()
                encoded[missing] = rng.standard_normal(int(missing.sum()))
                out[:, block.start] = encoded
        return out

    def _encode_context(self, frame: pl.DataFrame) -> np.ndarray:
        out = np.zeros((frame.height, self.n_context), dtype=np.float32)
        for block in self.context_blocks:
            codes = _codes(frame.get_column(block.column), block.levels)
            out[np.arange(frame.height), block.start + codes] = 1.0
        return out

    def _decode(self, features: np.ndarray, context_rows: pl.DataFrame) -> pl.DataFrame:
        columns: dict[str, pl.Series] = {c: context_rows.get_column(c) for c in self.context}
        for block in self.features:
            chunk = features[:, block.start : block.start + block.width]
            if block.kind == "categorical":
                picked = np.asarray(block.levels, dtype=object)[_quantized(chunk[:, 0], len(block.levels))]
                decoded = pl.Series(block.column, picked.astype(str))
                columns[block.column] = decoded.replace(NULL_LEVEL, None)
            else:
                values = block.transformer.inverse_transform(chunk.astype(np.float64))[:, 0]
                if block.decimals is not None:
                    values = np.round(values, block.decimals)
                columns[block.column] = pl.Series(block.column, values)
        for block in self.features:
            if block.spike_indicator is not None:
                at_spike = context_rows.get_column(block.spike_indicator) == "true"
                columns[block.column] = pl.select(
                    pl.when(at_spike).then(pl.lit(block.spike)).otherwise(columns[block.column])
                ).to_series()
            if block.null_indicator is not None:
                mask = context_rows.get_column(block.null_indicator) == "true"
                columns[block.column] = pl.select(pl.when(mask).then(None).otherwise(columns[block.column])).to_series()
        return pl.DataFrame(columns).select(self.modelled)

    # -- fit and sample ---------------------------------------------------------------------
    def _build_flow(self) -> Any:
        import zuko

        hidden = int(self.params["hidden_features"])
        return zuko.flows.NSF(
            features=self.n_features,
            context=self.n_context,
            transforms=int(self.params["transforms"]),
            hidden_features=(hidden, hidden),
            bins=int(self.params["bins"]),
            passes=2 if self.n_features > 1 else None,
        )

    def _fit(self, frame: pl.DataFrame, *, seed: int, progress: ProgressCallback | None) -> list[dict[str, float]]:
        import torch

        rng = np.random.default_rng(seed)
        self._plan(frame, seed)
        frame = self._with_indicators(frame)
        context_codes = np.column_stack([_codes(frame.get_column(b.column), b.levels) for b in self.context_blocks])
        self.derived = _derived_columns(context_codes, [b.column for b in self.context_blocks])
        self._context_model = LatentClassModel.fit(
            context_codes,
            [b.column for b in self.context_blocks],
            [list(b.levels) for b in self.context_blocks],
            seed=seed,
        )
        x = torch.from_numpy(self._encode_features(frame, rng))
        c = torch.from_numpy(self._encode_context(frame))
        # the width actually built goes into the parameters: the report shows it, a saved model rebuilds it
        self.params["hidden_features"] = max(int(self.params["hidden_features"]), WIDTH_PER_FEATURE * self.n_features)
        self._flow = self._build_flow()
        optimizer = torch.optim.Adam(self._flow.parameters(), lr=float(self.params["learning_rate"]))
        batch = int(self.params["batch_size"])
        epochs = _epochs_within(int(self.params["epochs"]), x.shape[0], batch, self.params.get("max_steps"))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        generator = torch.Generator().manual_seed(seed)
        history = []
        self._flow.train()
        for epoch in range(epochs):
            order = torch.randperm(x.shape[0], generator=generator)
            total = 0.0
            for start in range(0, x.shape[0], batch):
                index = order[start : start + batch]
                loss = -self._flow(c[index]).log_prob(x[index]).mean()
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self._flow.parameters(), 5.0)
                optimizer.step()
                total += loss.item() * len(index)
            scheduler.step()
            mean = total / x.shape[0]
            history.append({"epoch": float(epoch), "negative_log_likelihood": mean})
            if progress is not None:
                progress(epoch + 1, epochs, mean)
        self._flow.eval()
        return history

    @property
    def conditionable_columns(self) -> list[str]:
        return list(self.context)

    def _context_rows(self, n: int, conditions: dict[str, str], rng: np.random.Generator) -> pl.DataFrame:
        """Context values drawn from the latent-class mixture given the conditions (text; null for no value)."""
        by_column = {b.column: b for b in self.context_blocks}
        fixed = {c: by_column[c].levels.index(v) for c, v in conditions.items()}
        codes = self._context_model.sample_codes(n, fixed, rng)
        index = {b.column: j for j, b in enumerate(self.context_blocks)}
        for column, (parent, mapping) in self.derived.items():
            if column not in conditions:  # a column the training data determines from another follows it
                codes[:, index[column]] = np.asarray(mapping)[codes[:, index[parent]]]
        columns = {}
        for j, block in enumerate(self.context_blocks):
            values = pl.Series(block.column, np.asarray(block.levels, dtype=object)[codes[:, j]], dtype=pl.String)
            columns[block.column] = values.replace(NULL_LEVEL, None)
        return pl.DataFrame(columns)

    def _sample(self, n: int, *, conditions: dict[str, Any], seed: int) -> pl.DataFrame:
        import torch

        rng = np.random.default_rng(seed)
        context_rows = self._context_rows(n, conditions, rng)
        context = torch.from_numpy(self._encode_context(context_rows))
        chunks = []
        with torch.no_grad():
            for start in range(0, n, SAMPLE_BATCH):
                chunks.append(self._flow(context[start : start + SAMPLE_BATCH]).sample().numpy())
        return self._decode(np.concatenate(chunks), context_rows)


def _derived_columns(codes: np.ndarray, names: list[str], rare: int = 3) -> dict[str, list[Any]]:
    """Context columns that another one determines in the training data: ``{column: [parent, code map]}``.

    E.g. OncoTree code -> cancer type -> tissue. The mixture draws each column given a latent
    class, so without this it pairs a breast cancer type with lung tissue. A parent is never itself
    derived, has at least as many levels, and at most 10% of the rows sit in its rare levels (< 3
    rows), so a column is not 'determined' by one-patient levels.
    """
    levels = codes.max(axis=0) + 1
    order = sorted(range(len(names)), key=lambda j: (-levels[j], j))
    derived: dict[str, list[Any]] = {}
    for b in order:
        if levels[b] < 2:
            continue
        for a in order:
            if a == b or names[a] in derived or levels[a] < levels[b] or (levels[a] == levels[b] and a > b):
                continue
            counts = np.bincount(codes[:, a], minlength=levels[a])
            if counts[(counts > 0) & (counts < rare)].sum() > RARE_PARENT_SHARE * len(codes):
                continue
            pairs = np.unique(codes[:, a] * levels[b] + codes[:, b])
            if len(pairs) == len(np.unique(codes[:, a])):  # each parent level has one value of b
                mapping = np.zeros(levels[a], dtype=np.int64)
                mapping[pairs // levels[b]] = pairs % levels[b]
                derived[names[b]] = [names[a], mapping.tolist()]
                break
    return derived


def _spike(observed: pl.Series) -> float | None:
    """The most common value if at least ``SPIKE_SHARE`` of the values are exactly it and others remain."""
    if observed.len() < 20 or observed.n_unique() < 3:
        return None
    counts = observed.value_counts(sort=True)
    value, count = counts.row(0)
    return float(value) if count >= SPIKE_SHARE * observed.len() else None


def _decimals(numbers: pl.Series, most: int = 6) -> int | None:
    """The fewest decimals that represent every real value exactly (None: more than ``most``)."""
    values = numbers.drop_nulls().to_numpy()
    for decimals in range(most + 1):
        if np.allclose(values, np.round(values, decimals), rtol=0, atol=1e-9):
            return decimals
    return None


def _dequantize(values: np.ndarray, decimals: int | None, rng: np.random.Generator) -> np.ndarray:
    """Spread values recorded at a fixed precision over their rounding interval (no point masses)."""
    if decimals is None:
        return values
    step = 10.0**-decimals
    return values + rng.uniform(-step / 2, step / 2, size=values.shape)


def _few_integer_levels(values: pl.Series) -> bool:
    """Integer-valued columns (of any numeric dtype) with few levels are modelled as categories."""
    non_null = values.drop_nulls()
    if not values.dtype.is_numeric() or non_null.n_unique() > MAX_INTEGER_LEVELS:
        return False
    numbers = non_null.cast(pl.Float64).to_numpy()
    return values.dtype.is_integer() or bool(np.all(numbers == np.round(numbers)))


def _levels(values: pl.Series) -> list[str]:
    levels = sorted(values.drop_nulls().cast(pl.String).unique().to_list())
    return [*levels, NULL_LEVEL] if values.null_count() else levels


def _codes(values: pl.Series, levels: list[str]) -> np.ndarray:
    text = values.cast(pl.String).fill_null(NULL_LEVEL)
    lookup = {level: i for i, level in enumerate(levels)}
    return text.replace_strict(lookup, default=0, return_dtype=pl.Int64).to_numpy()


def _dequantized(codes: np.ndarray, n_levels: int, rng: np.random.Generator) -> np.ndarray:
    """Level code plus U(0, 1) noise, scaled to [-1, 1): :func:`_quantized` recovers the code."""
    noise = rng.random(len(codes), dtype=np.float32)
    return (codes + noise) / n_levels * 2.0 - 1.0


def _quantized(values: np.ndarray, n_levels: int) -> np.ndarray:
    """Inverse of :func:`_dequantized`; values the flow puts outside [-1, 1) go to the nearest level."""
    return np.clip(np.floor((values + 1.0) / 2.0 * n_levels), 0, n_levels - 1).astype(np.int64)

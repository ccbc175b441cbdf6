"""The two reference models shipped with the harness, trained on a release's ``train`` split.

- ``reference:fair`` never sees a protected attribute, clinical ones (age) included, nor a proxy of one:
  the cohort's protected attributes, every schema demographic column, and every column whose normalized
  mutual information with one reaches ``proxy_nmi`` (e.g. support2's numeric ``edu`` behind
  ``education_band``) are left out. Its predictions cannot change on a counterfactual twin.
- ``reference:biased`` is the same model plus a fixed lean (``LEAN`` on the logit or log-risk scale)
  against disadvantaged groups of race (not White), income (< $25k) and insurance (Medicaid,
  uninsured), where the cohort records them; a cohort with none of these leans on its first other
  non-clinical protected attribute (any value but the most common one), and one without any is not biased.

Both are penalized linear models, deterministic given the seed: scikit-learn's logistic regression with
its penalty chosen by 3-fold cross-validation (log loss; an untuned model overfits a task without signal
into too-extreme probabilities), and a lifelines Cox model for survival, on the
:class:`~pipeline.validation.encoding.MixedEncoder` matrix.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from lifelines import CoxPHFitter
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from pipeline.evaluation.data import CohortData
from pipeline.evaluation.tasks import (
    BINARY,
    SURVIVAL,
    Task,
    labels_for,
    model_input,
    survival_outcome,
    task_rows,
)
from pipeline.schema import PROTECTED_COLUMNS
from pipeline.subgroups import subgroup_labels
from pipeline.validation.columns import column_kinds
from pipeline.validation.encoding import MixedEncoder

REFERENCE_MODELS = ("fair", "biased")
LEAN = 0.5  # an odds (hazard) ratio of 1.65: the flip rate catches it, at 1-3 points of AUC (bench/references.py)
DISADVANTAGED = {
    "race": lambda label: label != "White",
    "income_band": lambda label: label in ("<$11k", "$11k-$25k"),
    "insurance": lambda label: label in ("Medicaid", "Uninsured"),
}
WITHHELD_ARMS = ("observation", "none", "no treatment")  # where the biased model pushes a disadvantaged patient
COX_PENALIZER = 0.1
ENCODED_CACHE = 200_000  # encoded rows kept per model before the cache starts over
C_GRID = np.logspace(-3, 1, 5)  # inverse penalties tried by the cross-validation (3 folds)


def _codes(labels: pl.Series) -> np.ndarray:
    """Integer codes of labels (a null is a level of its own)."""
    return labels.cast(pl.String).fill_null("<null>").rank("dense").cast(pl.Int64).to_numpy() - 1


def normalized_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information over the mean of the two entropies (scikit-learn's arithmetic NMI), from integer codes."""
    joint = np.bincount(a * (b.max() + 1) + b, minlength=(a.max() + 1) * (b.max() + 1)).astype(float) / len(a)
    joint = joint.reshape(a.max() + 1, b.max() + 1)
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nonzero = joint > 0
    mutual = float((joint[nonzero] * np.log(joint[nonzero] / np.outer(pa, pb)[nonzero])).sum())
    entropy = (-(pa[pa > 0] * np.log(pa[pa > 0])).sum() - (pb[pb > 0] * np.log(pb[pb > 0])).sum()) / 2
    return mutual / entropy if entropy > 0 else 0.0


def proxy_columns(train: pl.DataFrame, protected: list[str], threshold: float) -> list[str]:
    """Columns whose normalized mutual information with a protected attribute is at least ``threshold``."""
    return list(proxies_of(train, protected, threshold))


def proxies_of(train: pl.DataFrame, protected: list[str], threshold: float) -> dict[str, str]:
    """Each proxy column (see :func:`proxy_columns`) and the first protected attribute it is a proxy of."""
    found = {}
    candidates = [c for c in train.columns if c not in protected and c not in ("patient_id", "cohort")]
    targets = {a: _codes(subgroup_labels(train, a)) for a in protected if a in train.columns}
    for column in candidates:
        if train[column].null_count() == train.height or train[column].n_unique() < 2:
            continue
        codes = _codes(subgroup_labels(train, column))
        attribute = next((a for a, t in targets.items() if normalized_mutual_information(t, codes) >= threshold), None)
        if attribute is not None:
            found[column] = attribute
    return found


def _lean_attributes(data: CohortData) -> list[str]:
    recorded = [a for a in data.invariant if a in data.train.columns and data.train[a].drop_nulls().n_unique() >= 2]
    return [a for a in DISADVANTAGED if a in recorded] or recorded[:1]


class ReferenceModel:
    """A linear model on non-protected, non-proxy columns; ``lean_on`` adds a fixed shift for the biased one."""

    def __init__(self, task: Task, features: list[str], lean_on: list[str], seed: int) -> None:
        self.task, self.features, self.lean_on, self.seed = task, features, lean_on, seed
        self._reference: pl.DataFrame | None = None  # training values of the lean attributes (their bands)
        self.encoder: MixedEncoder | None = None
        self.model: Any = None
        self.keep: np.ndarray | None = None
        self.common: dict[str, str] = {}
        self._encoded: dict[tuple[int, int], np.ndarray] = {}  # (dtypes, row hash) -> encoded row (see _matrix)

    def fit(self, train: pl.DataFrame) -> ReferenceModel:
        self._encoded.clear()
        rows = train[task_rows(self.task, train)]
        x_frame = rows.select(self.features)
        self.encoder = MixedEncoder.fit(column_kinds(x_frame), x_frame)
        x = self.encoder.transform(x_frame)
        self.common = {a: subgroup_labels(train, a).drop_nulls().mode().sort()[0] for a in self.lean_on}
        self._reference = train.select(self.lean_on) if self.lean_on else None
        if self.task.kind == SURVIVAL:
            self.keep = np.flatnonzero(x.std(axis=0) > 0)
            time, event = survival_outcome(rows, self.task)
            frame = pd.DataFrame(x[:, self.keep]).add_prefix("x")
            frame["T"], frame["E"] = np.maximum(time, 1e-3), event
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.model = CoxPHFitter(penalizer=COX_PENALIZER).fit(frame, "T", "E")
        else:
            labels = labels_for(self.task, rows)
            folds = StratifiedKFold(3, shuffle=True, random_state=self.seed)
            self.model = LogisticRegressionCV(Cs=C_GRID, cv=folds, scoring="neg_log_loss", max_iter=2000,
                                              l1_ratios=(0.0,), use_legacy_attributes=False,
                                              random_state=self.seed).fit(x, labels)  # fmt: skip
        return self

    def _shift(self, frame: pd.DataFrame) -> np.ndarray:
        """The lean: +LEAN for every attribute on which the patient falls in a disadvantaged group."""
        shift = np.zeros(len(frame))
        if not self.lean_on:
            return shift
        rows = pl.from_pandas(frame[[a for a in self.lean_on if a in frame.columns]])
        for attribute in self.lean_on:
            if attribute not in rows.columns:
                continue
            labels = subgroup_labels(rows, attribute, self._reference).to_list()
            rule = DISADVANTAGED.get(attribute, lambda label, a=attribute: label != self.common[a])
            shift += LEAN * np.array([label is not None and bool(rule(label)) for label in labels], dtype=float)
        return shift

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The encoded feature rows. The adversarial search and the twins ask for thousands of small frames
        whose feature rows repeat (only protected attributes, which the model does not see, change): rows
        already encoded are looked up by their pandas row hash instead of converted and encoded again."""
        features = frame[self.features]
        if not len(features) or not self.features:
            return self.encoder.transform(pl.from_pandas(features))
        signature = hash(tuple(str(t) for t in features.dtypes))  # 0 and 0.0 hash alike but encode apart
        hashes = [(signature, h) for h in pd.util.hash_pandas_object(features, index=False).to_numpy()]
        if len(self._encoded) > ENCODED_CACHE:  # start over before looking up, never between
            self._encoded.clear()
        new = [i for i, h in enumerate(hashes) if h not in self._encoded]
        if new:
            unique = {hashes[i]: i for i in new}
            encoded = self.encoder.transform(pl.from_pandas(features.iloc[list(unique.values())]))
            self._encoded.update(zip(unique, encoded, strict=True))
        return np.stack([self._encoded[h] for h in hashes])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        logits = self.model.decision_function(self._matrix(frame))
        shift = self._shift(frame)
        if self.task.kind == BINARY:
            p = 1.0 / (1.0 + np.exp(-(logits + shift)))
            return np.column_stack([1.0 - p, p])
        logits = np.array(logits, dtype=float)
        if logits.ndim == 1:  # two arms: scikit-learn gives the second class's log-odds
            logits = np.column_stack([np.zeros_like(logits), logits])
        labels = [str(c) for c in self.model.classes_]
        withheld = next((i for i, c in enumerate(labels) if c.lower() in WITHHELD_ARMS), 0)
        logits[:, withheld] += shift
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        order = [labels.index(c) for c in self.task.classes]
        return probabilities[:, order]

    def predict_risk(self, frame: pd.DataFrame) -> np.ndarray:
        x = pd.DataFrame(self._matrix(frame)[:, self.keep]).add_prefix("x")
        return np.log(self.model.predict_partial_hazard(x).to_numpy()) + self._shift(frame)


def reference_model(kind: str, task: Task, data: CohortData) -> ReferenceModel:
    """``fair`` or ``biased``, trained on ``data.train`` for ``task``."""
    protected = sorted(set(data.protected) | {c for c in PROTECTED_COLUMNS if c in data.train.columns})
    visible = list(model_input(data.train.head(0), task).columns)
    proxies = proxy_columns(data.train, [a for a in protected if a in data.train.columns], data.proxy_nmi)
    features = [c for c in visible if c not in protected and c not in proxies and c != "cohort"]
    features = [c for c in features if data.train[c].null_count() < data.train.height]
    lean = _lean_attributes(data) if kind == "biased" else []
    return ReferenceModel(task, features, lean, data.seed).fit(data.train)

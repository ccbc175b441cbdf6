"""A small release to review: 36 real colon patients and 4 planted implausible ones (a tenth)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.review.ranking import BOTH, LEFT, RIGHT
from pipeline.rules import count_violations, load_rules

PLANTED = 4
PLAUSIBLE = 36


def review_patients() -> pl.DataFrame:
    entry = load_registry().get("colon")
    colon = harmonize_entry(read_raw(entry), entry, salt="t").head(PLAUSIBLE + PLANTED)
    ages = colon["age_at_diagnosis"].to_numpy().astype(float)
    ages[:2] = -5.0  # a negative age
    sex = colon["sex"].cast(pl.String).to_list()
    cancer = colon["primary_cancer_condition"].cast(pl.String).to_list()
    for i in range(2, PLANTED):  # a man with ovarian cancer
        sex[i], cancer[i] = "Male", "OV"
    return colon.with_columns(
        pl.Series("age_at_diagnosis", ages).cast(colon.schema["age_at_diagnosis"]),
        pl.Series("sex", sex).cast(colon.schema["sex"]),
        pl.Series("primary_cancer_condition", cancer).cast(colon.schema["primary_cancer_condition"]),
    )


def make_review_release(root: Path) -> Path:
    """``root/0.9.0``: a release directory whose cohort ``colon`` holds the patients to review."""
    release = root / "0.9.0"
    folder = release / "cohorts" / "colon"
    folder.mkdir(parents=True)
    patients = review_patients()
    patients.head(30).write_parquet(folder / "train.parquet")
    patients.tail(patients.height - 30).write_parquet(folder / "test.parquet")
    (release / "manifest.json").write_text(json.dumps({"release": "0.9.0"}))
    return release


@pytest.fixture(scope="session")
def review_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_review_release(tmp_path_factory.mktemp("releases"))


def planted_ids(patients: pl.DataFrame) -> set[str]:
    violations = count_violations(patients, load_rules())[0].to_numpy()
    return set(patients.filter(pl.Series(violations > 0))["patient_id"])


class SimulatedReviewer:
    """A clinician as a simulation: prefers the patient consistent with the plausibility rules,
    calls both implausible when neither is, has no preference between two consistent ones (a coin),
    and gives the other answer 20% of the time (a preference flipped; a side picked for two
    implausible patients)."""

    def __init__(self, patients: pl.DataFrame, seed: int = 0, noise: float = 0.2) -> None:
        self.implausible = planted_ids(patients)
        self.rng, self.noise = np.random.default_rng(seed), noise

    def choose(self, left: str, right: str) -> str:
        bad_left, bad_right = left in self.implausible, right in self.implausible
        wrong = self.rng.random() < self.noise
        if bad_left and bad_right:
            return str(self.rng.choice([LEFT, RIGHT])) if wrong else BOTH
        if bad_left == bad_right:
            return LEFT if self.rng.random() < 0.5 else RIGHT
        preferred = RIGHT if bad_left else LEFT
        return (RIGHT if preferred == LEFT else LEFT) if wrong else preferred

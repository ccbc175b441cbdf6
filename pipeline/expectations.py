"""Great Expectations 1.x suites: generated from the schema, stored as JSON, run on frames.

GX 1.x validates pandas frames, so polars frames are converted first. The JSON files in
``expectations/`` are committed; ``python -m pipeline.expectations`` rewrites them from the
schema and a test keeps them in sync.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.schema import CORE_COLUMNS
from pipeline.settings import QUIET_ENVIRONMENT, export_environment

EXPECTATIONS_DIR = Path(__file__).resolve().parents[1] / "expectations"
HASHED_ID_PATTERN = r"^[0-9a-f]{20}$"


def _expectation(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {}}


def harmonized_cohort_suite() -> dict[str, Any]:
    """The suite every harmonized (and, later, synthetic) cohort must pass."""
    expectations = [_expectation("expect_column_to_exist", column=c.name) for c in CORE_COLUMNS]
    expectations += [
        _expectation("expect_table_row_count_to_be_between", min_value=1),
        _expectation("expect_column_values_to_be_unique", column="patient_id"),
        _expectation(
            "expect_column_values_to_match_regex",
            column="patient_id",
            regex=HASHED_ID_PATTERN,
        ),
    ]
    for column in CORE_COLUMNS:
        if column.required:
            expectations.append(_expectation("expect_column_values_to_not_be_null", column=column.name))
        if column.categories:
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    column=column.name,
                    value_set=list(column.categories),
                )
            )
        if column.pattern:
            expectations.append(
                _expectation("expect_column_values_to_match_regex", column=column.name, regex=column.pattern)
            )
        if column.name == "vital_status_event":
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    column=column.name,
                    value_set=[0, 1],
                )
            )
        elif column.minimum is not None or column.maximum is not None:
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    column=column.name,
                    min_value=column.minimum,
                    max_value=column.maximum,
                )
            )
    return {
        "name": "harmonized_cohort",
        "expectations": expectations,
        "meta": {"generated_from": "pipeline/schema.py"},
    }


def synthetic_cohort_suite() -> dict[str, Any]:
    """The harmonized suite plus what synthetic rows must also satisfy: one cohort, full outcomes."""
    expectations = harmonized_cohort_suite()["expectations"] + [
        _expectation("expect_table_row_count_to_be_between", min_value=2),
        _expectation("expect_column_unique_value_count_to_be_between", column="cohort", min_value=1, max_value=1),
        _expectation("expect_column_values_to_not_be_null", column="survival_months"),
        _expectation("expect_column_values_to_not_be_null", column="vital_status_event"),
    ]
    return {"name": "synthetic_cohort", "expectations": expectations, "meta": {"generated_from": "pipeline/schema.py"}}


def stress_suite_suite() -> dict[str, Any]:
    """Schema values as in the harmonized suite, plus the stress tags: types, roles, complete pair ids."""
    from pipeline.stress.tags import STRESS_TYPES, TAG_COLUMNS, TWIN_MODES

    expectations = harmonized_cohort_suite()["expectations"]
    expectations += [_expectation("expect_column_to_exist", column=c) for c in TAG_COLUMNS]
    expectations += [
        _expectation("expect_column_values_to_not_be_null", column="stress_type"),
        _expectation("expect_column_values_to_be_in_set", column="stress_type", value_set=list(STRESS_TYPES)),
        _expectation("expect_column_values_to_be_in_set", column="twin_role", value_set=["base", "twin"]),
        _expectation("expect_column_values_to_be_in_set", column="twin_mode", value_set=list(TWIN_MODES)),
    ]
    for column in ("pair_id", "twin_role", "changed_attribute", "twin_mode", "base_patient_id"):
        expectations.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                column=column,
                row_condition='stress_type=="twin"',
                condition_parser="pandas",
            )
        )
    expectations.append(
        _expectation(
            "expect_column_values_to_not_be_null",
            column="stress_cell",
            row_condition='stress_type!="twin"',
            condition_parser="pandas",
        )
    )
    return {"name": "stress_suite", "expectations": expectations, "meta": {"generated_from": "pipeline/schema.py"}}


SUITE_BUILDERS = {
    "harmonized_cohort": harmonized_cohort_suite,
    "synthetic_cohort": synthetic_cohort_suite,
    "stress_suite": stress_suite_suite,
}
SAMPLES_DIR = EXPECTATIONS_DIR / "samples"


@dataclass(frozen=True)
class ValidationOutcome:
    """The result of one suite on one frame, in plain data."""

    suite: str
    success: bool
    evaluated: int
    failures: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        if self.success:
            return f"{self.suite}: all {self.evaluated} expectations passed"
        lines = [f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed"]
        lines += [
            f"  - {f['expectation']} on {f['column']}: {f['unexpected_count']} unexpected, e.g. {f['examples']}"
            for f in self.failures
        ]
        return "\n".join(lines)


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> dict[str, Any]:
    """Read a committed suite."""
    return json.loads((directory / f"{name}.json").read_text())


def validate_frame(frame: pl.DataFrame, suite: dict[str, Any]) -> ValidationOutcome:
    """Run a suite on a polars frame with an ephemeral GX context."""
    export_environment(QUIET_ENVIRONMENT, overwrite=False)
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("frames")
    batch_definition = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.to_pandas()})
    result = batch.validate(ExpectationSuite(**suite))
    failures = [
        {
            "expectation": r.expectation_config.type,
            "column": r.expectation_config.kwargs.get("column", "(table)"),
            "unexpected_count": (r.result or {}).get("unexpected_count", 0),
            "examples": [_plain(v) for v in (r.result or {}).get("partial_unexpected_list", [])[:5]],
        }
        for r in result.results
        if not r.success
    ]
    return ValidationOutcome(
        suite=suite["name"],
        success=bool(result.success),
        evaluated=len(result.results),
        failures=failures,
    )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """(Re)write every generated suite as JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in SUITE_BUILDERS.items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(build(), indent=2) + "\n")
        written.append(path)
    return written


def check_samples(directory: Path = EXPECTATIONS_DIR) -> list[ValidationOutcome]:
    """Validate the committed sample ``samples/<suite>.parquet`` with every suite in ``directory``.

    A suite without a sample counts as a failure, so a new suite cannot skip the CI step.
    """
    outcomes = []
    for suite_path in sorted(directory.glob("*.json")):
        sample = directory / "samples" / f"{suite_path.stem}.parquet"
        if not sample.exists():
            outcomes.append(ValidationOutcome(suite_path.stem, False, 0, [_missing_sample(sample)]))
            continue
        outcomes.append(validate_frame(pl.read_parquet(sample), load_suite(suite_path.stem, directory)))
    return outcomes


def _missing_sample(sample: Path) -> dict[str, Any]:
    return {"expectation": "committed sample", "column": str(sample), "unexpected_count": 1, "examples": "missing"}


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.expectations``: rewrite suites; ``--check-samples``: validate samples (CI)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if "--check-samples" in args:
        outcomes = check_samples()
        for outcome in outcomes:
            print(outcome.describe())
        return 0 if outcomes and all(o.success for o in outcomes) else 1
    for written_path in write_suites():
        print(f"wrote {written_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

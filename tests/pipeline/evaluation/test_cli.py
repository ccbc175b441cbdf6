"""oncobench evaluate and leaderboard: a good model is recorded and audited; bad input exits 2 and records nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import audit
from pipeline.cli import main
from pipeline.evaluation.records import leaderboard
from pipeline.warehouse import Warehouse

MODELS = '''
import numpy as np

class Linear:
    """A model builder's model: trained by the harness on the release's train split."""
    def fit(self, frame, labels):
        from sklearn.linear_model import LogisticRegression
        self.columns = ["age_at_diagnosis"]
        self.model = LogisticRegression().fit(frame[self.columns].fillna(60), labels)
    def predict_proba(self, frame):
        return self.model.predict_proba(frame[self.columns].fillna(60))

class Raises:
    def predict_proba(self, frame):
        if (frame["age_at_diagnosis"] > 70).any():
            raise RuntimeError("cannot score the old")
        return np.full((len(frame), 2), 0.5)

class WrongShape:
    def predict_proba(self, frame):
        return np.full(len(frame), 0.5)

class Nan:
    def predict_proba(self, frame):
        p = np.full((len(frame), 2), 0.5)
        p[4] = np.nan
        return p

class OutOfRange:
    def predict_proba(self, frame):
        p = np.full((len(frame), 2), 0.5)
        p[2] = [-0.5, 1.5]
        return p

class NoMethod:
    def predict(self, frame):
        return np.zeros(len(frame))

class FitRaises:
    def fit(self, frame, labels):
        raise ValueError("bad training data")

    def predict_proba(self, frame):
        return np.full((len(frame), 2), 0.5)
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "builder_models.py"
    path.write_text(MODELS)
    return path


def _evaluate(release: Path, warehouse: Path, model: str, config: Path, *extra: str) -> int:
    return main(["evaluate", str(release), "--model", model, "--task", "mortality_12m", "--warehouse", str(warehouse),
                 "--config", str(config), *extra])  # fmt: skip


def _recorded(warehouse: Path) -> int:
    store = Warehouse(warehouse)
    return store.query("SELECT count(*) AS n FROM evaluations")["n"][0] if "evaluations" in store.tables() else 0


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("Raises", "predict_proba raised at row"),
        ("WrongShape", "returned shape (120,) on 120 rows"),
        ("Nan", "returned NaN or infinity at row 4 (patient_id"),
        ("OutOfRange", "probabilities outside [0, 1] at row 2 (patient_id"),
        ("NoMethod", "has no predict_proba(frame) method"),
        ("FitRaises", "raised while training on the train split of cohort colon: ValueError: bad training data"),
        ("Missing", "has no Missing"),
    ],
)
def test_a_bad_model_exits_2_naming_the_model_and_row_and_records_nothing(
    release_dir: Path, models: Path, fast_config_file: Path, tmp_path: Path, capsys, model: str, message: str
) -> None:
    spec = f"{models}:{model}"
    assert _evaluate(release_dir, tmp_path / "w.duckdb", spec, fast_config_file, "--cohort", "colon",
                     "--out", str(tmp_path / "r.json")) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert (f"model {spec}" in error and message in error and "of the" in error) or message in error
    assert _recorded(tmp_path / "w.duckdb") == 0 and not (tmp_path / "r.json").exists()


def test_raising_model_names_the_first_row_it_cannot_score(release_dir, models, fast_config_file, tmp_path, capsys):
    import polars as pl

    assert _evaluate(release_dir, tmp_path / "w.duckdb", f"{models}:Raises", fast_config_file, "--cohort", "colon") == 2
    error = capsys.readouterr().err
    test = pl.read_parquet(release_dir / "cohorts" / "colon" / "test.parquet")
    from pipeline.evaluation.tasks import cohort_tasks, task_rows

    rows = test[task_rows(cohort_tasks({}, test)["mortality_12m"], test)]
    first = int((rows["age_at_diagnosis"] > 70).arg_true()[0])
    assert f"at row {first} (patient_id {rows['patient_id'][first]}) of the test split of cohort colon" in error


def test_import_failure_unknown_task_cohort_and_tampered_release_exit_2(
    release_dir, fast_config_file, tmp_path, capsys
):
    warehouse = tmp_path / "w.duckdb"
    assert _evaluate(release_dir, warehouse, "no_such_module:Model", fast_config_file) == 2
    assert "model no_such_module:Model: cannot import no_such_module" in capsys.readouterr().err
    assert main(["evaluate", str(release_dir), "--model", "reference:fair", "--task", "relapse",
                 "--warehouse", str(warehouse)]) == 2  # fmt: skip
    assert "has no task 'relapse'; available: mortality_12m, overall_survival, treatment" in capsys.readouterr().err
    assert _evaluate(release_dir, warehouse, "reference:fair", fast_config_file, "--cohort", "rott2") == 2
    assert "has no cohort rott2; available: colon, support2_cancer" in capsys.readouterr().err
    tampered = tmp_path / "0.9.0"
    shutil.copytree(release_dir, tampered)
    test_file = tampered / "cohorts" / "colon" / "test.parquet"
    test_file.write_bytes(test_file.read_bytes()[:-10] + b"0123456789")
    assert _evaluate(tampered, warehouse, "reference:fair", fast_config_file) == 2
    error = capsys.readouterr().err
    assert "does not verify, so nothing was scored" in error and "cohorts/colon/test.parquet" in error
    assert _recorded(warehouse) == 0


def test_a_model_builders_class_is_trained_scored_recorded_audited_and_on_the_leaderboard(
    release_dir, models, fast_config_file, tmp_path, capsys
) -> None:
    warehouse, out, report = tmp_path / "w.duckdb", tmp_path / "result.json", tmp_path / "report"
    spec = f"{models}:Linear"
    assert _evaluate(release_dir, warehouse, spec, fast_config_file, "--cohort", "colon", "--out", str(out),
                     "--report", str(report)) == 0  # fmt: skip
    result = json.loads(out.read_text())
    assert result["model"]["name"] == spec and list(result["cohorts"]) == ["colon"]
    # it only sees age, which is not a protected attribute of colon: no twin flips
    assert all(e["flip_rate"] == 0 for e in result["cohorts"]["colon"]["counterfactual"])
    assert {"report.md", "report.html", "colon_calibration.png", "colon_subgroups.png"} <= {
        p.name for p in report.iterdir()
    }
    assert "## colon" in (report / "report.md").read_text() and "<table>" in (report / "report.html").read_text()
    store = Warehouse(warehouse)
    entries = audit.find_entries(store, "evaluation", f"0.9.0:mortality_12m:{spec}")
    assert len(entries) == 1 and result["model"]["fingerprint"] in entries[0]["payload"]
    assert audit.verify_chain(store) == []
    [energy] = store.query("SELECT * FROM emissions").to_dicts()
    assert energy["run_id"] == f"evaluation:0.9.0:mortality_12m:{spec}" and energy["country"] == "DEU"
    assert energy["stage"] == "evaluation" and energy["partition"] == "0.9.0:mortality_12m" and energy["measured_at"]
    assert energy["kwh"] > 0 and energy["kg_co2e"] > 0 and energy["seconds"] > 0
    capsys.readouterr()
    assert main(["leaderboard", "--warehouse", str(warehouse), "--task", "mortality_12m"]) == 0
    board = capsys.readouterr().out
    assert "colon" in board and "0.9.0" in board and "auc" in board
    assert leaderboard(store, "0.9.0", "mortality_12m")["model"].to_list() == [spec]
    assert leaderboard(store, "0.9.0", "treatment").is_empty()
    before = _recorded(warehouse)
    assert _evaluate(release_dir, warehouse, f"{models}:Nan", fast_config_file, "--cohort", "colon") == 2
    assert _recorded(warehouse) == before

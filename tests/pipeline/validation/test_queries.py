"""The README's leaderboard query is the one in the code, and it answers the question it claims to."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pipeline.validation.metrics import Metric, metrics_frame
from pipeline.validation.queries import LEADERBOARD_SQL
from pipeline.warehouse import Warehouse

README = Path(__file__).resolve().parents[3] / "README.md"


def _normalized(sql: str) -> str:
    return " ".join(sql.replace(";", "").split())


def test_readme_shows_the_leaderboard_query() -> None:
    blocks = re.findall(r"```sql\n-- duckdb data/warehouse.duckdb\n(WITH overall.*?)```", README.read_text(), re.S)
    assert blocks and _normalized(blocks[0]) == _normalized(LEADERBOARD_SQL)


def test_leaderboard_picks_the_most_faithful_and_most_private_passing_synthesizer(tmp_path: Path) -> None:
    def run(synthesizer: str, shapes: float, dcr: float, passed: bool) -> pl.DataFrame:
        metrics = [
            Metric("fidelity", "column_shapes", shapes),
            Metric("fidelity", "pair_trends", shapes),
            Metric("privacy", "dcr_share", dcr),
            Metric("privacy", "mia_auc", 0.5),
        ]
        frame = metrics_frame(metrics, cohort="c", synthesizer=synthesizer, run_id="r")
        return frame.with_columns(
            gate=pl.col("metric") == "dcr_share", passed=pl.lit(passed), blocking=pl.lit(not passed)
        )

    store = Warehouse(tmp_path / "w.duckdb")
    for name, shapes, dcr, passed in (("a", 0.9, 0.51, True), ("b", 0.95, 0.58, True), ("c", 0.99, 0.5, False)):
        store.replace_rows("validation_metrics", run(name, shapes, dcr, passed), {"cohort": "c", "synthesizer": name})
    board = store.query(LEADERBOARD_SQL)
    assert board.select("most_faithful", "most_private").row(0) == ("b", "a")

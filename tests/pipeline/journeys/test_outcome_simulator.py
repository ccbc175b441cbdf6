"""The outcome simulator learned from real journeys (TCGA OV): lines of therapy become its rows, and it fits."""

from __future__ import annotations

from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.simulator import OutcomeSimulator, line_rows
from tests.pipeline.journeys.conftest import SplitStudy


def test_the_simulator_learns_from_real_ov_lines(ov: SplitStudy) -> None:
    table = load_guidelines()
    rows = line_rows(ov.train, ov.lines_of(ov.train), table)
    assert rows.height > 200 and rows["days"].min() > 0 and set(rows["event"].unique()) == {0, 1}
    assert rows["therapy_class"].value_counts()["therapy_class"].to_list()  # several classes
    simulator = OutcomeSimulator.fit(rows)
    assert "chemotherapy" in simulator.classes and len(simulator.classes) >= 2
    outcomes = simulator.outcomes(rows.head(20))
    assert ((outcomes > 0) & (outcomes <= simulator.horizon)).all()

"""The recommender interface: what a recommender is asked, what it answers, and how an answer is checked.

A recommender receives request items, one per patient::

    {"patient_id": "...", "next_line": 2,
     "patient": {<the harmonized record without id, outcomes, stress tags and treatment arm>},
     "lines": [{"line": 1, "regimen": ["carboplatin", "pemetrexed"], "regimen_class": "chemotherapy",
                "start_day": 30, "end_day": 150}]}

and answers, per patient, the therapy for ``next_line`` (1 without a journey)::

    {"patient_id": "...", "therapy_class": "egfr_tki", "agents": ["osimertinib"], "rationale": "..."}

``therapy_class`` is a class of the therapy table; ``agents`` are drug names the journeys' vocabulary
resolves (generic or brand; stored as generic), at least one of them of the class (none for
``best_supportive_care``). Anything else is refused with the patient named. A multi-step recommender (an
agent) may also report its steps, scored one by one: ``"steps": {"biomarkers": [positive biomarkers it
read], "evidence": [ids of the therapy table's indications it relied on]}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.evaluation.errors import EvaluationError
from pipeline.evaluation.tasks import HIDDEN_COLUMNS
from pipeline.journeys.drugs import name_key
from pipeline.recommenders.truth import NO_AGENTS, GuidelineTable
from pipeline.release.tasks import JOURNEY_COLUMNS

# the arm given is what is recommended; a recommender sees the journey so far as lines, never the second
# line's class (the evaluation puts the journey columns on patient rows for the next_line task)
NOT_SHOWN = (*HIDDEN_COLUMNS, *JOURNEY_COLUMNS, "cohort", "cancer_related_medication")
LINE_FIELDS = ("line", "regimen", "regimen_class", "start_day", "end_day")
MAX_RATIONALE = 2000
STEP_KEYS = ("biomarkers", "evidence")  # what an agent may report of its steps


class RecommenderError(EvaluationError):
    """A recommender that cannot be reached or loaded, or whose answer is refused; names the recommender and
    the first failing patient. The CLI exits 2 and nothing is written or recorded."""


@dataclass(frozen=True)
class Recommendation:
    """One checked answer."""

    patient_id: str
    therapy_class: str
    agents: tuple[str, ...]
    rationale: str | None = None
    steps: Mapping[str, tuple[str, ...]] | None = None  # an agent's intermediate answers (see the module)

    @property
    def key(self) -> str:
        """The recommendation as one comparable label, e.g. ``egfr_tki: osimertinib``."""
        return f"{self.therapy_class}: {'+'.join(sorted(self.agents)) or '-'}"

    def as_dict(self) -> dict[str, Any]:
        answer = {"patient_id": self.patient_id, "therapy_class": self.therapy_class, "agents": list(self.agents)}
        if self.rationale is not None:
            answer["rationale"] = self.rationale
        if self.steps is not None:
            answer["steps"] = {k: list(v) for k, v in self.steps.items()}
        return answer


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _journeys(lines: pl.DataFrame | None, ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    if lines is None or lines.is_empty():
        return {}
    rows = lines.filter(pl.col("patient_id").is_in(list(ids))).sort("patient_id", "line")
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows.select([c for c in LINE_FIELDS if c in rows.columns] + ["patient_id"]).iter_rows(named=True):
        entry = {k: _plain(v) for k, v in row.items() if k != "patient_id"}
        entry["regimen"] = [a for a in str(entry.get("regimen") or "").split("+") if a]
        found.setdefault(str(row["patient_id"]), []).append(entry)
    return found


def items(frame: pl.DataFrame, lines: pl.DataFrame | None = None) -> list[dict[str, Any]]:
    """One request item per row of ``frame`` (a stress twin takes the journey of its base patient)."""
    bases = frame["base_patient_id"].to_list() if "base_patient_id" in frame.columns else [None] * frame.height
    ids = [str(i) for i in frame["patient_id"].to_list()]
    journeys = _journeys(lines, set(ids) | {str(b) for b in bases if b is not None})
    shown = frame.drop([c for c in NOT_SHOWN if c in frame.columns])
    result = []
    for pid, base, record in zip(ids, bases, shown.iter_rows(named=True), strict=True):
        journey = journeys.get(pid) or journeys.get(str(base), [])
        next_line = max((int(e["line"]) for e in journey), default=0) + 1
        result.append({"patient_id": pid, "next_line": next_line,
                       "patient": {k: _plain(v) for k, v in record.items()}, "lines": journey})  # fmt: skip
    return result


def parse_answer(raw: Any, patient_id: str, table: GuidelineTable) -> Recommendation:
    """The checked answer for ``patient_id``; a ValueError says what is wrong with it."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"the answer is not a JSON object: {str(raw)[:120]!r}")
    if str(raw.get("patient_id")) != patient_id:
        raise ValueError(f"the answer names patient {raw.get('patient_id')!r}")
    therapy = raw.get("therapy_class")
    if therapy not in table.classes:
        raise ValueError(f"therapy_class {therapy!r} is not in the therapy table; known: {sorted(table.classes)}")
    agents = raw.get("agents")
    if not isinstance(agents, Sequence) or isinstance(agents, str) or not all(isinstance(a, str) for a in agents):
        raise ValueError(f"agents must be a list of drug names, got {agents!r}")
    index = table.vocabulary.index
    unknown = [a for a in agents if name_key(a) not in index]
    if unknown:
        raise ValueError(f"agents {unknown} are not in the drug vocabulary")
    generic = tuple(dict.fromkeys(index[name_key(a)] for a in agents))
    members = table.classes[therapy]
    if members.agent_class == NO_AGENTS and generic:
        raise ValueError(f"{therapy} takes no agents, got {list(generic)}")
    if members.agent_class != NO_AGENTS and not set(generic) & set(members.agents):
        raise ValueError(f"therapy_class {therapy} but no agent of it among {list(generic)}")
    rationale = raw.get("rationale")
    if rationale is not None and not isinstance(rationale, str):
        raise ValueError(f"rationale must be text, got {type(rationale).__name__}")
    rationale = None if rationale is None else rationale[:MAX_RATIONALE]
    return Recommendation(patient_id, str(therapy), generic, rationale, _steps(raw.get("steps")))


def _steps(raw: Any) -> dict[str, tuple[str, ...]] | None:
    """An agent's ``steps`` (lists of names under ``STEP_KEYS``); a ValueError for any other shape."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - set(STEP_KEYS):
        raise ValueError(f"steps must be an object with keys among {list(STEP_KEYS)}, got {str(raw)[:120]!r}")
    steps = {}
    for key, names in raw.items():
        if not isinstance(names, Sequence) or isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"steps.{key} must be a list of names, got {names!r}")
        steps[key] = tuple(names)
    return steps

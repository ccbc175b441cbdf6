"""Adapters: a Python object, a command (JSON lines) and an HTTP endpoint give the same checked answers; a bad
answer, a crash, a timeout or an HTTP error names the first failing patient; retries and the cache work."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from pipeline.recommenders.adapters import CallOptions, load_recommender, recommend
from pipeline.recommenders.cache import AnswerCache
from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.interface import RecommenderError
from pipeline.recommenders.references import GuidelineReference
from pipeline.recommenders.serve import serving
from pipeline.warehouse import Warehouse
from tests.pipeline.recommenders.conftest import answers, endpoint, item

TABLE = load_guidelines()
FAST = CallOptions(timeout=0.5, concurrency=3, retries=1, batch_size=2, backoff=0.01)
ITEMS = [item(f"p{i}", "LUAD", egfr=i % 3 == 0, alk=i % 3 == 1) for i in range(12)]
EXPECTED = [GuidelineReference(TABLE).answer(e)["therapy_class"] for e in ITEMS]

RECOMMENDERS = '''
class Echo:
    """Chemotherapy for everyone, brand names accepted."""
    def recommend(self, patients):
        return [{"patient_id": p["patient_id"], "therapy_class": "chemotherapy", "agents": ["Paraplatin"]}
                for p in patients]

class FailsOn:
    def recommend(self, patients):
        if any(p["patient_id"] == "p7" for p in patients):
            raise RuntimeError("cannot read this record")
        return Echo().recommend(patients)
'''

COMMAND = """
import json, sys, time
mode = sys.argv[1]
items = [json.loads(line) for line in sys.stdin]
if mode == "sleep":
    time.sleep(5)
for i, p in enumerate(reversed(items) if mode == "ok" else items):  # answers in any order
    if mode == "garbage" and p["patient_id"] == "p3":
        print("{not json", flush=True)
        continue
    if mode == "dies" and i == 2:
        sys.exit(3)
    print(json.dumps({"patient_id": p["patient_id"], "therapy_class": "chemotherapy", "agents": ["cisplatin"]}),
          flush=True)
"""


def _classes(result) -> list[str]:
    return [r.therapy_class for r in result.recommendations]


def test_a_python_object_a_reference_and_a_served_reference_agree(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(RECOMMENDERS)
    mine = recommend(load_recommender(f"{path}:Echo"), ITEMS, TABLE, FAST)
    assert _classes(mine) == ["chemotherapy"] * len(ITEMS) and mine.recommendations[0].agents == ("carboplatin",)
    assert _classes(recommend(load_recommender("reference:guideline"), ITEMS, TABLE, FAST)) == EXPECTED
    with serving(GuidelineReference(TABLE)) as url:
        served = recommend(load_recommender(url), ITEMS, TABLE, FAST)
    assert _classes(served) == EXPECTED and served.calls == len(ITEMS) // FAST.batch_size
    assert [r.patient_id for r in served.recommendations] == [e["patient_id"] for e in ITEMS]


def test_a_python_object_that_raises_names_the_patient(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(RECOMMENDERS)
    with pytest.raises(RecommenderError, match=r"patient p7 of cohort x: recommend raised RuntimeError"):
        recommend(load_recommender(f"{path}:FailsOn"), ITEMS, TABLE, FAST, where=" of cohort x")
    with pytest.raises(RecommenderError, match="cannot load it"):
        load_recommender(f"{path}:Missing")
    with pytest.raises(RecommenderError, match="unknown reference"):
        load_recommender("reference:oracle")


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("ok", None),
        ("garbage", r"patient p3: answer line \d+ is not JSON"),
        ("dies", r"patient p2: the command ended \(exit status 3\) after 2 of 4 answers \(after 2 attempts\)"),
        ("sleep", r"patient p0: no answer line within 0.5 s \(after 2 attempts\)"),
    ],
)
def test_a_command_speaks_json_lines(tmp_path: Path, mode: str, message: str | None) -> None:
    script = tmp_path / "agent.py"
    script.write_text(COMMAND)
    recommender = load_recommender(f"cmd:{sys.executable} {script} {mode}")
    shards = ITEMS[:8]  # concurrency 3: shards of 3, 3 and 2 patients; p0-p3 in the first two
    if message is None:
        assert _classes(recommend(recommender, shards, TABLE, FAST)) == ["chemotherapy"] * 8
        return
    with pytest.raises(RecommenderError, match=message):
        recommend(recommender, shards, TABLE, CallOptions(timeout=0.5, concurrency=2, retries=1, backoff=0.01))


def _only(pid: str, status: int, body: bytes):
    """Well-formed answers, except a batch holding ``pid`` gets ``status`` and ``body``."""
    return lambda patients: (
        (status, body) if any(p["patient_id"] == pid for p in patients) else (200, answers(patients))
    )


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (lambda ps: (200, b"<html>not json</html>"), r"patient p0: the response is not JSON"),
        (lambda ps: (200, b'[{"patient_id": "p0"}]'), r'patient p0: the response is not \{"recommendations"'),
        (lambda ps: (500, b"boom"), r"patient p0: HTTP 500 Internal Server Error: boom \(after 2 attempts\)"),
        (lambda ps: (404, b"no such path"), r"patient p0: HTTP 404 Not Found: no such path; nothing"),
        (lambda ps: (200, answers([p for p in ps if p["patient_id"] != "p5"])), r"patient p5: no answer for this"),
        (lambda ps: (200, answers([*ps, *ps])), r"patient p0: two answers for this patient"),
        (lambda ps: (200, answers(ps, "homeopathy")), r"patient p0: therapy_class 'homeopathy' is not in the therapy"),
        (lambda ps: (200, answers(ps, "chemotherapy", ("snake oil",))), r"agents \['snake oil'\] are not in the drug"),
        (lambda ps: (200, answers(ps, "egfr_tki", ("carboplatin",))), r"therapy_class egfr_tki but no agent of it"),
        (lambda ps: (200, answers(ps, "best_supportive_care", ("carboplatin",))), r"takes no agents"),
    ],
)
def test_a_malformed_endpoint_names_the_first_failing_patient(behaviour, message: str) -> None:
    with endpoint(behaviour) as (url, _), pytest.raises(RecommenderError, match=message) as raised:
        recommend(load_recommender(url), ITEMS, TABLE, FAST)
    assert str(raised.value).endswith("; nothing was scored or recorded")


def test_the_first_failing_patient_in_request_order_is_named() -> None:
    def behaviour(patients):
        if any(p["patient_id"] == "p9" for p in patients):
            return 500, b"down"
        if any(p["patient_id"] == "p4" for p in patients):
            time.sleep(0.2)  # fails after p9's batch did
            body = json.loads(answers(patients))
            body["recommendations"][0]["therapy_class"] = "unknown"
            return 200, json.dumps(body).encode()
        return 200, answers(patients)

    with endpoint(behaviour) as (url, _), pytest.raises(RecommenderError, match="patient p4: therapy_class 'unknown'"):
        recommend(load_recommender(url), ITEMS, TABLE, FAST)


def test_timeouts_and_transient_errors_are_retried() -> None:
    calls: list[int] = []

    def flaky(patients):
        calls.append(1)
        if len(calls) == 1:
            return 503, b"busy"
        if len(calls) == 2:
            time.sleep(0.8)  # beyond the 0.5 s timeout
        return 200, answers(patients)

    options = CallOptions(timeout=0.5, concurrency=1, retries=2, batch_size=len(ITEMS), backoff=0.01)
    with endpoint(flaky) as (url, _):
        result = recommend(load_recommender(url), ITEMS, TABLE, options)
    assert len(result.recommendations) == len(ITEMS) and len(calls) == 3
    with endpoint(lambda ps: (200, answers(ps))) as (url, _):
        pass  # closed: nothing listens any more
    with pytest.raises(RecommenderError, match=r"patient p0: ConnectionRefusedError"):
        recommend(load_recommender(url), ITEMS, TABLE, FAST)


def test_answers_are_cached_by_fingerprint_and_patient(tmp_path: Path) -> None:
    cache = AnswerCache(Warehouse(tmp_path / "w.duckdb"))
    with endpoint(lambda ps: (200, answers(ps))) as (url, received):
        recommender = load_recommender(url)
        first = recommend(recommender, ITEMS, TABLE, FAST, cache)
        assert first.asked == len(ITEMS) and sum(received) == len(ITEMS)
        cache.save(recommender.fingerprint, first.new)
        changed = [*ITEMS[:-1], item("p11", "LUAD", egfr=True, line=2)]  # one patient's record changed
        again = recommend(recommender, changed, TABLE, FAST, cache)
    assert (again.cached, again.asked, sum(received)) == (len(ITEMS) - 1, 1, len(ITEMS) + 1)
    assert _classes(again) == _classes(first)
    other = recommend(load_recommender("reference:guideline"), ITEMS, TABLE, FAST, cache)
    assert other.cached == 0  # another fingerprint

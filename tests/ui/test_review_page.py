"""The clinician review page in a real browser (Debian's Chromium): a simulated reviewer judges 300
pairs with the keyboard; planted implausible patients sink; judgements survive a restart; two
reviewers at once lose nothing; bad input is refused without a traceback."""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from pipeline.review.app import create_app, load_pool
from pipeline.warehouse import Warehouse
from tests.pipeline.review.conftest import PLANTED, SimulatedReviewer, make_review_release

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "review_page.png"
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (`apt-get install -y chromium`): browser test skipped", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: `pip install -e '.[dev]'`")
pytestmark = [pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(release: Path, store: Warehouse) -> Iterator[str]:
    """The review application of ``release``'s colon on a free port, served in this process by uvicorn."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(load_pool(release, "colon"), store), port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline, "the review server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_review_session_in_the_browser(tmp_path: Path) -> None:
    release, store = make_review_release(tmp_path), Warehouse(tmp_path / "warehouse.duckdb")
    import polars as pl

    patients = pl.concat([pl.read_parquet(release / "cohorts" / "colon" / f"{s}.parquet") for s in ("train", "test")])
    reviewer = SimulatedReviewer(patients, seed=0)
    keys = {"left": "ArrowLeft", "right": "ArrowRight", "both_implausible": "ArrowDown"}
    with serving(release, store) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url)
        page.fill("#reviewer", "<b>dr</b>")  # markup in a reviewer id: refused, said on the page
        page.click("#begin")
        sync_api.expect(page.locator("#error")).to_contain_text("reviewer id")
        page.fill("#reviewer", "dr_a")
        page.click("#begin")
        for done in range(300):
            sync_api.expect(page.locator(f'#review[data-judged="{done}"]')).to_have_count(1)
            left = page.get_attribute("#left", "data-patient")
            right = page.get_attribute("#right", "data-patient")
            page.keyboard.press(keys[reviewer.choose(left, right)])
        sync_api.expect(page.locator("#count")).to_have_text("300")
        if os.environ.get("ONCOBENCH_SCREENSHOTS"):  # the README's picture
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert page.locator("#error").inner_text() == ""
        browser.close()
        summary = _get(f"{url}/api/scores")

        pair = _get(f"{url}/api/pair?reviewer=dr_b")
        tampered = {"reviewer": "dr_b", "left": pair["left"]["id"], "right": pair["right"]["id"], "choice": "left",
                    "token": "0" * 32}  # fmt: skip
        status, body = _post(f"{url}/api/judgements", tampered)
        assert status == 400 and "not served by this review" in body["detail"]
        status, body = _post(f"{url}/api/judgements", {**tampered, "token": pair["token"], "choice": "maybe"})
        assert status == 400 and "choice must be one of" in body["detail"]

    assert summary["judgements"] == 300 and summary["reviewers"] == 1
    ranking = summary["ranking"]
    bottom = {row["patient_id"] for row in ranking[: math.ceil(len(ranking) / 10)]}
    assert len(reviewer.implausible & bottom) >= PLANTED - 1  # measured over 8 reviewers: 29 of 32 (test_ranking)
    assert summary["split_half_reliability"] is not None
    assert any("OV" in rule["rule"] or "age_at_diagnosis <" in rule["rule"] for rule in summary["candidate_rules"])

    with serving(release, store) as url:  # a restart: the session is still there; two reviewers at once
        assert _get(f"{url}/api/scores")["judgements"] == 300

        def judge(name: str) -> None:
            for _ in range(20):
                pair = _get(f"{url}/api/pair?reviewer={name}")
                body = {"reviewer": name, "left": pair["left"]["id"], "right": pair["right"]["id"], "choice": "left",
                        "token": pair["token"]}  # fmt: skip
                assert _post(f"{url}/api/judgements", body)[0] == 201

        threads = [threading.Thread(target=judge, args=(name,)) for name in ("dr_b", "dr_c")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = _get(f"{url}/api/scores")
    assert after["judgements"] == 340 and after["reviewers"] == 3

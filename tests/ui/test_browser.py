"""The Dagster UI, driven in a real browser (Debian's Chromium) over a small world of real runs.

Two cohorts are ingested, synthesized (fast profile), validated, stress-tested and released, and the
fair reference model is scored on the release, as one backfill over the asset graph launched through
the workspace into a temporary Dagster instance whose daemon orders and runs it, as `make demo` does.
colon meets a gate it cannot pass and is withheld; rott2 passes the world's one privacy gate and is
released. Then `dagster-webserver` serves that instance and the test looks at what a user must see:
the lineage with every asset, the runs in their backfill, the failed gate as a failed check on its
partition with the run succeeded, a plot, and the three answers a researcher comes for: which cohorts
were released and why the others were withheld (the release page), how private each one is (its
privacy column), and which model passes (the leaderboard's verdict table). The release page and the
leaderboard are photographed for the README (``docs/screenshots``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from pipeline.settings import quiet_environment
from pipeline.validation.gates import DEFAULT_CONFIG
from tests.assets.conftest import FAST_SYNTHESIS

CHROMIUM = Path("/usr/bin/chromium")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
COHORT, SYNTHESIZER = "colon", "flow"
RELEASED = "rott2"  # passes the world's gates: the release holds it, the leaderboard scores it
MODEL_PARTITION = f"{COHORT}|{SYNTHESIZER}"
PARTITIONS = (COHORT, MODEL_PARTITION, RELEASED, f"{RELEASED}|{SYNTHESIZER}")
MODEL = "reference_fair"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
SYNTHESIS_CONFIG = {"ops": {name: {"config": FAST_SYNTHESIS} for name in ("synthesizer_model", "synthetic_cohort")}}
IMPOSSIBLE_GATE = {"family": "fidelity", "metric": "c2st_auc", "max": 0.01}
TIMEOUT_MS = 60_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (`apt-get install -y chromium`): browser test skipped", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: `pip install -e '.[dev]'` to run the browser test"
)
sync_api.expect.set_options(timeout=TIMEOUT_MS)
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@dataclass(frozen=True)
class World:
    url: str
    backfill_id: str
    runs: dict[str, object]  # stage (asset group) -> the RunOutcome of the run that materialized it
    asset_keys: tuple[str, ...]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _failing_validation_config(path: Path) -> Path:
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["settings"].update(anonymeter_attacks=0, noise_floor=False)  # faster; the gate is what is looked at
    # a fast synthesizer of 300 rows meets few fidelity bounds: the world keeps one privacy gate (no copied
    # patient key) that rott2's synthetic rows pass, and colon's impossible one, so one cohort is released
    config["gates"] = [g for g in config["gates"] if g["metric"] == "identifier_copy_excess"]
    config["cohort_gates"] = {COHORT: [IMPOSSIBLE_GATE]}
    path.write_text(yaml.safe_dump(config))
    return path


def _world_registry(path: Path) -> Path:
    """The project's cohort registry with the world's two cohorts: the release reads every registered one."""
    registry = yaml.safe_load((PROJECT_ROOT / "config" / "cohorts.yaml").read_text())
    registry["cohorts"] = {name: registry["cohorts"][name] for name in (COHORT, RELEASED)}
    path.write_text(yaml.safe_dump(registry))
    return path


def _world_release_config(path: Path) -> Path:
    """The project's release settings with tasks a 300-row synthetic cohort can hold (10 test events)."""
    config = yaml.safe_load((PROJECT_ROOT / "config" / "release.yaml").read_text())
    config["tasks"]["min_events"] = 10
    config["dvc_track"] = False
    path.write_text(yaml.safe_dump(config))
    return path


def _wait_for_webserver(url: str, process: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"dagster-webserver did not answer within {seconds}s:\n{log.read_text()[-3000:]}")


def _run_lineage(tmp: Path) -> tuple[str, dict[str, object], tuple[str, ...]]:
    """Ingest, synthesize, validate, stress, release and score (the fair reference) colon and rott2 as one
    backfill through the workspace, as `make demo` does: the daemon orders the runs by the asset graph and
    drains the queue.

    Returns the backfill id, the outcome of the run of each stage, and every asset key.
    """
    import dagster as dg

    from runner.launch import daemon, launcher

    def keep(group: str, partition: str | None) -> bool:
        if group == "evaluation":
            return partition in (None, MODEL)  # the fair reference and the leaderboard; no recommender
        return group == "release" or partition in PARTITIONS

    with dg.DagsterInstance.get() as instance, daemon(tmp / "daemon.log"), launcher(instance) as launch:
        backfill_id = launch.backfill(keep, run_config=SYNTHESIS_CONFIG, title="browser test")
        finished = launch.wait_backfill(backfill_id)
        outcomes = {stage: outcome for outcome in finished for stage in outcome.stages  # colon's, and the release's
                    if outcome.partition in (COHORT, MODEL_PARTITION, MODEL, None)}  # fmt: skip
        status = launch.backfill_status(backfill_id)
        keys = launch.repository.asset_graph.get_all_asset_keys()
    assert status.value == "COMPLETED_SUCCESS", f"backfill {status}; daemon log: {tmp / 'daemon.log'}"
    assert {"ingestion", "synthesis", "validation", "release", "evaluation"} <= set(outcomes), outcomes
    return backfill_id, outcomes, tuple(sorted(key.to_user_string() for key in keys))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A temporary instance (the project's dagster.yaml, one run at a time) and data directory, filled with
    real runs and served by dagster-webserver on a free port."""
    tmp = tmp_path_factory.mktemp("ui")
    home = tmp / "dagster_home"
    home.mkdir()
    instance = (PROJECT_ROOT / "config" / "dagster.yaml").read_text()  # one run at a time, as `make setup` writes it
    (home / "dagster.yaml").write_text(instance.replace("max_concurrent_runs: 2", "max_concurrent_runs: 1"))
    environment = {
        "DAGSTER_HOME": str(home),
        "ONCOBENCH_DATA_DIR": str(tmp / "data"),
        "ONCOBENCH_VALIDATION": str(_failing_validation_config(tmp / "validation.yaml")),
        "ONCOBENCH_RELEASE": str(_world_release_config(tmp / "release.yaml")),
        "ONCOBENCH_REGISTRY": str(_world_registry(tmp / "cohorts.yaml")),
        "ONCOBENCH_SYNTHESIZERS": SYNTHESIZER,
        "ONCOBENCH_REPO": str(tmp),  # not a DVC repository: the release is written, not tracked
        "ONCOBENCH_CONCURRENT_RUNS": "1",
        "GX_ANALYTICS_ENABLED": "False",
    }
    port, log = _free_port(), tmp / "webserver.log"
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        command = [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml"]
        with log.open("wb") as out:  # started first: it loads the code location while the runs run
            server = subprocess.Popen(
                [*command, "-h", "127.0.0.1", "-p", str(port)],
                cwd=PROJECT_ROOT, env=quiet_environment(), stdout=out, stderr=subprocess.STDOUT,  # no telemetry
            )  # fmt: skip
        try:
            backfill_id, runs, asset_keys = _run_lineage(tmp)
            _wait_for_webserver(url, server, log)
            yield World(url, backfill_id, runs, asset_keys)
        finally:
            from runner.launch import stop

            stop(server, seconds=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, world: World) -> Iterator[object]:
    context = browser.new_context(base_url=world.url, viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    community = page.get_by_text("Join the Dagster community")  # a first-visit dialog over any page
    page.add_locator_handler(community, lambda: page.get_by_role("button", name="Skip").click())
    yield page
    context.close()


def _run_row(page, run_id: str):
    """The innermost block of the page holding the run's link and a status: its row in a runs list."""
    link = page.locator(f'a[href$="/runs/{run_id}"]')
    sync_api.expect(link.first).to_be_visible()
    return page.locator("div").filter(has=link).filter(has_text=re.compile("Success|Failure|Canceled")).last


def test_the_lineage_shows_every_asset(page, world: World) -> None:
    page.goto("/asset-groups")
    page.get_by_text("Global asset lineage").wait_for()
    graph = page.locator("foreignObject")
    graph.get_by_text("validation", exact=True).first.wait_for()
    page.keyboard.press("Alt+e")  # the graph's "Expand all groups"
    for key in world.asset_keys:
        sync_api.expect(graph.get_by_text(key, exact=True).first).to_be_visible()


def test_every_run_is_listed_in_its_backfill_and_succeeded(page, world: World) -> None:
    for outcome in world.runs.values():
        page.goto(f"/runs/b/{world.backfill_id}?tab=runs")  # the backfill's page, with each of its runs
        row = _run_row(page, outcome.run_id)
        if outcome.partition:  # the release and the leaderboard read every partition: they have none
            sync_api.expect(row).to_contain_text(outcome.partition)
        sync_api.expect(row).to_contain_text("Success")


def test_a_failed_gate_is_a_failed_check_on_its_partition(page, world: World) -> None:
    assert world.runs["validation"].failed_checks == ("passes_release_gates",)
    page.goto("/assets/validation_metrics?view=checks&checkDetail=passes_release_gates")
    page.get_by_text("Execution history", exact=True).click()
    row = page.get_by_role("row").filter(has_text=MODEL_PARTITION)
    sync_api.expect(row).to_have_count(1)
    sync_api.expect(row).to_contain_text("Failed")
    sync_api.expect(row).to_contain_text("fidelity.c2st_auc")  # the gate that failed, with its bound
    sync_api.expect(row).to_contain_text("must be <= 0.01")


def test_a_plot_is_rendered_on_the_asset_page(page, world: World) -> None:
    page.goto(f"/assets/validation_metrics?view=partitions&partition={quote(MODEL_PARTITION)}")
    page.get_by_text("kaplan_meier", exact=True).first.wait_for()
    image = page.locator('img[src^="data:image/png"]').first
    if not image.count():
        page.get_by_role("row").filter(has_text="kaplan_meier").get_by_text("[Show Markdown]").click()
    sync_api.expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100")


def _metadata_entry(page, label: str):
    """The row of the asset page's metadata table whose label is ``label`` (a cell of that name; a table
    inside a value names its columns in header cells)."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=label, exact=True)).first


def _photograph(page, name: str, where: Path) -> None:
    """The page as a user scrolls it (the metadata lives in an inner scroll area), 1600 px wide, into ``where``;
    into the README's ``docs/screenshots`` only with ONCOBENCH_SCREENSHOTS set (a test run leaves the tree clean)."""
    folder = SCREENSHOTS if os.environ.get("ONCOBENCH_SCREENSHOTS") else where
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1600, "height": 2000})
    page.screenshot(path=str(folder / name))
    assert (folder / name).stat().st_size > 10_000


def test_the_release_page_says_what_was_released_what_was_withheld_and_why(page, world: World, tmp_path) -> None:
    page.goto("/assets/benchmark_release")
    withheld = _metadata_entry(page, "withheld")
    sync_api.expect(withheld).to_contain_text(COHORT)
    sync_api.expect(withheld).to_contain_text("fidelity.c2st_auc")  # the gate that withheld it
    sync_api.expect(_metadata_entry(page, "released")).to_contain_text(RELEASED)
    privacy = _metadata_entry(page, "privacy").get_by_role("row").filter(has_text=RELEASED)  # its row of the table
    sync_api.expect(privacy).to_contain_text(re.compile(r"(pass|fail|inconclusive)\s*0\.\d+\s*0\.\d+"))
    sync_api.expect(_metadata_entry(page, "datasheet")).to_contain_text("datasheet.html")
    _photograph(page, "release_page.png", tmp_path)


def test_the_leaderboard_gives_each_models_verdict(page, world: World, tmp_path) -> None:
    page.goto("/assets/leaderboard")
    verdicts = _metadata_entry(page, "verdicts").get_by_role("row").filter(has_text=RELEASED)
    sync_api.expect(verdicts.first).to_be_visible()
    for row in verdicts.all():  # model, cohort, task, verdict, findings, score: the verdict where a user looks
        cells = [cell.strip() for cell in row.inner_text().split("\t")]
        assert cells[0] == "reference:fair" and cells[1] == RELEASED, cells
        assert cells[3] in ("pass", "fail", "inconclusive", "not applicable"), cells
        assert re.fullmatch(r"\d+/\d+/\d+", cells[4]) and re.match(r"(auc|c_index) 0\.\d{3} \[", cells[5]), cells
    sync_api.expect(_metadata_entry(page, "failing_models")).to_be_visible()
    _photograph(page, "leaderboard.png", tmp_path)

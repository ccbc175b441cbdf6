"""The release stage: build, record, audit, DVC add and push as one journaled commit that rolls forward.

:func:`publish_release` is the one home of the release stage (the ``benchmark_release`` asset
and ``make demo`` only add I/O and printing). Steps run in order and each is written to the
journal once its effect is in place. A run killed at any point is completed by the next call
for the same version: an existing, verifying release folder is kept as built (releases are
frozen) and only the missing steps run; steps whose effect may already exist are checked
against the real state first (the audit entry is never appended twice), the others are
idempotent. A failing step raises a :class:`ReleaseError` naming the done and remaining steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from pipeline import audit
from pipeline.cohorts.records import ingest_summaries
from pipeline.energy import lineage_energy
from pipeline.release.build import CohortCandidate, ReleaseOptions, build_release
from pipeline.release.dvc import dvc_add, dvc_push, is_dvc_repo, publish_commands
from pipeline.release.journal import LOCAL_STEPS, STEPS, Journal, journal_dir
from pipeline.release.manifest import ReleaseError, check_version
from pipeline.release.records import record_release
from pipeline.release.verify import load_manifest, verify_release
from pipeline.review.feedback import earlier_reviews
from pipeline.warehouse import Warehouse

StepHook = Callable[[str], None]


@dataclass
class PublishReport:
    """What a publish call found and did."""

    version: str
    path: Path
    manifest_sha256: str
    plan: list[str]
    completed_now: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    existed: bool = False
    next_steps: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return set(self.plan) <= set(self.completed_now) | set(self.already_done)

    def summary(self) -> str:
        if not self.existed:
            return f"release {self.version} written to {self.path} and committed ({', '.join(self.completed_now)})"
        if self.completed_now:
            return (f"release {self.version} existed at {self.path} (kept as built); completed the missing steps: "
                    f"{', '.join(self.completed_now)}")  # fmt: skip
        return (f"release {self.version} is already published at {self.path}; nothing to do "
                "(releases are frozen: bump the version to release changed inputs)")  # fmt: skip


def plan_for(root: Path, repo: Path | None, track: bool) -> tuple[list[str], Path | None]:
    """The steps to run, and the DVC repository when the release is tracked."""
    inside = repo is not None and Path(root).resolve().is_relative_to(Path(repo).resolve())
    if track and repo is not None and is_dvc_repo(Path(repo)) and inside:
        return list(STEPS), Path(repo)
    return list(LOCAL_STEPS), None


def _audited(store: Warehouse, version: str, manifest_sha256: str) -> bool:
    return any(manifest_sha256 in entry["payload"] for entry in audit.find_entries(store, "release", version))


def _existing(final: Path, journal: Journal | None) -> str:
    """The manifest sha256 of an existing release folder once it verifies; else a ReleaseError."""
    expected = journal.manifest_sha256 if journal else None
    problems = verify_release(final, expected, f"journal {journal.path}" if journal else "")
    if problems:
        raise ReleaseError(
            f"release {final.name} exists at {final} but does not verify, so it is not published further: "
            + "; ".join(problems)
        )
    return load_manifest(final).sha256


def publish_release(
    root: Path,
    candidates: list[CohortCandidate],
    options: ReleaseOptions,
    *,
    store: Warehouse,
    repo: Path | None = None,
    track: bool = True,
    after_step: StepHook | None = None,
) -> PublishReport:
    """Write, record, audit and (in a DVC repository ``repo``) track and push release ``options.version``.

    ``after_step(step)`` runs after each step's effect and before the journal records it (tests
    use it to simulate a crash at every point).
    """
    version = check_version(options.version)
    root = Path(root)
    plan, dvc_repo = plan_for(root, repo, track)
    with FileLock(str(journal_dir(root) / f"{version}.lock")):
        journal = Journal.load(root, version)
        final = root / version
        existed = final.exists()
        if existed:
            sha = _existing(final, journal)
            journal = journal or Journal.start(root, version, plan)
        elif journal is not None and "build" in journal.done:
            raise ReleaseError(
                f"release {version} was built ({journal.path}) but {final} is missing: restore it "
                f"(e.g. `dvc checkout {final}.dvc`) or remove the journal to build it again"
            )
        else:
            journal = journal or Journal.start(root, version, plan)
        journal.plan_also(plan)
        report = PublishReport(version, final, "", list(journal.plan), existed=existed,
                               already_done=[s for s in journal.plan if s in journal.done])  # fmt: skip
        for step in journal.remaining:
            try:
                if step == "build" and not existed:
                    build_release(root, candidates, options, audit_log=lambda path: audit.export_log(store, path),
                                  energy=lambda partitions: lineage_energy(store, partitions),
                                  ingestion=lambda cohorts: ingest_summaries(store, cohorts),
                                  reviews=lambda names: earlier_reviews(store, root, names, before=version),
                                  )  # fmt: skip
                    sha = load_manifest(final).sha256
                _run_step(step, final, sha, store, dvc_repo, plan)
                if after_step is not None:
                    after_step(step)
            except Exception as error:
                journal.fail(step, error)
                done = [s for s in journal.plan if s in journal.done]
                raise ReleaseError(
                    f"release {version}: step {step} failed ({error}); done: {done or 'nothing'}; "
                    f"remaining: {journal.remaining}; run the release again to complete it"
                ) from error
            journal.mark(step, manifest_sha256=sha)
            report.completed_now.append(step)
        report.manifest_sha256 = sha
        if dvc_repo is not None:
            report.next_steps = publish_commands(dvc_repo, final, sha)
        return report


def _run_step(step: str, final: Path, sha: str, store: Warehouse, repo: Path | None, plan: list[str]) -> None:
    if step == "build":
        return  # the folder is in place (built now or verified above)
    if step == "record":
        record_release(store, final)
    elif step == "audit":
        if not _audited(store, final.name, sha):
            audit.append(store, "release", final.name, {"path": str(final), "manifest_sha256": sha})
    elif step in ("dvc_add", "dvc_push"):
        if repo is None:
            raise ReleaseError(f"step {step} needs a DVC repository around {final}; none found (plan {plan})")
        if step == "dvc_add":
            dvc_add(repo, final, {"manifest_sha256": sha})
        else:
            dvc_push(repo, final)

"""Commands on releases: ``release`` (write one from the materialized assets), ``pull``, ``verify``,
``list``, ``diff`` and ``audit``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from pipeline import io
from pipeline.cli.guards import open_warehouse, registry_file, report
from pipeline.errors import OncoBenchError

# The files the Dagster IO managers write (``pipeline.io.partition_file``), per ``release_candidates``
# argument: (folder under the data directory, asset, one per ``cohort|synthesizer`` rather than per
# cohort, suffix); models live under ``models/``, everything else under ``assets/``.
PARTITION_FILES = {
    "harmonized": ("assets", "harmonized_cohort", False, "parquet"),
    "models": ("models", "synthesizer_model", True, "pkl"),
    "synthetic": ("assets", "synthetic_cohort", True, "parquet"),
    "metrics": ("assets", "validation_metrics", True, "parquet"),
    "stress": ("assets", "stress_suite", False, "parquet"),
}
REQUIRED = ("synthetic", "stress", "metrics")  # what a release is built from (the rest is provenance)
# the asset's per-cohort summary of what it released
COHORT_SUMMARY = (
    "SELECT cohort, synthesizer, released, round(max(value) FILTER (metric = 'column_shapes'), 3) AS shapes, "
    "round(max(value) FILTER (metric = 'c2st_auc'), 3) AS c2st FROM release_metrics WHERE version = ? "
    "GROUP BY ALL ORDER BY cohort"
)


class MaterializedDataError(OncoBenchError):
    """The data directory lacks (or holds unreadable) materialized partitions a release needs."""


def partition_file(data_dir: Path, argument: str, partition: str) -> Path:
    """Where the IO manager stored ``partition`` (``cohort`` or ``cohort|synthesizer``) of an input."""
    folder, asset, _, suffix = PARTITION_FILES[argument]
    return io.partition_file(Path(data_dir, folder), asset, partition, suffix)


def expected_partitions(cohorts: list[str], synthesizer: str) -> dict[str, list[str]]:
    """The partition keys of each input a release of ``synthesizer`` reads, as the asset receives them."""
    return {
        argument: [f"{cohort}|{synthesizer}" if per_synthesizer else cohort for cohort in cohorts]
        for argument, (_, _, per_synthesizer, _) in PARTITION_FILES.items()
    }


def _read(argument: str, path: Path, partition: str):
    from pipeline.synthesis.storage import load_model

    if argument == "models":
        return load_model(path, cohort=partition.split("|")[0])
    try:
        return pl.read_parquet(path)
    except pl.exceptions.PolarsError as error:
        raise MaterializedDataError(f"{path}: not a readable Parquet file ({error}); materialize it again") from None


def read_materialized(data_dir: Path, cohorts: list[str], synthesizer: str, version: str, release: Path):
    """``{argument: {partition_key: value}}`` of every materialized partition, like the asset's inputs.

    Refuses a data directory with none of them, and (unless ``release`` already exists) one where a
    cohort lacks a partition the release is built from, naming the missing files.
    """
    expected = expected_partitions(cohorts, synthesizer)
    files = {
        argument: {key: partition_file(data_dir, argument, key) for key in keys} for argument, keys in expected.items()
    }
    found = {argument: {k: p for k, p in paths.items() if p.is_file()} for argument, paths in files.items()}
    if not any(found.values()) and not release.exists():
        example = partition_file(data_dir, "synthetic", f"{cohorts[0]}|{synthesizer}") if cohorts else data_dir
        raise MaterializedDataError(
            f"no materialized partitions under {data_dir} for {len(cohorts)} cohort(s) and synthesizer "
            f"{synthesizer} (e.g. {example}); materialize the pipeline first (`make demo`) or pass --data-dir"
        )
    missing = {}
    for cohort, *keys in zip(cohorts, *(expected[a] for a in REQUIRED), strict=True):
        absent = [files[a][key] for a, key in zip(REQUIRED, keys, strict=True) if key not in found[a]]
        if absent:
            missing[cohort] = ", ".join(str(p.relative_to(data_dir)) for p in absent)
    if missing and not release.exists():
        detail = "; ".join(f"{cohort} ({synthesizer}): {paths}" for cohort, paths in missing.items())
        raise MaterializedDataError(
            f"release {version}: not materialized under {data_dir}: {detail}; materialize them first, "
            "or release fewer cohorts with --registry"
        )
    return {
        argument: {key: _read(argument, path, key) for key, path in paths.items()} for argument, paths in found.items()
    }


def _cmd_release(args: argparse.Namespace) -> int:
    from pipeline.cohorts.registry import load_registry
    from pipeline.release.build import ReleaseOptions, release_candidates
    from pipeline.release.manifest import check_version
    from pipeline.release.publish import publish_release
    from pipeline.release.settings import load_release_settings
    from pipeline.validation.gates import load_validation_config
    from pipeline.warehouse import Warehouse

    settings = args.settings.with_overrides(data_dir=args.data_dir)
    release_settings = load_release_settings(settings.release)
    version = check_version(args.version or release_settings.version)
    synthesizer = args.synthesizer or release_settings.synthesizer
    entries = load_registry(registry_file(args)).entries
    validation_version = load_validation_config(settings.validation).version
    inputs = read_materialized(
        settings.data_dir, [e.name for e in entries], synthesizer, version, settings.releases_dir / version
    )
    candidates = release_candidates(entries, synthesizer, **inputs)  # the benchmark_release asset's calls
    store = Warehouse(settings.warehouse)
    published = publish_release(
        settings.releases_dir,
        candidates,
        ReleaseOptions(
            version,
            release_settings.test_fraction,
            release_settings.seed,
            validation_version,
            tasks=release_settings.tasks,
        ),
        store=store,
        repo=settings.repo,
        track=release_settings.dvc_track and not args.no_dvc,
    )
    print(published.summary())
    print(f"  manifest.json sha256 {published.manifest_sha256}")
    for row in store.query(COHORT_SUMMARY, [version]).iter_rows(named=True):
        state = "released" if row["released"] else "withheld"
        print(f"  {row['cohort']:<18} {row['synthesizer']:<8} {state}: column_shapes {row['shapes']}, "
              f"c2st_auc {row['c2st']}")  # fmt: skip
    if published.next_steps:
        print(f"release {version} tracked and pushed with DVC; to publish it run:\n" + "\n".join(published.next_steps))
    return 0


def _cmd_pull(args: argparse.Namespace) -> int:
    from pipeline.release.dvc import pull_release

    out = args.out or Path(f"oncobench-{args.version}")
    repo = args.repo or str(args.settings.repo)
    print(f"fetching release {args.version} from {repo} (tag release-{args.version}) ...", flush=True)
    pulled = pull_release(args.version, repo, out, args.manifest_sha256)
    print(f"release {args.version} -> {pulled.path}: manifest.json and every file verified")
    print(f"  manifest.json sha256 {pulled.manifest_sha256} (from {pulled.reference})")
    print(f"  check it again: oncobench verify {pulled.path} --manifest-sha256 {pulled.manifest_sha256}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from pipeline.release.references import Reference, check_release

    given = (Reference("--manifest-sha256", args.manifest_sha256.lower()),) if args.manifest_sha256 else ()
    checked = check_release(args.directory, open_warehouse(args), given)
    problems, references = checked.problems, checked.references
    if not references:
        print(f"note: manifest.json (sha256 {checked.sha256}) is covered by no reference here; compare it with the "
              "release's tag or .dvc file, or pass --manifest-sha256", file=sys.stderr)  # fmt: skip
    covered = f"; manifest.json matches {', '.join(r.source for r in references)}" if references else ""
    return report(str(args.directory), problems, "every file matches manifest.json" + covered)


def _cmd_list(args: argparse.Namespace) -> int:
    from pipeline.release.records import list_releases

    store = open_warehouse(args)
    table = list_releases(store, args.releases or store.path.parent / "releases")
    with pl.Config(fmt_str_lengths=120):
        print(table if table.height else "no releases recorded yet (run `make demo`)")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from pipeline.release.records import diff_releases

    table = diff_releases(open_warehouse(args), args.before, args.after)
    print(table if table.height else f"no headline or gated metric changed between {args.before} and {args.after}")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from pipeline import audit
    from pipeline.release.anchors import exported_anchor, release_anchors

    if args.file:
        entries = audit.read_exported(args.file)
        anchor = exported_anchor(args.file)
        problems = audit.verify_entries(entries) + (audit.check_anchor(entries, anchor, exact=True) if anchor else [])
        where, anchors = str(args.file), [anchor] if anchor else []
    else:
        store = open_warehouse(args)
        anchors, notes = release_anchors(args.releases or store.path.parent / "releases")
        anchors += audit.warehouse_anchors(store)
        problems, where = [*notes, *audit.verify_chain(store, anchors)], str(store.path)
    latest = max(anchors, key=lambda a: a.entries, default=None)
    ok = f"chain intact up to {latest.source} ({latest.entries} entries)" if latest else "chain intact (no anchor)"
    return report(f"audit log {where}", problems, ok)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``release``, ``pull``, ``verify``, ``list``, ``diff`` and ``audit`` to the subcommands."""
    from pipeline.synthesis.catalog import engine_names

    release = commands.add_parser(
        "release", help="write a release from the materialized assets, as the benchmark_release asset does"
    )
    release.add_argument("--version", default=None, help="release version, e.g. 0.2.0 (default: config/release.yaml)")
    release.add_argument(
        "--synthesizer", choices=engine_names(), default=None, help="whose cohorts (default: config/release.yaml)"
    )
    release.add_argument(
        "--data-dir", type=Path, default=None, help="the pipeline's data folder (default: $ONCOBENCH_DATA_DIR or data/)"
    )
    release.add_argument("--no-dvc", action="store_true", help="do not track and push the release with DVC")
    release.set_defaults(handler=_cmd_release)

    pull = commands.add_parser("pull", help="fetch a release by version (DVC) and verify it")
    pull.add_argument("version", help="release version, e.g. 0.1.0 (git tag release-0.1.0)")
    pull.add_argument("--repo", default=None, help="git URL or path of the OncoBench repository")
    pull.add_argument("--out", type=Path, default=None, help="target directory (default: oncobench-VERSION)")
    pull.add_argument("--manifest-sha256", default=None, help="expected sha256 of manifest.json (trusted source)")
    pull.set_defaults(handler=_cmd_pull)

    verify = commands.add_parser("verify", help="check a release directory against its manifest")
    verify.add_argument("directory", type=Path)
    verify.add_argument("--manifest-sha256", default=None, help="expected sha256 of manifest.json (e.g. from pull)")
    verify.add_argument("--warehouse", type=Path, default=None, help="DuckDB file whose releases row is a reference")
    verify.set_defaults(handler=_cmd_verify)

    for name, handler, text in (("list", _cmd_list, "releases with their headline metrics"),
                                ("diff", _cmd_diff, "metric changes between two releases")):  # fmt: skip
        command = commands.add_parser(name, help=text)
        if name == "diff":
            command.add_argument("before")
            command.add_argument("after")
        command.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
        if name == "list":
            command.add_argument("--releases", type=Path, default=None, help="releases folder (default: data/releases)")
        command.set_defaults(handler=handler)

    audit = commands.add_parser("audit", help="the hash-chained audit log")
    audit.add_argument("action", choices=["verify"])
    audit.add_argument("--file", type=Path, default=None, help="an exported audit_log.jsonl (e.g. from a release)")
    audit.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
    audit.add_argument("--releases", type=Path, default=None, help="releases whose anchors are checked (data/releases)")
    audit.set_defaults(handler=_cmd_audit)

"""The ``oncobench`` command line: the same code the Dagster assets run."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.cohorts.identifiers import id_salt
from pipeline.cohorts.load import harmonize_entry, read_raw, resolve_source
from pipeline.cohorts.registry import load_registry, registry_path
from pipeline.errors import OncoBenchError
from pipeline.io import write_parquet_atomic
from pipeline.profile import cohort_summary, subgroup_attributes, subgroup_counts

DEFAULT_REPO = os.environ.get("ONCOBENCH_REPO", str(Path(__file__).resolve().parents[1]))


def _cmd_cohorts(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    print(f"{len(registry.entries)} cohorts in {registry.path}")
    for entry in registry.entries:
        protected = ", ".join(entry.protected) or "-"
        print(f"  {entry.name:<18} {entry.kind:<10} {entry.location:<20} protected: {protected}")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry) if (args.registry or registry_path().exists()) else None
    entry = resolve_source(args.source, registry=registry, spec_path=args.spec)
    frame = harmonize_entry(read_raw(entry), entry, salt=id_salt())
    write_parquet_atomic(frame, args.out)
    summary = cohort_summary(frame, entry.name)
    print(
        f"{entry.name}: {summary['n_patients']} patients, {summary['n_columns']} columns "
        f"({summary['n_extra_columns']} extra), {summary['n_events']} deaths -> {args.out}"
    )
    counts = subgroup_counts(frame, subgroup_attributes(frame, entry.protected))
    for attribute, group in counts.group_by("attribute", maintain_order=True):
        cells = ", ".join(f"{v} {n}" for v, n in group.select("value", "n").iter_rows())
        print(f"  {attribute[0]}: {cells}")
    return 0


def _parse_conditions(pairs: Sequence[str]) -> dict[str, str]:
    conditions = {}
    for pair in pairs:
        column, separator, value = pair.partition("=")
        if not separator or not column:
            raise OncoBenchError(f"--condition takes COLUMN=VALUE, got {pair!r}")
        conditions[column] = value
    return conditions


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.cohorts.load import read_table
    from pipeline.synthesis.catalog import make_synthesizer

    conditions = _parse_conditions(args.condition)
    real = read_table(args.input)
    synthesizer = make_synthesizer(args.synthesizer, profile=args.profile)
    with tqdm(desc=f"training {args.synthesizer}", unit="epoch", disable=None) as bar:

        def advance(epoch: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(epoch - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}")

        synthesizer.fit(real, seed=args.seed, progress=advance)
    synthesizer.validate_conditions(conditions)  # fail before sampling, with the allowed values
    frame = synthesizer.sample(args.rows, conditions=conditions, seed=args.seed + 1)
    write_parquet_atomic(frame, args.out)
    if args.save_model:
        synthesizer.save(args.save_model)
    report = synthesizer.last_sample
    print(
        f"{args.synthesizer}: fitted on {real.height} rows in {synthesizer.report.fit_seconds:.1f}s; "
        f"sampled {frame.height} rows ({report.n_repaired_rows} repaired) -> {args.out}"
        + (f"; model -> {args.save_model}" if args.save_model else "")
    )
    return 0


def _protected_for(frame: pl.DataFrame, explicit: Sequence[str] | None, registry_file: Path | None) -> list[str]:
    """--protected, else the registry's list for the frame's cohort, else every schema attribute present."""
    from pipeline.schema import PROTECTED_COLUMNS

    if explicit:
        return list(explicit)
    cohorts = frame["cohort"].unique().to_list() if "cohort" in frame.columns else []
    if len(cohorts) == 1 and (registry_file or registry_path().exists()):
        registry = load_registry(registry_file)
        if cohorts[0] in registry.names:
            return list(registry.get(cohorts[0]).protected)
    return [c for c in PROTECTED_COLUMNS if c in frame.columns]


def _report(subject: str, problems: Sequence[object], ok: str) -> int:
    """Print the problems to stderr and return 1, or print ``ok`` and return 0."""
    if problems:
        print(f"{subject}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"{subject}: {ok}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.cohorts.load import read_table
    from pipeline.split import split_cohort
    from pipeline.validation.gates import describe_failures, load_validation_config
    from pipeline.validation.suite import headline_scores, metric_table, run_validation

    config = load_validation_config(args.config)
    real, synthetic = read_table(args.real), read_table(args.synthetic)
    if args.holdout:
        train, holdout = real, read_table(args.holdout)
    else:
        settings = config.settings
        train, holdout = split_cohort(real, holdout_fraction=settings.holdout_fraction, seed=settings.split_seed)
    cohort = args.cohort or (real["cohort"][0] if "cohort" in real.columns and real.height else Path(args.real).stem)
    protected = _protected_for(real, args.protected, args.registry)
    with tqdm(total=7, desc="validating", unit="step", disable=None) as bar:

        def advance(step: str) -> None:
            bar.set_postfix_str(step.split(":")[0])
            bar.update(1)

        metrics = run_validation(
            train, holdout, synthetic, protected=protected, settings=config.settings, progress=advance
        )
    table = metric_table(metrics, config, cohort=cohort, synthesizer=args.synthesizer, run_id="cli")
    write_parquet_atomic(table, args.out)
    scores = headline_scores(table)
    print(f"{cohort}: {table.height} metrics -> {args.out} (gates: {config.path}, version {config.version})")
    print("  " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if v is not None and k != "gates_passed"))
    return _report(
        f"{cohort} gates",
        describe_failures(table),
        f"all {table.filter(pl.col('gate')).height} gated values within bounds",
    )


def _cmd_stress(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.cohorts.load import read_table
    from pipeline.stress.edge_cases import cell_dimensions, draw_cells, draw_extremes, rare_cells, upsample_to_parity
    from pipeline.stress.rules import enforce_rules, load_rules
    from pipeline.stress.twins import make_twins
    from pipeline.synthesis.base import Synthesizer

    data = read_table(args.data)
    rules = load_rules(args.rules)
    cohort = data["cohort"][0] if "cohort" in data.columns and data.height else None
    registry = load_registry(args.registry) if (args.registry or registry_path().exists()) else None
    entry = registry.get(cohort) if registry and cohort in registry.names else None
    attributes = args.attribute or list(entry.protected if entry else _protected_for(data, None, args.registry))
    if args.kind == "twins":
        descendants = {a: entry.descendants(a) for a in attributes} if entry else {}
        frame = make_twins(data, attributes, mode=args.mode, descendants=descendants, seed=args.seed)
        frame, report = enforce_rules(frame, rules)
    else:
        if args.model is None:
            raise OncoBenchError(
                f"--kind {args.kind} draws from a fitted model: pass --model (from `synthesize --save-model`)"
            )
        model = Synthesizer.load(args.model)
        with tqdm(total=2, desc=f"drawing {args.kind}", unit="step", disable=None) as bar:
            if args.kind == "edge":
                cells = rare_cells(data, cell_dimensions(data, model, attributes), args.k)
                parts = [draw_cells(model, cells, args.rows_per_cell, args.seed)]
                bar.update(1)
                parts.append(draw_extremes(model, data, args.rows_per_cell, args.seed + 1))
            else:
                parts = [upsample_to_parity(model, data, attributes, args.seed)]
                bar.update(1)
            bar.update(1)
        frame = pl.concat([p for p in parts if p.height], how="vertical") if any(p.height for p in parts) else None
        if frame is None:
            raise OncoBenchError(f"{args.data}: nothing to draw for --kind {args.kind} (no rare cell or subgroup gap)")
        frame, report = enforce_rules(frame, rules)
    write_parquet_atomic(frame, args.out)
    broken = {rule: n for rule, n in report.violations.items() if n}
    print(f"{args.kind}: {frame.height} rows -> {args.out}; rule violations dropped: {broken or 'none'}")
    target = pl.coalesce(pl.col("changed_attribute"), pl.col("stress_cell")).alias("target")
    for kind, label, n in frame.group_by("stress_type", target).len().sort("stress_type", "target").iter_rows():
        print(f"  {kind:<9} {label}: {n}")
    return 0


def _warehouse(args: argparse.Namespace):
    from pipeline.warehouse import Warehouse

    data = Path(os.environ.get("ONCOBENCH_DATA_DIR", Path(__file__).resolve().parents[1] / "data"))
    return Warehouse(args.warehouse or data / "warehouse.duckdb")


def _cmd_pull(args: argparse.Namespace) -> int:
    from pipeline.release.dvc import pull_release

    out = args.out or Path(f"oncobench-{args.version}")
    print(f"fetching release {args.version} from {args.repo} (tag release-{args.version}) ...", flush=True)
    path = pull_release(args.version, args.repo, out)
    print(f"release {args.version} -> {path}: every file matches manifest.json")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from pipeline.release.verify import verify_release

    return _report(str(args.directory), verify_release(args.directory), "every file matches manifest.json")


def _cmd_list(args: argparse.Namespace) -> int:
    from pipeline.release.records import list_releases

    table = list_releases(_warehouse(args))
    print(table if table.height else "no releases recorded yet (run `make demo`)")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from pipeline.release.records import diff_releases

    table = diff_releases(_warehouse(args), args.before, args.after)
    print(table if table.height else f"no headline or gated metric changed between {args.before} and {args.after}")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from pipeline import audit

    if args.file:
        problems = audit.verify_entries(audit.read_exported(args.file))
        where = str(args.file)
    else:
        store = _warehouse(args)
        problems, where = audit.verify_chain(store), str(store.path)
    return _report(f"audit log {where}", problems, "chain intact")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="oncobench", description=__doc__)
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        help="cohort registry YAML (default: config/cohorts.yaml)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    cohorts = commands.add_parser("cohorts", help="list the cohort registry")
    cohorts.set_defaults(handler=_cmd_cohorts)

    ingest = commands.add_parser("ingest", help="harmonize one cohort into a Parquet file")
    ingest.add_argument("source", help="registry name, cBioPortal study folder, or CSV/TSV/Parquet file")
    ingest.add_argument("--out", type=Path, required=True, help="output Parquet file")
    ingest.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="YAML spec mapping source columns to the schema",
    )
    ingest.set_defaults(handler=_cmd_ingest)

    synthesize = commands.add_parser("synthesize", help="fit a synthesizer on a harmonized cohort and sample")
    synthesize.add_argument("input", type=Path, help="harmonized cohort (Parquet, e.g. from `oncobench ingest`)")
    synthesize.add_argument("--synthesizer", choices=["ctgan", "flow", "copula"], default="flow")
    synthesize.add_argument("--rows", type=int, required=True, help="number of synthetic rows")
    synthesize.add_argument("--seed", type=int, default=0)
    synthesize.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE")
    synthesize.add_argument("--profile", choices=["fast", "full"], default="full")
    synthesize.add_argument("--save-model", type=Path, default=None, help="keep the fitted model here")
    synthesize.add_argument("--out", type=Path, required=True, help="output Parquet file")
    synthesize.set_defaults(handler=_cmd_synthesize)

    validate = commands.add_parser(
        "validate", help="every validation metric of a synthetic cohort; exit 1 if a gate fails"
    )
    validate.add_argument("real", type=Path, help="real cohort (training rows when --holdout is given)")
    validate.add_argument("synthetic", type=Path, help="synthetic cohort in the same schema")
    validate.add_argument(
        "--holdout", type=Path, default=None, help="real rows the synthesizer never saw (default: split REAL)"
    )
    validate.add_argument("--out", type=Path, required=True, help="output Parquet file of the long metric table")
    validate.add_argument("--protected", nargs="+", default=None, help="protected attributes (default: registry)")
    validate.add_argument("--config", type=Path, default=None, help="gates and settings (config/validation.yaml)")
    validate.add_argument("--cohort", default=None, help="cohort name for the table (default: the data's)")
    validate.add_argument("--synthesizer", default="unknown", help="synthesizer name for the table")
    validate.set_defaults(handler=_cmd_validate)

    stress = commands.add_parser("stress", help="counterfactual twins, rare edge cases or subgroup upsampling")
    stress.add_argument(
        "data", type=Path, help="twins: synthetic patients to twin; edge/upsample: the real cohort (its cells, shares)"
    )
    stress.add_argument("--kind", choices=["twins", "edge", "upsample"], required=True)
    stress.add_argument("--model", type=Path, default=None, help="fitted synthesizer (edge, upsample)")
    stress.add_argument("--attribute", nargs="+", default=None, help="protected attributes (default: registry)")
    stress.add_argument("--mode", choices=["pure", "consistent"], default="pure", help="twins only")
    stress.add_argument("--k", type=int, default=10, help="edge: a cell with fewer real patients is rare")
    stress.add_argument("--rows-per-cell", type=int, default=20)
    stress.add_argument("--seed", type=int, default=0)
    stress.add_argument("--rules", type=Path, default=None, help="plausibility rules (config/plausibility_rules.yaml)")
    stress.add_argument("--out", type=Path, required=True, help="output Parquet file")
    stress.set_defaults(handler=_cmd_stress)

    pull = commands.add_parser("pull", help="fetch a release by version (DVC) and verify it")
    pull.add_argument("version", help="release version, e.g. 0.1.0 (git tag release-0.1.0)")
    pull.add_argument("--repo", default=DEFAULT_REPO, help="git URL or path of the OncoBench repository")
    pull.add_argument("--out", type=Path, default=None, help="target directory (default: oncobench-VERSION)")
    pull.set_defaults(handler=_cmd_pull)

    verify = commands.add_parser("verify", help="check a release directory against its manifest")
    verify.add_argument("directory", type=Path)
    verify.set_defaults(handler=_cmd_verify)

    for name, handler, text in (("list", _cmd_list, "releases with their headline metrics"),
                                ("diff", _cmd_diff, "metric changes between two releases")):  # fmt: skip
        command = commands.add_parser(name, help=text)
        if name == "diff":
            command.add_argument("before")
            command.add_argument("after")
        command.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
        command.set_defaults(handler=handler)

    audit = commands.add_parser("audit", help="the hash-chained audit log")
    audit.add_argument("action", choices=["verify"])
    audit.add_argument("--file", type=Path, default=None, help="an exported audit_log.jsonl (e.g. from a release)")
    audit.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
    audit.set_defaults(handler=_cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oncobench`` console script."""
    args = build_parser().parse_args(argv)
    pl.Config.set_tbl_rows(50)
    pl.Config.set_tbl_cols(-1)
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_tbl_hide_column_data_types(True)
    try:
        return args.handler(args)
    except OncoBenchError as exc:
        print(f"oncobench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The ``oncobench`` command line: the same code the Dagster assets run."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.cohorts.identifiers import id_salt
from pipeline.cohorts.load import harmonize_entry, read_raw, resolve_source
from pipeline.cohorts.registry import CohortEntry, load_registry
from pipeline.errors import OncoBenchError
from pipeline.harmonized import read_harmonized
from pipeline.io import write_parquet_atomic, write_text_atomic
from pipeline.profile import cohort_summary, subgroup_attributes, subgroup_counts
from pipeline.settings import Settings
from pipeline.subgroups import default_protected
from pipeline.threads import configured_threads, limit_threads


def _cmd_cohorts(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry or args.settings.registry)
    print(f"{len(registry.entries)} cohorts in {registry.path}")
    for entry in registry.entries:
        protected = ", ".join(entry.protected) or "-"
        print(f"  {entry.name:<18} {entry.kind:<10} {entry.location:<20} protected: {protected}")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from pipeline.cohorts.load import describe_source
    from pipeline.cohorts.report import IngestReport

    registry_file = args.registry or args.settings.registry
    registry = load_registry(registry_file) if registry_file.exists() else None
    entry = resolve_source(args.source, registry=registry, spec_path=args.spec, name=args.name)
    out, inputs = Path(args.out).resolve(), [Path(p).resolve() for p in (args.source, args.spec) if p]
    if any(out == p or p in out.parents for p in inputs if p.exists()):
        raise OncoBenchError(f"--out {args.out} would overwrite or write into the input {args.source}")
    if out.is_dir():
        raise OncoBenchError(f"--out {args.out} is a directory; give a Parquet file path")
    if out.exists() and not args.force:
        raise OncoBenchError(f"--out {args.out} exists; pass --force to replace it")
    report = IngestReport(source=describe_source(entry))  # the ingest stage (pipeline.cohorts.load.ingest)
    frame = harmonize_entry(
        read_raw(entry, report),
        entry,
        salt=id_salt(public=entry.public),
        report=report,
        drop_identifiers=args.drop_identifiers,
    )
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
    for line in report.lines():
        print(f"  {line}")
    return 0


def _parse_conditions(pairs: Sequence[str]) -> dict[str, str]:
    conditions = {}
    for pair in pairs:
        column, separator, value = pair.partition("=")
        if not separator or not column:
            raise OncoBenchError(f"--condition takes COLUMN=VALUE, got {pair!r}")
        conditions[column] = value
    return conditions


def _check_output(path: Path, option: str, inputs: Sequence[Path] = ()) -> None:
    """Refuse, before any work, an output that is a directory, an input, or in a folder we cannot write."""
    if path.is_dir():
        raise OncoBenchError(f"{option} {path} is a directory; give a file name")
    if any(path.resolve() == Path(i).resolve() for i in inputs):
        raise OncoBenchError(f"{option} {path} is also an input; write the output elsewhere")
    folder = path.resolve().parent
    while not folder.exists():
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(folder)
        with tempfile.TemporaryFile(dir=folder):  # the only sure test that files can be created there
            pass
    except OSError:
        raise OncoBenchError(f"{option} {path}: cannot write in {folder}") from None


def _registry_entry(frame: pl.DataFrame, registry_file: Path) -> CohortEntry | None:
    """The registry entry of the frame's cohort, if the frame holds one registry cohort."""
    cohorts = frame["cohort"].unique().drop_nulls().to_list() if "cohort" in frame.columns else []
    if len(cohorts) != 1 or not registry_file.exists():
        return None
    registry = load_registry(registry_file)
    return registry.get(cohorts[0]) if cohorts[0] in registry.names else None


def _protected_for(frame: pl.DataFrame, explicit: Sequence[str] | None, registry_file: Path) -> list[str]:
    """--protected, else the asset's default: the registry's list, or the protected columns with 2+ values."""
    if explicit:
        return list(explicit)
    entry = _registry_entry(frame, registry_file)
    return default_protected(frame, entry.protected if entry else None)


def _epoch_bar(label: str):
    """A tqdm progress bar and the training callback that advances it."""
    from tqdm import tqdm

    bar = tqdm(desc=label, unit="epoch", disable=None)

    def advance(epoch: int, total: int, loss: float) -> None:
        bar.total = total
        bar.update(epoch - bar.n)
        bar.set_postfix(loss=f"{loss:.3f}")

    return bar, advance


def _cmd_split(args: argparse.Namespace) -> int:
    from pipeline.split import split_cohort
    from pipeline.validation.gates import load_validation_config

    train_path, holdout_path = args.out_dir / "train.parquet", args.out_dir / "holdout.parquet"
    for path in (train_path, holdout_path):
        _check_output(path, "--out-dir", [args.input])
    settings = load_validation_config(args.config or args.settings.validation).settings
    fraction = settings.holdout_fraction if args.holdout_fraction is None else args.holdout_fraction
    seed = settings.split_seed if args.seed is None else args.seed
    real = read_harmonized(args.input, role="cohort")
    train, holdout = split_cohort(real, holdout_fraction=fraction, seed=seed)
    write_parquet_atomic(train, train_path)
    write_parquet_atomic(holdout, holdout_path)
    print(f"{train.height} training -> {train_path}; {holdout.height} holdout -> {holdout_path} "
          f"(holdout fraction {fraction}, seed {seed}, stratified by the event)")  # fmt: skip
    return 0


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from pipeline.rules import load_rules
    from pipeline.synthesis.stage import fit_synthesizer, sample_cohort

    _check_output(args.out, "--out", [args.input])
    if args.save_model:
        _check_output(args.save_model, "--save-model", [args.input, args.out])
    if args.rows is not None and args.rows < 1:
        raise OncoBenchError(f"--rows must be positive, got {args.rows}")
    conditions = _parse_conditions(args.condition)
    rules = load_rules(args.rules or args.settings.rules)
    real = read_harmonized(args.input, role="real cohort")
    bar, advance = _epoch_bar(f"training {args.synthesizer}")
    with bar:
        model = fit_synthesizer(
            real,
            synthesizer=args.synthesizer,
            profile=args.profile,
            seed=args.seed,
            protected=_protected_for(real, args.protected, args.registry or args.settings.registry),
            progress=advance,
        )
    result = sample_cohort(model, args.rows or real.height, seed=args.seed, rules=rules, conditions=conditions)
    write_parquet_atomic(result.frame, args.out)
    if args.save_model:
        model.save(args.save_model)
    print(
        f"{args.synthesizer}: fitted on {real.height} rows in {model.report.fit_seconds:.1f}s; "
        f"sampled {result.frame.height} rows ({result.sample.n_repaired_rows} repaired, "
        f"{result.rules.redrawn} redrawn for plausibility rules) -> {args.out}"
        + (f"; model -> {args.save_model}" if args.save_model else "")
    )
    return 0


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

    from pipeline.split import split_cohort
    from pipeline.validation.gates import load_validation_config
    from pipeline.validation.suite import headline_scores, validate_cohort

    _check_output(args.out, "--out", [p for p in (args.real, args.synthetic, args.holdout) if p])
    config = load_validation_config(args.config or args.settings.validation)
    real = read_harmonized(args.real, role="real cohort")
    synthetic = read_harmonized(args.synthetic, role="synthetic cohort")
    if args.holdout:
        train, holdout = real, read_harmonized(args.holdout, role="holdout cohort")
    else:
        settings = config.settings
        train, holdout = split_cohort(real, holdout_fraction=settings.holdout_fraction, seed=settings.split_seed)
    cohort = args.cohort or (real["cohort"][0] if "cohort" in real.columns else Path(args.real).stem)
    with tqdm(total=7, desc="validating", unit="step", disable=None) as bar:

        def advance(step: str) -> None:
            bar.set_postfix_str(step.split(":")[0])
            bar.update(1)

        result = validate_cohort(
            train,
            holdout,
            synthetic,
            protected=_protected_for(real, args.protected, args.registry or args.settings.registry),
            config=config,
            cohort=cohort,
            synthesizer=args.synthesizer,
            run_id="cli",
            progress=advance,
        )
    table = result.table
    write_parquet_atomic(table, args.out)
    scores = headline_scores(table)
    print(f"{cohort}: {table.height} metrics -> {args.out} (gates: {config.path}, version {config.version})")
    print("  " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if v is not None and k != "gates_passed"))
    return _report(f"{cohort} gates", result.failures, f"all {result.gates.height} gated values within bounds")


def _cmd_stress(args: argparse.Namespace) -> int:
    from pipeline.rules import load_rules
    from pipeline.stress.suite import STRESS_KINDS, StressSettings, build_stress_suite
    from pipeline.synthesis.base import Synthesizer

    _check_output(args.out, "--out", [p for p in (args.data, args.model) if p])
    rules = load_rules(args.rules or args.settings.rules)
    data = read_harmonized(args.data, role="cohort")
    entry = _registry_entry(data, args.registry or args.settings.registry)
    attributes = args.attribute or _protected_for(data, None, args.registry or args.settings.registry)
    kinds = STRESS_KINDS if args.kind == "all" else (args.kind,)
    if args.model is None and args.kind != "twins":
        raise OncoBenchError(f"--kind {args.kind} draws from a fitted model: pass --model (`synthesize --save-model`)")
    cohorts = data["cohort"].unique().drop_nulls().to_list() if "cohort" in data.columns else []
    model = Synthesizer.load(args.model, cohort=cohorts[0] if len(cohorts) == 1 else None) if args.model else None
    settings = StressSettings(
        rare_k=args.k, max_cells=args.max_cells, rows_per_cell=args.rows_per_cell, extreme_rows=args.rows_per_cell,
        seed=args.seed,
        modes=(args.mode,) if args.kind == "twins" else StressSettings().modes, kinds=kinds,
    )  # fmt: skip
    suite = build_stress_suite(
        data,
        model,
        protected=attributes,
        descendants={a: entry.descendants(a) for a in attributes} if entry else {},
        rules=rules,
        settings=settings,
        base=data if args.kind == "twins" else None,
        progress=lambda step: print(f"  {step} ...", file=sys.stderr, flush=True),
    )
    for reason in suite.skipped:
        print(f"  skipped {reason}", file=sys.stderr)
    frame = suite.frame
    if frame.is_empty():
        why = "; ".join(suite.skipped) or "no rare cell or subgroup gap"
        raise OncoBenchError(f"{args.data}: nothing to draw for --kind {args.kind} ({why})")
    write_parquet_atomic(frame, args.out)
    broken = suite.dropped_by_rule()
    print(f"{args.kind}: {frame.height} rows -> {args.out}; rule violations dropped: {broken or 'none'}")
    for kind, label, n in suite.counts().iter_rows():
        print(f"  {kind:<9} {label}: {n}")
    return 0


def _warehouse(args: argparse.Namespace):
    from pipeline.warehouse import Warehouse

    return Warehouse(args.warehouse or args.settings.warehouse)


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
    from pipeline.release.references import Reference, find_references
    from pipeline.release.verify import load_manifest, verify_release

    loaded = load_manifest(args.directory)
    store = _warehouse(args)
    references = find_references(Path(args.directory), loaded.version, store if store.path.exists() else None)
    if args.manifest_sha256:
        references.append(Reference("--manifest-sha256", args.manifest_sha256.lower()))
    problems = verify_release(args.directory)
    problems += [f"manifest.json: sha256 {loaded.sha256} does not match {r.sha256} recorded in {r.source} (edited)"
                 for r in references if r.sha256 != loaded.sha256]  # fmt: skip
    if not references:
        print(f"note: manifest.json (sha256 {loaded.sha256}) is covered by no reference here; compare it with the "
              "release's tag or .dvc file, or pass --manifest-sha256", file=sys.stderr)  # fmt: skip
    covered = f"; manifest.json matches {', '.join(r.source for r in references)}" if references else ""
    return _report(str(args.directory), problems, "every file matches manifest.json" + covered)


def _cmd_list(args: argparse.Namespace) -> int:
    from pipeline.release.records import list_releases

    store = _warehouse(args)
    table = list_releases(store, args.releases or store.path.parent / "releases")
    with pl.Config(fmt_str_lengths=120):
        print(table if table.height else "no releases recorded yet (run `make demo`)")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from pipeline.release.records import diff_releases

    table = diff_releases(_warehouse(args), args.before, args.after)
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
        store = _warehouse(args)
        anchors, notes = release_anchors(args.releases or store.path.parent / "releases")
        anchors += audit.warehouse_anchors(store)
        problems, where = [*notes, *audit.verify_chain(store, anchors)], str(store.path)
    latest = max(anchors, key=lambda a: a.entries, default=None)
    ok = f"chain intact up to {latest.source} ({latest.entries} entries)" if latest else "chain intact (no anchor)"
    return _report(f"audit log {where}", problems, ok)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from pipeline.evaluation.config import load_evaluation_config
    from pipeline.evaluation.records import record_evaluation
    from pipeline.evaluation.report import write_report
    from pipeline.evaluation.stage import evaluate_release
    from pipeline.rules import load_rules

    if args.out:
        _check_output(args.out, "--out")
    if args.report and args.report.exists() and not args.report.is_dir():
        raise OncoBenchError(f"--report {args.report} is a file; give a folder")
    store = _warehouse(args)
    evaluation = evaluate_release(
        args.release, args.model, args.task, cohorts=args.cohort,
        config=load_evaluation_config(args.config or args.settings.evaluation),
        rules=load_rules(args.rules or args.settings.rules), store=store,
        progress=lambda step: print(f"  {step} ...", file=sys.stderr, flush=True),
    )  # fmt: skip
    result = evaluation.result  # complete and checked: only now is anything written or recorded
    if args.out:
        write_text_atomic(json.dumps(result, indent=2) + "\n", args.out)
    if args.report:
        print(f"report -> {write_report(result, args.report)} (and report.html)")
    entry = record_evaluation(store, evaluation)
    print(f"{result['model']['name']} on release {result['release']}, task {result['task']} "
          f"(fingerprint {result['model']['fingerprint'][:12]}, audit entry {entry['seq']})")  # fmt: skip
    for cohort, block in result["cohorts"].items():
        task = evaluation.tasks[cohort]
        score = block["performance"][task.target]
        print(f"  {cohort}: {task.target} {score['value']:.3f} [{score['ci_low']:.3f}, {score['ci_high']:.3f}] "
              f"(n={score['n']})")  # fmt: skip
        for e in block["counterfactual"]:
            print(f"    flip rate {e['attribute']} ({e['mode']}): {e['flip_rate']:.3f} "
                  f"[{e['ci_low']:.3f}, {e['ci_high']:.3f}] over {e['pairs']} pairs")  # fmt: skip
        failed = [f["id"] for f in block["findings"] if not f["passed"]]
        print(f"    findings: {', '.join(failed) or 'none'}")
    energy = evaluation.emissions
    if energy.kwh is not None:
        print(f"  energy: {energy.kwh * 1000:.3f} Wh, {energy.kg_co2e * 1000:.3f} g CO2e ({energy.country} grid, "
              f"{energy.seconds:.0f} s; codecarbon, offline)")  # fmt: skip
    if args.out:
        print(f"result -> {args.out}")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from pipeline.evaluation.records import leaderboard

    table = leaderboard(_warehouse(args), args.release, args.task)
    with pl.Config(fmt_str_lengths=60):
        print(table if table.height else "no evaluations recorded yet (run `oncobench evaluate`)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="oncobench", description=__doc__)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for torch, BLAS/OpenMP and scikit-learn (default: $ONCOBENCH_THREADS or every core)",
    )
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
    ingest.add_argument("--name", default=None, help="cohort name (lower_snake_case; default: the source's name)")
    ingest.add_argument("--force", action="store_true", help="replace an existing --out file")
    ingest.add_argument(
        "--drop-identifiers",
        action="store_true",
        help="drop every detected identifier or date column of a table (listed in the report) instead of refusing",
    )
    ingest.set_defaults(handler=_cmd_ingest)

    split = commands.add_parser("split", help="stratified train / holdout split, as the assets do")
    split.add_argument("input", type=Path, help="harmonized cohort (Parquet or CSV)")
    split.add_argument("--out-dir", type=Path, required=True, help="writes train.parquet and holdout.parquet here")
    split.add_argument("--holdout-fraction", type=float, default=None, help="default: config/validation.yaml")
    split.add_argument("--seed", type=int, default=None, help="default: split_seed of config/validation.yaml")
    split.add_argument("--config", type=Path, default=None, help="settings (config/validation.yaml)")
    split.set_defaults(handler=_cmd_split)

    synthesize = commands.add_parser("synthesize", help="fit a synthesizer on a harmonized cohort and sample")
    synthesize.add_argument("input", type=Path, help="harmonized cohort (Parquet, e.g. from `oncobench ingest`)")
    synthesize.add_argument("--synthesizer", choices=["ctgan", "flow", "copula"], default="flow")
    synthesize.add_argument(
        "--rows", type=int, default=None, help="number of synthetic rows (default: as many as INPUT)"
    )
    synthesize.add_argument("--seed", type=int, default=0)
    synthesize.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE")
    synthesize.add_argument("--profile", choices=["fast", "full"], default="full")
    synthesize.add_argument("--save-model", type=Path, default=None, help="keep the fitted model here")
    synthesize.add_argument(
        "--protected", nargs="+", default=None, help="attributes the flow conditions on (default: registry)"
    )
    synthesize.add_argument("--rules", type=Path, default=None, help="plausibility rules (rule-breaking rows redrawn)")
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
        "data", type=Path, help="twins: the patients to twin; edge/upsample/all: the real cohort (its cells, shares)"
    )
    stress.add_argument(
        "--kind", choices=["twins", "edge", "upsample", "all"], required=True, help="all: the asset's whole suite"
    )
    stress.add_argument("--model", type=Path, default=None, help="fitted synthesizer (edge, upsample, all)")
    stress.add_argument("--attribute", nargs="+", default=None, help="protected attributes (default: registry)")
    stress.add_argument("--mode", choices=["pure", "consistent"], default="pure", help="twins only")
    stress.add_argument("--k", type=int, default=10, help="edge: a cell with fewer real patients is rare")
    stress.add_argument("--max-cells", type=int, default=60, help="edge: draw at most this many rare cells (rarest)")
    stress.add_argument("--rows-per-cell", type=int, default=20)
    stress.add_argument("--seed", type=int, default=0)
    stress.add_argument("--rules", type=Path, default=None, help="plausibility rules (config/plausibility_rules.yaml)")
    stress.add_argument("--out", type=Path, required=True, help="output Parquet file")
    stress.set_defaults(handler=_cmd_stress)

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

    evaluate = commands.add_parser("evaluate", help="score a model on a release task (exit 2 on a bad model)")
    evaluate.add_argument("release", type=Path, help="release folder (verified before anything is scored)")
    evaluate.add_argument("--model", required=True, help="MODULE:OBJECT, path/to/file.py:OBJECT, reference:fair|biased")
    evaluate.add_argument("--task", required=True, help="mortality_12m, overall_survival, treatment (as declared)")
    evaluate.add_argument("--cohort", nargs="+", default=None, help="cohorts to score (default: every one with TASK)")
    evaluate.add_argument("--report", type=Path, default=None, help="folder for report.md, report.html and plots")
    evaluate.add_argument("--out", type=Path, default=None, help="the result as JSON (the output contract)")
    evaluate.add_argument("--config", type=Path, default=None, help="settings and findings (config/evaluation.yaml)")
    evaluate.add_argument("--rules", type=Path, default=None, help="plausibility rules of the adversarial search")
    evaluate.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
    evaluate.set_defaults(handler=_cmd_evaluate)

    board = commands.add_parser("leaderboard", help="recorded evaluations, best model first (DuckDB)")
    board.add_argument("--release", default=None, help="one release version")
    board.add_argument("--task", default=None, help="one task")
    board.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
    board.set_defaults(handler=_cmd_leaderboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oncobench`` console script."""
    args = build_parser().parse_args(argv)
    pl.Config.set_tbl_rows(50)
    pl.Config.set_tbl_cols(-1)
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_tbl_hide_column_data_types(True)
    try:
        args.settings = Settings.from_environment(registry=args.registry)
        limit_threads(configured_threads(args.threads))
        return args.handler(args)
    except OncoBenchError as exc:
        print(f"oncobench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path we could not read or write: say which, no traceback
        print(f"oncobench: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""``oncobench review``: the clinician review page of a release's cohort, served on localhost."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.cli.guards import open_warehouse
from pipeline.errors import OncoBenchError


def _cmd_review(args: argparse.Namespace) -> int:
    from pipeline.review.app import create_app, load_pool, pool_judgements, review_summary

    if args.port is not None and not 0 < args.port < 65536:
        raise OncoBenchError(f"--port must be between 1 and 65535, got {args.port}")
    pool = load_pool(args.release, args.cohort, size=args.patients, seed=args.seed)
    store = open_warehouse(args)
    if args.scores:
        print(json.dumps(review_summary(pool, pool_judgements(pool, store), seed=args.seed), indent=2, default=str))
        return 0
    app = create_app(pool, store, seed=args.seed)
    import uvicorn

    print(f"reviewing {pool.patients.height} synthetic patients of {pool.release}/{pool.cohort} at "
          f"http://{args.host}:{args.port} (Ctrl-C to stop; judgements are kept in DuckDB)", flush=True)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``review``."""
    review = commands.add_parser("review", help="rank a release's synthetic patients by clinicians' judgements")
    review.add_argument("release", type=Path, help="release directory, e.g. data/releases/0.1.0")
    review.add_argument("--cohort", required=True, help="a cohort of the release")
    review.add_argument("--patients", type=int, default=200, help="patients under review (a seeded sample)")
    review.add_argument("--seed", type=int, default=0)
    review.add_argument("--host", default="127.0.0.1")
    review.add_argument("--port", type=int, default=8765)
    review.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: data/)")
    review.add_argument("--scores", action="store_true", help="print the scores, reliability and candidate rules")
    review.set_defaults(handler=_cmd_review)

"""The vocabulary files (``pipeline/cohorts/vocabularies/*.yaml``) as parsed data.

Beneath the schema: it takes its missing-value tokens and its OncoTree code pattern and codes
from here. The label lookups built on these files live in :mod:`pipeline.cohorts.vocabulary`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

VOCABULARY_DIR = Path(__file__).resolve().parent / "cohorts" / "vocabularies"


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed vocabulary file ``vocabularies/<name>.yaml``."""
    return yaml.safe_load((VOCABULARY_DIR / f"{name}.yaml").read_text()) or {}


@cache
def missing_tokens() -> frozenset[str]:
    """Normalized missing-value tokens (``missing.yaml``)."""
    return frozenset(" ".join(str(t).lower().split()) for t in load("missing")["tokens"])


@cache
def oncotree_codes() -> dict[str, tuple[str, str]]:
    """Curated OncoTree codes -> (main type, tissue)."""
    return {code: (main, tissue) for code, (main, tissue) in load("oncotree")["codes"].items()}


@cache
def oncotree_code_pattern() -> str:
    """Regex of a well-formed OncoTree code."""
    return load("oncotree")["code_pattern"]

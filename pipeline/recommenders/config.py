"""Call settings and finding thresholds of recommender evaluations (``config/recommender_evaluation.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.evaluation.config import FindingRule, parse_findings, parse_settings
from pipeline.recommenders.adapters import CallOptions
from pipeline.recommenders.interface import RecommenderError
from pipeline.settings import CONFIG_DIR

DEFAULT_RECOMMENDER_CONFIG = CONFIG_DIR / "recommender_evaluation.yaml"


@dataclass(frozen=True)
class RecommenderSettings:
    """See ``config/recommender_evaluation.yaml``."""

    timeout_seconds: float = 30.0
    concurrency: int = 4
    retries: int = 2
    batch_size: int = 8
    seed: int = 0
    max_cases: int = 10
    min_group_rows: int = 30
    min_cell_rows: int = 10
    rare_cell_share: float = 0.10
    emissions_country: str = "DEU"

    def call_options(self) -> CallOptions:
        return CallOptions(timeout=self.timeout_seconds, concurrency=self.concurrency, retries=self.retries,
                           batch_size=self.batch_size)  # fmt: skip


@dataclass(frozen=True)
class RecommenderConfig:
    path: Path
    version: str
    settings: RecommenderSettings
    findings: tuple[FindingRule, ...]


def load_recommender_config(path: Path | str | None = None) -> RecommenderConfig:
    """Read ``path`` (default: ``config/recommender_evaluation.yaml``); a malformed file names the key."""
    path = Path(path or DEFAULT_RECOMMENDER_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RecommenderError(f"cannot read recommender config {path}: {error}") from None
    if not isinstance(raw, dict) or "version" not in raw:
        raise RecommenderError(f"{path}: needs a mapping with 'version', 'settings' and 'findings'")
    parsed = parse_settings(RecommenderSettings, raw.get("settings"), path, RecommenderError)
    return RecommenderConfig(path, str(raw["version"]), parsed, parse_findings(raw.get("findings"), path))

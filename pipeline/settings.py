"""Every setting of a process, read in one place: the environment plus explicit overrides.

This is the only module that reads environment variables. A CLI command, a Dagster code location,
a benchmark or a test builds one :class:`Settings` (``Settings.from_environment(**overrides)``) and
hands its paths and values to the stages; config loaders take a path and never look around.

| variable | setting |
|---|---|
| ``ONCOBENCH_DATA_DIR`` | ``data_dir`` (assets, models, warehouse, releases) |
| ``ONCOBENCH_REGISTRY``, ``_VALIDATION``, ``_RULES``, ``_RELEASE``, ``_EVALUATION``, ``_MODELS`` | config files |
| ``ONCOBENCH_RECOMMENDER_EVALUATION``, ``ONCOBENCH_GUIDELINES`` | recommender config, therapy table |
| ``ONCOBENCH_ID_SALT``, ``ONCOBENCH_SALT_FILE`` | patient-id hashing |
| ``ONCOBENCH_MODEL_KEY`` | the model-signing key file |
| ``ONCOBENCH_SYNTHESIZERS`` | synthesizers that are partitions |
| ``ONCOBENCH_THREADS``, ``ONCOBENCH_CONCURRENT_RUNS`` | thread budget |
| ``ONCOBENCH_ENERGY`` | energy tracking on/off |
| ``ONCOBENCH_EXECUTOR`` (+ ``ONCOBENCH_TRAINING_STEPS``, ``ONCOBENCH_MAX_STEPS``, ``ONCOBENCH_CELERY_*``) | executor |
| ``ONCOBENCH_REPO`` | the Git+DVC repository of releases |
| ``DAGSTER_HOME``, ``XDG_CONFIG_HOME`` | instance folder, user config folder |
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "config"
DEFAULT_DATA_DIR = ROOT / "data"
# telemetry: Dagster's upload thread runs in every daemon whatever the instance file says; this stops it
QUIET_ENVIRONMENT = {"DAGSTER_DISABLE_TELEMETRY": "1", "GX_ANALYTICS_ENABLED": "False"}
_CONFIG_FILES = {
    "registry": ("ONCOBENCH_REGISTRY", "cohorts.yaml"),
    "validation": ("ONCOBENCH_VALIDATION", "validation.yaml"),
    "rules": ("ONCOBENCH_RULES", "plausibility_rules.yaml"),
    "release": ("ONCOBENCH_RELEASE", "release.yaml"),
    "evaluation": ("ONCOBENCH_EVALUATION", "evaluation.yaml"),
    "models": ("ONCOBENCH_MODELS", "models.yaml"),
    "recommender_evaluation": ("ONCOBENCH_RECOMMENDER_EVALUATION", "recommender_evaluation.yaml"),
    "guidelines": ("ONCOBENCH_GUIDELINES", "therapy_guidelines.yaml"),
}
_EXECUTOR_PREFIXES = ("ONCOBENCH_TRAINING_STEPS", "ONCOBENCH_MAX_STEPS", "ONCOBENCH_CELERY_")


def default_config(name: str) -> Path:
    """The repository's own copy of a config file (``registry``, ``validation``, ...)."""
    return CONFIG_DIR / _CONFIG_FILES[name][1]


@dataclass(frozen=True)
class Settings:
    """Paths and values one process runs with; build with :meth:`from_environment`."""

    root: Path = ROOT
    data_dir: Path = DEFAULT_DATA_DIR
    registry: Path = field(default_factory=lambda: default_config("registry"))
    validation: Path = field(default_factory=lambda: default_config("validation"))
    rules: Path = field(default_factory=lambda: default_config("rules"))
    release: Path = field(default_factory=lambda: default_config("release"))
    evaluation: Path = field(default_factory=lambda: default_config("evaluation"))
    models: Path = field(default_factory=lambda: default_config("models"))
    recommender_evaluation: Path = field(default_factory=lambda: default_config("recommender_evaluation"))
    guidelines: Path = field(default_factory=lambda: default_config("guidelines"))
    id_salt: str | None = None  # wins over every other salt when set
    salt_file: Path | None = None  # None: <user config>/oncobench/salt
    model_key: Path | None = None  # None: a per-project file under <user config>/oncobench/keys/
    user_config: Path = field(default_factory=lambda: Path.home() / ".config")
    synthesizers: str = ""  # comma-separated partitions; empty: the engines' defaults
    threads: str | None = None  # explicit thread budget (validated by pipeline.threads)
    concurrent_runs: str | None = None  # runs the queue starts at once
    energy: bool = True
    executor: str | None = None
    executor_settings: Mapping[str, str] = field(default_factory=dict)
    repo: Path = ROOT
    dagster_home: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``environ`` (default: this process's environment); ``overrides`` win (CLI flags,
        ``build_definitions`` arguments); an override of ``None`` keeps the environment's value."""
        env = os.environ if environ is None else environ

        def path(variable: str, default: Path | None) -> Path | None:
            value = env.get(variable)
            return Path(value) if value else default

        values: dict[str, Any] = {
            "data_dir": path("ONCOBENCH_DATA_DIR", DEFAULT_DATA_DIR),
            **{name: path(variable, CONFIG_DIR / file) for name, (variable, file) in _CONFIG_FILES.items()},
            "id_salt": env.get("ONCOBENCH_ID_SALT") or None,
            "salt_file": path("ONCOBENCH_SALT_FILE", None),
            "model_key": path("ONCOBENCH_MODEL_KEY", None),
            "user_config": path("XDG_CONFIG_HOME", Path.home() / ".config"),
            "synthesizers": env.get("ONCOBENCH_SYNTHESIZERS", ""),
            "threads": env.get("ONCOBENCH_THREADS") or None,
            "concurrent_runs": env.get("ONCOBENCH_CONCURRENT_RUNS") or None,
            "energy": env.get("ONCOBENCH_ENERGY", "on").strip().lower() not in ("off", "0", "false", "no"),
            "executor": env.get("ONCOBENCH_EXECUTOR") or None,
            "executor_settings": {k: v for k, v in env.items() if k.startswith(_EXECUTOR_PREFIXES)},
            "repo": path("ONCOBENCH_REPO", ROOT),
            "dagster_home": path("DAGSTER_HOME", None),
        }
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"unknown settings {unknown}; known: {sorted(known)}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("data_dir", *_CONFIG_FILES, "salt_file", "model_key", "repo"):
            if isinstance(values.get(name), str):
                values[name] = Path(values[name])
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with ``overrides`` (``None`` keeps the current value)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    # -- derived locations ------------------------------------------------------------------
    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def assets_dir(self) -> Path:
        return self.data_dir / "assets"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def releases_dir(self) -> Path:
        return self.data_dir / "releases"

    @property
    def salt_path(self) -> Path:
        """Where the private salt lives."""
        return self.salt_file or self.user_config / "oncobench" / "salt"

    @property
    def model_key_path(self) -> Path:
        """The HMAC key file of this project's data directory."""
        if self.model_key is not None:
            return self.model_key
        digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:16]
        return self.user_config / "oncobench" / "keys" / f"{digest}.key"

    @property
    def logs_dir(self) -> Path:
        """The project's own log folder: never ``$DAGSTER_HOME/logs``, which Dagster's telemetry
        thread uploads and deletes."""
        return (self.dagster_home or self.root / ".dagster") / "oncobench-logs"


def current() -> Settings:
    """Settings of this process from its environment (no overrides)."""
    return Settings.from_environment()


def export_environment(variables: Mapping[str, str], *, overwrite: bool = True) -> None:
    """Set variables for this process and the processes it starts (thread caps, telemetry off)."""
    for name, value in variables.items():
        if overwrite or name not in os.environ:
            os.environ[name] = value


def quiet_environment() -> dict[str, str]:
    """This process's environment with every telemetry switched off, for a child process."""
    return {**os.environ, **QUIET_ENVIRONMENT}

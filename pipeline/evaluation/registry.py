"""The models registry (``config/models.yaml``): which models the ``model_evaluation`` asset scores."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.evaluation.errors import EvaluationError
from pipeline.settings import default_config

DEFAULT_MODELS = default_config("models")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its partition name, spec and tasks."""

    name: str
    model: str
    tasks: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class ModelsRegistry:
    path: Path
    entries: tuple[ModelEntry, ...]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def get(self, name: str) -> ModelEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise EvaluationError(f"{self.path}: no model {name!r}; registered: {', '.join(self.names)}")


def load_models_registry(path: Path | str | None = None) -> ModelsRegistry:
    """Read the registry; names are lower_snake_case, every entry has a model spec.

    An entry's tasks default to the registry's ``tasks``; none listed: every task the release declares.
    """
    path = Path(path or DEFAULT_MODELS)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise EvaluationError(f"cannot read models registry {path}: {error}") from None
    models = raw.get("models") if isinstance(raw, dict) else None
    if not isinstance(models, dict) or not models:
        raise EvaluationError(f"{path}: needs a `models:` mapping of name -> {{model: SPEC, tasks: [...]}}")
    default_tasks = raw.get("tasks") or []  # none listed: every task the release declares
    entries = []
    for name, item in models.items():
        if not NAME.match(str(name)):
            raise EvaluationError(f"{path}: model name {name!r} must be lower_snake_case (it names a partition)")
        if not isinstance(item, dict) or not isinstance(item.get("model"), str):
            raise EvaluationError(f"{path}: model {name!r} needs `model: MODULE:OBJECT` (or reference:fair)")
        tasks = item.get("tasks") or default_tasks
        if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
            raise EvaluationError(f"{path}: model {name!r}: `tasks` must be a list of task names")
        entries.append(
            ModelEntry(str(name), item["model"], tuple(tasks), " ".join(str(item.get("description", "")).split()))
        )
    return ModelsRegistry(path, tuple(entries))

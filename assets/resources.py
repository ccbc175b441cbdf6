"""Small configurable resources: where data lives, the registry, the warehouse, the IO managers.

Every path and setting is filled in by ``assets.definitions.build_definitions`` (from config or
environment variables); nothing here reads the environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from assets.partitions import cached_registry
from pipeline.cohorts.registry import CohortRegistry
from pipeline.io import partition_file, write_parquet_atomic, write_text_atomic
from pipeline.release.settings import ReleaseSettings, load_release_settings
from pipeline.rules import Rule, load_rules
from pipeline.settings import ROOT
from pipeline.validation.gates import ValidationConfig, load_validation_config
from pipeline.warehouse import Warehouse


class CohortRegistryResource(dg.ConfigurableResource):
    """The cohort registry and the salt used to hash patient ids."""

    path: str
    id_salt: str

    def load(self) -> CohortRegistry:
        return cached_registry(self.path)


class ValidationConfigResource(dg.ConfigurableResource):
    """Validation settings and release gates (``config/validation.yaml`` by default)."""

    path: str

    def load(self) -> ValidationConfig:
        return load_validation_config(self.path)


class RulesResource(dg.ConfigurableResource):
    """The clinical plausibility rules (``config/plausibility_rules.yaml`` by default)."""

    path: str

    def load(self) -> list[Rule]:
        return load_rules(self.path)


class ReleaseSettingsResource(dg.ConfigurableResource):
    """The next release's settings (``config/release.yaml`` by default)."""

    path: str

    def load(self) -> ReleaseSettings:
        return load_release_settings(self.path)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (``data/warehouse.duckdb`` by default)."""

    path: str

    def get(self) -> Warehouse:
        return Warehouse(self.path)


class ReleaseStoreResource(dg.ConfigurableResource):
    """Where releases are written (``data/releases``) and the repository that tracks them with DVC."""

    root: str
    repo: str = str(ROOT)


class LazyPartitions(Mapping[str, Any]):
    """``{partition_key: value}`` over the materialized partitions' files, each read on first access,
    so an asset that uses one partition (a stress suite, its cohort's flow) reads only that one."""

    def __init__(self, files: dict[str, Path], read: Callable[[Path], Any]) -> None:
        self._files, self._read, self._loaded = files, read, {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._loaded:
            self._loaded[key] = self._read(self._files[key])  # KeyError for a partition not materialized
        return self._loaded[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


class _PartitionFileIOManager(dg.ConfigurableIOManager):
    """One file per asset partition: ``<base_dir>/<asset>/<partition>.<suffix>``.

    An input declared with ``BY_PARTITION`` metadata (a cohort-partitioned asset reading every
    synthesizer of its cohort, or the release reading every cohort) loads as
    ``{partition_key: value}`` with only the partitions that were materialized.
    """

    base_dir: str

    suffix: str = "parquet"

    def _file(self, asset_key: dg.AssetKey, partition: str) -> Path:
        return partition_file(Path(self.base_dir, *asset_key.path[:-1]), asset_key.path[-1], partition, self.suffix)

    def _output_path(self, context: dg.OutputContext) -> Path:
        partition = context.asset_partition_key if context.has_asset_partitions else "all"
        return self._file(context.asset_key, partition)

    def _write(self, obj, path: Path) -> Path:
        raise NotImplementedError

    def _read(self, path: Path):
        raise NotImplementedError

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        path = self._write(obj, self._output_path(context))
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext):
        if not context.has_asset_partitions:
            return self._read_or_fail(context, self._file(context.asset_key, "all"))
        keys = context.asset_partition_keys
        if not _by_partition(context):
            return self._read_or_fail(context, self._file(context.asset_key, context.asset_partition_key))
        files = {str(key): self._file(context.asset_key, str(key)) for key in keys}
        return LazyPartitions({key: path for key, path in files.items() if path.exists()}, self._read)

    def _read_or_fail(self, context: dg.InputContext, path: Path):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: materialize {context.asset_key.to_user_string()} first")
        return self._read(path)


BY_PARTITION = {"load": "by_partition"}
"""``dg.AssetIn(metadata=BY_PARTITION)``: load the input as ``{partition_key: value}``."""


def _by_partition(context: dg.InputContext) -> bool:
    return (context.definition_metadata or {}).get("load") == "by_partition"


class PolarsParquetIOManager(_PartitionFileIOManager):
    """Stores polars frames as Parquet, written atomically."""

    def _write(self, obj: pl.DataFrame, path: Path) -> Path:
        return write_parquet_atomic(obj, path)

    def _read(self, path: Path) -> pl.DataFrame:
        return pl.read_parquet(path)


class JsonIOManager(_PartitionFileIOManager):
    """Stores small JSON values (the release handle: version, path, manifest sha256), written atomically."""

    suffix: str = "json"

    def _write(self, obj: dict, path: Path) -> Path:
        return write_text_atomic(json.dumps(obj, indent=2, sort_keys=True) + "\n", path)

    def _read(self, path: Path) -> dict:
        return json.loads(path.read_text())


class SynthesizerIOManager(_PartitionFileIOManager):
    """Stores fitted synthesizers in model files that cannot run code when loaded (``pipeline.synthesis.storage``)."""

    suffix: str = "pkl"

    def _write(self, obj, path: Path) -> Path:
        from pipeline.synthesis.storage import save_model

        return save_model(obj, path)

    def _read(self, path: Path):
        """The model of partition ``cohort|synthesizer``; a file fitted on another cohort is refused unread."""
        from pipeline.synthesis.storage import load_model

        return load_model(path, cohort=path.stem.split("__")[0])

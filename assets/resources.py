"""Small configurable resources: where data lives, the registry, the warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pipeline.cohorts.identifiers import DEFAULT_SALT
from pipeline.cohorts.registry import CohortRegistry, load_registry, registry_path
from pipeline.io import write_parquet_atomic
from pipeline.validation.gates import DEFAULT_CONFIG, ValidationConfig, load_validation_config
from pipeline.warehouse import Warehouse

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_data_dir() -> str:
    """``$ONCOBENCH_DATA_DIR`` or the repository's ``data/``."""
    return os.environ.get("ONCOBENCH_DATA_DIR", str(PROJECT_ROOT / "data"))


class CohortRegistryResource(dg.ConfigurableResource):
    """The cohort registry and the salt used to hash patient ids."""

    path: str = str(registry_path())
    id_salt: str = os.environ.get("ONCOBENCH_ID_SALT", DEFAULT_SALT)

    def load(self) -> CohortRegistry:
        return load_registry(Path(self.path))


class ValidationConfigResource(dg.ConfigurableResource):
    """Validation settings and release gates (``config/validation.yaml`` by default)."""

    path: str = os.environ.get("ONCOBENCH_VALIDATION", str(DEFAULT_CONFIG))

    def load(self) -> ValidationConfig:
        return load_validation_config(self.path)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (``data/warehouse.duckdb`` by default)."""

    path: str = str(Path(default_data_dir()) / "warehouse.duckdb")

    def get(self) -> Warehouse:
        return Warehouse(self.path)


class PolarsParquetIOManager(dg.ConfigurableIOManager):
    """Stores polars frames as ``<base_dir>/<asset>/<partition>.parquet``, written atomically."""

    base_dir: str = str(Path(default_data_dir()) / "assets")

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        key = "/".join(context.asset_key.path)
        partition = context.asset_partition_key if context.has_asset_partitions else "all"
        return Path(self.base_dir) / key / f"{partition.replace('|', '__')}.parquet"

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        path = write_parquet_atomic(obj, self._path(context))
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext):
        import polars as pl

        path = self._path(context)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: materialize {context.asset_key.to_user_string()} first")
        return pl.read_parquet(path)


def model_path(base_dir: str, cohort: str, synthesizer: str) -> Path:
    """Where the fitted ``synthesizer`` of ``cohort`` is kept."""
    return Path(base_dir) / "synthesizer_model" / f"{cohort}__{synthesizer}.pkl"


class ModelStoreResource(dg.ConfigurableResource):
    """Read access to fitted synthesizers, for assets partitioned by cohort only (stress_suite)."""

    base_dir: str = str(Path(default_data_dir()) / "models")

    def load(self, cohort: str, synthesizer: str):
        from pipeline.synthesis.base import Synthesizer

        path = model_path(self.base_dir, cohort, synthesizer)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: materialize synthesizer_model {cohort}|{synthesizer}")
        return Synthesizer.load(path)


class AssetFilesResource(dg.ConfigurableResource):
    """Read stored asset values by partition, for the release (which gathers every partition it needs)."""

    base_dir: str = str(Path(default_data_dir()) / "assets")

    def read(self, asset: str, partition: str):
        import polars as pl

        path = Path(self.base_dir) / asset / f"{partition.replace('|', '__')}.parquet"
        return pl.read_parquet(path) if path.exists() else None


class ReleaseStoreResource(dg.ConfigurableResource):
    """Where releases are written (``data/releases``) and the repository that tracks them with DVC."""

    root: str = str(Path(default_data_dir()) / "releases")
    repo: str = str(PROJECT_ROOT)


class SynthesizerIOManager(dg.ConfigurableIOManager):
    """Stores fitted synthesizers as ``<base_dir>/<asset>/<cohort>__<synthesizer>.pkl``."""

    base_dir: str = str(Path(default_data_dir()) / "models")

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        key = "/".join(context.asset_key.path)
        return Path(self.base_dir) / key / f"{context.asset_partition_key.replace('|', '__')}.pkl"

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        path = obj.save(self._path(context))
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext):
        from pipeline.synthesis.base import Synthesizer

        return Synthesizer.load(self._path(context))

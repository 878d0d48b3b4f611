{%- import "team.jinja" as team with context -%}
"""The org's shared IO manager: where each value goes, who may read what, and clear errors.

Template-owned, like storage.py, which builds it for where the code runs. Layout, stable so
tools other than Dagster read it (`<format>` is `parquet`, `json` or, by opt-in, `pickle`):

    <base>/<asset key parts>.<format>
    <base>/<asset key parts>/partition=<key>/data.<format>            one partition
    <base>/<asset key parts>/<dimension>=<key>/.../data.<format>      multi-partitions
    <base>/storage/<run id>/<step>/<output>.<format>                  op outputs
"""

import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import dagster as dg
import pyarrow.fs as pafs

from {{ team.package }} import storage_formats as formats

S3 = "s3://"
PARTITION_FILE = "data"


class SharedStorageIOManager(dg.ConfigurableIOManager):
    """Stores values in open formats under `base`, a local directory or `s3://<bucket>/<prefix>`.

    With `read_only_fallback`, an input missing under `base` is read from there instead; nothing
    is ever written there. Pickles are written only for assets that opt in and read only under
    `team`, this repo's own key prefix: unpickling runs code, so another team's bytes never are.
    """

    base: str
    team: str
    read_only_fallback: str | None = None
    region: str | None = None

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        filesystem, root = self._filesystem(self.base)
        partition = context.asset_partition_key if context.has_asset_partitions else None
        stem = _stem(root, context, partition)
        table = None
        if (context.definition_metadata or {}).get("storage_format") == formats.PICKLE:
            self._check_may_pickle(context)
            kind, data = formats.PICKLE, pickle.dumps(obj)
        elif (table := formats.as_table(obj)) is not None:
            kind = formats.PARQUET
        else:
            kind, data = formats.JSON, self._json(context, obj)
        path = f"{stem}.{kind}"
        with self._explained_errors(filesystem):
            self._remove_other_formats(filesystem, stem, kind)
            if isinstance(filesystem, pafs.LocalFileSystem):
                filesystem.create_dir(path.rpartition("/")[0], recursive=True)
            if table is not None:
                formats.write_table(table, filesystem, path)
            else:
                formats.write_bytes(data, filesystem, path)
        metadata = {"uri": dg.MetadataValue.path(self._uri(path))}
        context.add_output_metadata(
            metadata | (formats.table_metadata(table) if table is not None else {})
        )

    def load_input(self, context: dg.InputContext) -> Any:
        wanted = context.dagster_type.typing_type
        stores = [self._store(base) for base in filter(None, [self.base, self.read_only_fallback])]
        if not context.has_asset_partitions:
            return self._load(context, None, wanted, stores)
        keys = context.asset_partition_keys
        if len(keys) == 1:
            return self._load(context, keys[0], wanted, stores)
        element = formats.element_type(wanted)
        loaded = {key: self._load(context, key, element, stores) for key in keys}
        return {key: value for key, value in loaded.items() if value is not _MISSING}

    def _store(self, base: str) -> "_Store":
        filesystem, root = self._filesystem(base)
        return _Store(filesystem, root)

    def _load(
        self, context: dg.InputContext, partition: str | None, wanted: Any, stores: list["_Store"]
    ) -> Any:
        """Read the first format found under `base`, else under the fallback."""
        for store in stores:
            stem = _stem(store.root, context, partition)
            with self._explained_errors(store.filesystem):
                stored = store.files(context)
                kind = next(
                    (kind for kind in formats.READ_ORDER if f"{stem}.{kind}" in stored), None
                )
                if kind is not None:
                    return self._read(context, store.filesystem, f"{stem}.{kind}", kind, wanted)
            legacy = _legacy_path(store.root, context, partition)
            if legacy in stored:
                raise self._legacy_pickle(context, legacy)
        if partition and (context.definition_metadata or {}).get("allow_missing_partitions"):
            context.log.warning(f"Skipped missing partition {partition} of {_name(context)}.")
            return _MISSING
        raise self._not_found(context, partition)

    def _read(
        self,
        context: dg.InputContext,
        filesystem: pafs.FileSystem,
        path: str,
        kind: str,
        wanted: Any,
    ) -> Any:
        context.log.debug(f"Loading {_name(context)} from {self._uri(path)}")
        if kind == formats.PARQUET:
            columns = (context.definition_metadata or {}).get("columns")
            return formats.read_table(filesystem, path, wanted, columns)
        if kind == formats.JSON:
            return formats.read_json(filesystem, path, wanted)
        if not self._may_unpickle(context):
            raise dg.Failure(
                f"{_name(context)} is stored as a pickle at {self._uri(path)}, under team "
                f"{_owner(context, self.team)!r}'s prefix. This repo never unpickles another "
                "team's objects (unpickling runs their code). Ask that team to drop the asset's "
                "pickle opt-in and re-materialize it as Parquet or JSON."
            )
        return formats.read_pickle(filesystem, path)

    def _may_unpickle(self, context: dg.InputContext) -> bool:
        """This team's own asset prefix, or an op output of this code that opted in."""
        if context.has_asset_key:
            return context.asset_key.path[0] == self.team
        upstream = context.upstream_output
        return bool(
            upstream
            and (upstream.definition_metadata or {}).get("storage_format") == formats.PICKLE
        )

    def _check_may_pickle(self, context: dg.OutputContext) -> None:
        if context.has_asset_key and context.asset_key.path[0] != self.team:
            raise dg.Failure(
                f"{_name(context)} opts in to pickle, but pickle is only for this team's own "
                f"assets, under the key prefix {self.team!r}. Move the asset under that prefix "
                "or drop its storage_format metadata."
            )

    def _json(self, context: dg.OutputContext, obj: Any) -> bytes:
        try:
            return formats.to_json(obj)
        except formats.UnsupportedValue as error:
            raise dg.Failure(
                f"{_name(context)} returned a {formats.type_name(obj)}, which the shared storage "
                f"cannot write in an open format ({error}). Return {formats.SUPPORTED}. If no "
                "other team reads this asset, opt in to pickle with "
                "metadata={'storage_format': 'pickle'}."
            ) from error

    def _remove_other_formats(self, filesystem: pafs.FileSystem, stem: str, kind: str) -> None:
        """A format change must not leave an older object that readers would find first."""
        others = [f"{stem}.{other}" for other in formats.READ_ORDER if other != kind]
        for info in filesystem.get_file_info(others):
            if info.type == pafs.FileType.File:
                filesystem.delete_file(info.path)

    def _filesystem(self, base: str) -> tuple[pafs.FileSystem, str]:
        if not base.startswith(S3):
            return pafs.LocalFileSystem(), base
        filesystem = pafs.S3FileSystem(
            region=self.region,
            endpoint_override=_endpoint(),
            connect_timeout=5,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=3),
        )
        root = base.removeprefix(S3)
        with self._explained_errors(filesystem):
            if filesystem.get_file_info(self._bucket).type == pafs.FileType.NotFound:
                raise OSError("the bucket does not exist")
        return filesystem, root

    @property
    def _bucket(self) -> str:
        return self.base.removeprefix(S3).partition("/")[0]

    def _uri(self, path: str) -> str:
        return S3 + path if self.base.startswith(S3) else path

    def _not_found(self, context: dg.InputContext, partition: str | None) -> dg.Failure:
        where = " or ".join(
            repr(base) for base in filter(None, [self.base, self.read_only_fallback])
        )
        return dg.Failure(
            f"{_name(context)}{f' partition {partition}' if partition else ''} is not stored "
            f"under {where}. Materialize it in this deployment first; if its owner has, check "
            "that this repo's storage.py still matches the org's (its tests check this)."
        )

    def _legacy_pickle(self, context: dg.InputContext, path: str) -> dg.Failure:
        return dg.Failure(
            f"{_name(context)} exists only as a pickle written by an earlier template version, at "
            f"{self._uri(path)}. Team {_owner(context, self.team)!r} must re-materialize it: "
            "its next materialization stores it as Parquet or JSON, which every team can read."
        )

    @contextmanager
    def _explained_errors(self, filesystem: pafs.FileSystem) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise
        except OSError as error:
            if not isinstance(filesystem, pafs.S3FileSystem):
                raise
            raise dg.Failure(
                f"Cannot use S3 bucket {self._bucket!r} at {_endpoint() or 'AWS S3'}: {error}. "
                "Check that the bucket exists, that AWS_ENDPOINT_URL points at the right store "
                "and that this deployment's credentials can reach it."
            ) from error


_MISSING = object()


def _endpoint() -> str | None:
    """boto3's variables for S3-compatible stores, which pyarrow does not read itself."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def _name(context: dg.InputContext | dg.OutputContext) -> str:
    return context.asset_key.to_user_string() if context.has_asset_key else context.name


def _owner(context: dg.InputContext, team: str) -> str:
    return context.asset_key.path[0] if context.has_asset_key else team


def _key_parts(context: dg.InputContext | dg.OutputContext) -> list[str]:
    if context.has_asset_key:
        return list(context.asset_key.path)
    return ["storage", *context.get_identifier()]


def _partition_dirs(partition: str) -> str:
    """Hive-style directories, which DuckDB, Athena, Spark and pyarrow datasets turn into columns."""
    if isinstance(partition, dg.MultiPartitionKey):
        items = sorted(partition.keys_by_dimension.items())
    else:
        items = [("partition", partition)]
    return "/".join(f"{dimension}={quote(key, safe='')}" for dimension, key in items)


def _stem(root: str, context: dg.InputContext | dg.OutputContext, partition: str | None) -> str:
    """Where a value goes, without its format's extension."""
    path = "/".join([root, *_key_parts(context)])
    return f"{path}/{_partition_dirs(partition)}/{PARTITION_FILE}" if partition else path


def _legacy_path(root: str, context: dg.InputContext, partition: str | None) -> str:
    """Where earlier template versions pickled the value (dagster's pickle IO managers)."""
    return "/".join([root, *_key_parts(context), *([partition] if partition else [])])


class _Store:
    """One filesystem and root, listed at most once per input: one request for all partitions."""

    def __init__(self, filesystem: pafs.FileSystem, root: str) -> None:
        self.filesystem, self.root = filesystem, root
        self._files: set[str] | None = None

    def files(self, context: dg.InputContext) -> set[str]:
        """Every object the input may be in: the asset's folder if partitioned, else its parent."""
        if self._files is None:
            parts = _key_parts(context)
            partitioned = context.has_asset_partitions
            directory = "/".join([self.root, *(parts if partitioned else parts[:-1])])
            selector = pafs.FileSelector(directory, allow_not_found=True, recursive=partitioned)
            infos = self.filesystem.get_file_info(selector)
            self._files = {info.path for info in infos if info.type == pafs.FileType.File}
        return self._files

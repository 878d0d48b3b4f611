"""The org's shared IO manager: where each value goes, who may read what, and clear errors.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

A team repo's storage.py builds it for where the code runs. Where values land is layout.py's;
how they are published, versioned and read back is store.py's.
"""

import functools
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import dagster as dg

from . import formats
from .layout import object_stem, partition_dirs
from .store import UNVERSIONED, LocalStore, S3Store, Store, Unreadable, VersionNotFound

S3 = "s3://"


class SharedStorageIOManager(dg.ConfigurableIOManager):
    """Stores values in open formats under `base`, a local directory or `s3://<bucket>/<prefix>`.

    Every write publishes a complete new version or nothing (see store.py), and
    records the version's id next to its uri. Inputs load the current version, or the one their
    `version` metadata pins. With `read_only_fallback`, an input missing under `base` is read
    from there instead; nothing is ever written there. Pickles are written only for assets that
    opt in and read only under `team`, this repo's own key prefix: unpickling runs code, so
    another team's bytes never are.
    """

    base: str
    team: str
    read_only_fallback: str | None = None
    region: str | None = None
    history_days: int = 30

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        store = self.store(self.base)
        partition = context.asset_partition_key if context.has_asset_partitions else None
        stem = _stem(store.root, context, partition)
        table = None
        if (context.definition_metadata or {}).get("storage_format") == formats.PICKLE:
            self._check_may_pickle(context)
            kind, data = formats.PICKLE, pickle.dumps(obj)
        elif (table := formats.as_table(obj)) is not None:
            kind = formats.PARQUET
        else:
            kind, data = formats.JSON, self._json(context, obj)
        path = f"{stem}.{kind}"

        def write(sink: BinaryIO) -> None:
            if table is not None:
                formats.write_table(table, sink)
            else:
                sink.write(data)

        with self.explained_errors():
            version = store.publish(stem, kind, write, context.run_id).id
        if version == UNVERSIONED:
            context.log.warning(
                f"Bucket {self._bucket!r} keeps no earlier versions of {_name(context)}, so it "
                "cannot be rolled back. Ask the platform team to enable versioning on the bucket."
            )
        metadata = {"uri": dg.MetadataValue.path(self._uri(path)), "version": version}
        context.add_output_metadata(
            metadata | (formats.table_metadata(table) if table is not None else {})
        )

    def load_input(self, context: dg.InputContext) -> Any:
        wanted = context.dagster_type.typing_type
        bases = filter(None, [self.base, self.read_only_fallback])
        stores = [_Listing(self.store(base)) for base in bases]
        keys = context.asset_partition_keys if context.has_asset_partitions else [None]
        pins = _pins(context, keys)
        if formats.is_lazy(wanted):
            found = {key: self._find(context, key, stores) for key in keys}
            found = {key: value for key, value in found.items() if value is not _MISSING}
            with self.explained_errors():
                return formats.lazy(wanted, self._lazy_sources(context, found, pins))
        if len(keys) == 1:
            return self._load(context, keys[0], wanted, stores, pins)
        element = formats.element_type(wanted)
        loaded = {key: self._load(context, key, element, stores, pins) for key in keys}
        return {key: value for key, value in loaded.items() if value is not _MISSING}

    def store(self, base: str) -> Store:
        """Where `base` lives, and how its objects are published, versioned and read."""
        if not base.startswith(S3):
            return LocalStore(base, self.history_days)
        client = _s3(self.region, _endpoint())
        with self.explained_errors():
            _check_bucket(client, base.removeprefix(S3).partition("/")[0])
        return S3Store(base.removeprefix(S3), self.history_days, client)

    def _find(
        self, context: dg.InputContext, partition: str | None, stores: list["_Listing"]
    ) -> Any:
        """The store and path of the first format found under `base`, else under the fallback."""
        for listing in stores:
            stem = _stem(listing.store.root, context, partition)
            with self.explained_errors():
                stored = listing.files(context, partition)
            kind = next((kind for kind in formats.READ_ORDER if f"{stem}.{kind}" in stored), None)
            if kind is not None:
                return listing.store, f"{stem}.{kind}", kind
            legacy = _legacy_path(listing.store.root, context, partition)
            if legacy in stored:
                raise self._legacy_pickle(context, legacy)
        if partition and (context.definition_metadata or {}).get("allow_missing_partitions"):
            context.log.warning(f"Skipped missing partition {partition} of {_name(context)}.")
            return _MISSING
        raise self._not_found(context, partition)

    def _load(
        self,
        context: dg.InputContext,
        partition: str | None,
        wanted: Any,
        stores: list["_Listing"],
        pins: dict,
    ) -> Any:
        found = self._find(context, partition, stores)
        if found is _MISSING:
            return _MISSING
        store, path, kind = found
        if partition in pins:  # a pinned version may be of another format than the current one
            path, kind = self._pinned_format(context, store, path, partition, pins)
        if kind == formats.PICKLE and not self._may_unpickle(context):
            raise dg.Failure(
                f"{_name(context)} is stored as a pickle at {self._uri(path)}, under team "
                f"{_owner(context, self.team)!r}'s prefix. This repo never unpickles another "
                "team's objects (unpickling runs their code). Ask that team to drop the asset's "
                "pickle opt-in and re-materialize it as Parquet or JSON."
            )
        columns = (context.definition_metadata or {}).get("columns")
        read = functools.partial(formats.read, kind=kind, wanted=wanted, columns=columns)
        with self.explained_errors(), self._pinned(context, partition, pins):
            try:
                value, version = store.read(path, pins.get(partition), read)
            except Unreadable as unreadable:
                raise self._unreadable(context, partition, unreadable) from unreadable
        context.log.debug(f"Loaded {_name(context)} version {version} from {self._uri(path)}")
        return value

    def _pinned_format(
        self, context: dg.InputContext, store: Store, path: str, partition, pins: dict
    ) -> tuple[str, str]:
        """The pinned version's object: its format may differ from the current one's.

        A version the journal does not list (written before it) is looked for in `path` itself.
        """
        with self.explained_errors():
            try:
                version = store.version(path, pins[partition])
            except VersionNotFound:
                return path, path.rpartition(".")[2]
        return version.path, version.kind

    def _lazy_sources(self, context: dg.InputContext, found: dict, pins: dict) -> list:
        """Each partition's current (or pinned) version, opened lazily, with its Hive columns."""
        sources = []
        for partition, (store, path, kind) in found.items():
            if kind != formats.PARQUET:
                raise dg.Failure(
                    f"{_name(context)} is stored as {kind}, not as a table: annotate the input "
                    "with a table type (a pandas or polars DataFrame, a pyarrow Table) or none."
                )
            with self._pinned(context, partition, pins):
                source, filesystem = store.lazy_source(path, pins.get(partition))
            sources.append((source, filesystem, _partition_columns(partition)))
        return sources

    @contextmanager
    def _pinned(self, context: dg.InputContext, partition: str | None, pins: dict):
        try:
            yield
        except VersionNotFound as missing:
            where = f" partition {partition}" if partition else ""
            raise dg.Failure(
                f"{_name(context)}{where} has no version {missing.version!r} at "
                f"{self._uri(missing.path)}: it never existed, or is older than the org's "
                "retention. `shared-storage history` in the owning team's repo lists the "
                "versions there are; pin one of them, or drop the input's `version` metadata "
                "to read the current one."
            ) from None

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
            f"under {where}. Its owner materializes it first: in this deployment, or on a laptop "
            f"with `uv run dg launch --assets {_name(context)}` in the owner's repository. If "
            "the owner has, check that this repo's storage.py still matches the org's (its "
            "tests check this)."
        )

    def _unreadable(
        self, context: dg.InputContext, partition: str | None, unreadable: Unreadable
    ) -> dg.Failure:
        where = f" partition {partition}" if partition else ""
        kind = unreadable.path.rpartition(".")[2]
        return dg.Failure(
            f"{_name(context)}{where} version {unreadable.version} at "
            f"{self._uri(unreadable.path)} cannot be read as {kind}: {unreadable.error}. The "
            "object is damaged or was not written by the shared storage. Its owner can roll "
            "it back to an earlier version with `shared-storage rollback`."
        )

    def _legacy_pickle(self, context: dg.InputContext, path: str) -> dg.Failure:
        return dg.Failure(
            f"{_name(context)} exists only as a pickle written by an earlier template version, at "
            f"{self._uri(path)}. Team {_owner(context, self.team)!r} must re-materialize it: "
            "its next materialization stores it as Parquet or JSON, which every team can read."
        )

    @contextmanager
    def explained_errors(self) -> Iterator[None]:
        """S3's errors, with the bucket and endpoint named; the local directory's as they are."""
        if not self.base.startswith(S3):
            yield
            return
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError) as error:
            code = error.response["Error"]["Code"] if isinstance(error, ClientError) else ""
            reason = "the bucket does not exist" if code in ("404", "NoSuchBucket") else error
            raise dg.Failure(
                f"Cannot use S3 bucket {self._bucket!r} at {_endpoint() or 'AWS S3'}: {reason}. "
                "Check that the bucket exists, that AWS_ENDPOINT_URL points at the right store "
                "and that this deployment's credentials can reach it."
            ) from error


_MISSING = object()


@functools.cache
def _s3(region: str | None, endpoint: str | None) -> Any:
    """One boto3 client per process and store: making one costs a tenth of a second or more.

    Enough connections for the parallel parts of an upload and the threads of a run.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5, retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32
    )
    return boto3.client("s3", region_name=region, endpoint_url=endpoint, config=config)


@functools.cache
def _check_bucket(client, bucket: str) -> None:
    """Once per process: S3-compatible stores may make a missing bucket on the first write."""
    client.head_bucket(Bucket=bucket)


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


def _stem(root: str, context: dg.InputContext | dg.OutputContext, partition: str | None) -> str:
    dirs = partition_dirs(partition) if partition else None
    return object_stem(root, _key_parts(context), dirs)


def _legacy_path(root: str, context: dg.InputContext, partition: str | None) -> str:
    """Where earlier template versions pickled the value (dagster's pickle IO managers)."""
    return "/".join([root, *_key_parts(context), *([partition] if partition else [])])


class _Listing:
    """A store as one input sees it: listed once, one request for all partitions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._files: set[str] | None = None

    def files(self, context: dg.InputContext, partition: str | None) -> set[str]:
        """Every object the value may be in: the asset's folder if partitioned, else its parent."""
        if self._files is None:
            asset = object_stem(self.store.root, _key_parts(context), None)
            directory = asset if partition else asset.rpartition("/")[0]
            self._files = self.store.files(directory, recursive=bool(partition))
        return self._files


def _pins(context: dg.InputContext, keys: list) -> dict:
    """The input's `version` metadata: one id, or ids by partition."""
    pinned = (context.definition_metadata or {}).get("version")
    if pinned is None or isinstance(pinned, dict):
        return pinned or {}
    if len(keys) > 1:
        raise dg.Failure(
            f"The input from {_name(context)} pins version {pinned!r} but loads "
            f"{len(keys)} partitions. Pin one version per partition: metadata="
            "{'version': {'<partition key>': '<version id>', ...}}."
        )
    return {keys[0]: pinned}


def _partition_columns(partition: str | None) -> dict[str, str]:
    """A partition's Hive columns, as readers of the layout see them."""
    if partition is None:
        return {}
    if isinstance(partition, dg.MultiPartitionKey):
        return dict(partition.keys_by_dimension)
    return {"partition": partition}

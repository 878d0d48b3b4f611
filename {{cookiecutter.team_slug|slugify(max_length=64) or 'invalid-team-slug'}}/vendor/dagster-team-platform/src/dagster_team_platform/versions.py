"""Atomic publishing and version history of the shared storage's objects.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

Readers see the previous complete version or the new complete version, never part of one,
whatever fails, is cancelled or killed mid-write. Earlier versions stay readable by id until the
org's retention expires them. Two stores, one interface:

- S3, with versioning on the org's buckets: an object is one PutObject, or a multipart upload
  completed only after its last part and aborted on any error or interrupt. S3 keeps the
  earlier versions; the bucket's lifecycle rule expires them.
- A local directory: a version is written in full to a hidden history folder beside the
  object, then hard-linked into place by an atomic rename; this store expires old versions.
"""

import contextlib
import datetime
import io
import os
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.fs as pafs

Writer = Callable[[BinaryIO], None]
Reader = Callable[[pa.NativeFile], Any]
RUN_ID = "dagster-run-id"  # the object's metadata key that names the run that wrote it
RESTORED_FROM = "dagster-restored-from"
UNVERSIONED = "unversioned"  # objects written before versioning, or to a bucket without it


@dataclass(frozen=True)
class Version:
    """One stored version of one object: `path` says which object, and so which format."""

    id: str
    path: str
    written_at: datetime.datetime
    current: bool


class LocalVersions:
    """A directory: `<dir>/<name>` is the current version, `<dir>/.<name>.versions/` the history.

    History entries are hard links, so the current version costs no extra space. Their names,
    `<time>-<random>.<run id>`, sort by time; readers that skip hidden files never see them.
    """

    def __init__(self, history_days: int) -> None:
        self.history_days = history_days

    def publish(self, path: str, write: Writer, run_id: str) -> str:
        history = _history_dir(path)
        history.mkdir(parents=True, exist_ok=True)
        version = _new_version()
        partial = history / f".{version}.partial"
        try:
            with open(partial, "wb") as stream:
                write(stream)
                stream.flush()
                os.fsync(stream.fileno())
            entry = history / f"{version}.{run_id or '-'}"
            partial.rename(entry)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self._make_current(entry, path)
        return version

    def versions(self, paths: list[str]) -> list[Version]:
        """Every version of these objects (one per format), newest first."""
        found = []
        for path in paths:
            current = _inode(Path(path))
            for entry in sorted(_entries(_history_dir(path)), reverse=True):
                version = entry.name.partition(".")[0]
                is_current = current is not None and _inode(entry) == current
                current = None if is_current else current  # a restore shares its source's inode
                found.append(Version(version, path, _written_at(version), is_current))
        return sorted(found, key=lambda version: version.id, reverse=True)

    def run_id(self, version: Version) -> str:
        return self._entry(version.id, version.path).name.partition(".")[2].removeprefix("-")

    def read(self, path: str, version: str | None, reader: Reader) -> tuple[Any, str]:
        """Read an immutable history entry: a publish during the read cannot change it."""
        file, version = self._file(path, version)
        with pa.memory_map(file) as source:
            return reader(source), version

    def restore(self, version: Version, run_id: str) -> str:
        """Publish an earlier version again, as the newest: a hard link, whatever its size."""
        restored = _new_version()
        entry = self._entry(version.id, version.path)
        copy = entry.parent / f"{restored}.{run_id or '-'}"
        os.link(entry, copy)
        self._make_current(copy, version.path)
        return restored

    def remove(self, path: str) -> None:
        """The object stops being current; its versions stay in the history."""
        Path(path).unlink(missing_ok=True)

    def formats_of(self, stem: str) -> set[str]:
        """The extensions of the current objects named `<stem>.<extension>`."""
        folder, name = os.path.split(stem)
        return {path.name[len(name) + 1 :] for path in Path(folder).glob(f"{name}.*")}

    def files(self, directory: str, recursive: bool) -> set[str]:
        root = Path(directory)
        if not root.is_dir():
            return set()
        found = root.rglob("*") if recursive else root.iterdir()
        return {str(path) for path in found if path.is_file() and not _hidden(path, root)}

    def lazy_source(self, path: str, version: str | None) -> tuple[str, pafs.FileSystem]:
        return self._file(path, version)[0], pafs.LocalFileSystem()

    def _file(self, path: str, version: str | None) -> tuple[str, str]:
        """The immutable file of a version (by default the current one), and its id.

        An object written before the storage kept history has no entry: it is read in place.
        """
        if version is None:
            version = next((v.id for v in self.versions([path]) if v.current), UNVERSIONED)
        return (path if version == UNVERSIONED else str(self._entry(version, path))), version

    def _entry(self, version: str, path: str) -> Path:
        for entry in _entries(_history_dir(path)):
            if entry.name.partition(".")[0] == version:
                return entry
        raise VersionNotFound(path, version)

    def _make_current(self, entry: Path, path: str) -> None:
        staged = entry.parent / f".{entry.name}.link"
        staged.unlink(missing_ok=True)
        os.link(entry, staged)
        os.replace(staged, path)
        self._expire(entry.parent)

    def _expire(self, history: Path) -> None:
        """Like S3's lifecycle rule: a version goes once it has been replaced for the retention.

        Partial writes of killed processes go after a day.
        """
        now = time.time()
        newer = None
        for entry in sorted(_entries(history), reverse=True):
            replaced = newer and _written_at(newer.name.partition(".")[0]).timestamp()
            if replaced and replaced <= now - self.history_days * 86_400:
                entry.unlink(missing_ok=True)
            newer = entry
        for leftover in history.glob(".*"):
            if leftover.stat().st_mtime < now - 86_400:
                leftover.unlink(missing_ok=True)


class S3Versions:
    """An S3 bucket with versioning: S3 keeps every version, each with its own id."""

    PART_BYTES = 16 * 2**20
    PARALLEL_PARTS = 4

    def __init__(self, client, filesystem: pafs.S3FileSystem) -> None:
        self.client, self.filesystem = client, filesystem

    def publish(self, path: str, write: Writer, run_id: str) -> str:
        bucket, key = _split(path)
        upload = _Upload(self, bucket, key, {RUN_ID: run_id})
        try:
            write(upload)
            return upload.complete()
        except BaseException:
            with contextlib.suppress(Exception):  # a store that is gone keeps the upload unseen
                upload.abort()
            raise

    def versions(self, paths: list[str]) -> list[Version]:
        found = []
        for path in paths:
            bucket, key = _split(path)
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=bucket, Prefix=key
            )
            for page in pages:
                for item in page.get("Versions", []):
                    if item["Key"] == key:
                        version = _version_id(item)
                        found.append(Version(version, path, item["LastModified"], item["IsLatest"]))
        return sorted(found, key=lambda version: version.written_at, reverse=True)

    def run_id(self, version: Version) -> str:
        bucket, key = _split(version.path)
        head = self.client.head_object(Bucket=bucket, Key=key, VersionId=version.id)
        return head.get("Metadata", {}).get(RUN_ID, "")

    def read(self, path: str, version: str | None, reader: Reader) -> tuple[Any, str]:
        """Read one version whole, never a mix of two.

        The current version is read with pyarrow's parallel ranged reads, then checked: if a
        publish replaced it meanwhile, the version seen first is read again, in one request.
        """
        if version not in (None, UNVERSIONED):
            return reader(self._whole(path, version)), version
        before = self._identity(path)
        try:
            value = reader(self.filesystem.open_input_file(path))
        except Exception:
            if self._identity(path) == before:
                raise
        else:
            if self._identity(path) == before:
                return value, before[0]
        return reader(self._whole(path, before[0])), before[0]

    def restore(self, version: Version, run_id: str) -> str:
        """A server-side copy of the earlier version becomes the newest: no bytes pass here."""
        bucket, key = _split(version.path)
        metadata = {RUN_ID: run_id, RESTORED_FROM: version.id}
        copied = self.client.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key, "VersionId": version.id},
            Metadata=metadata,
            MetadataDirective="REPLACE",
        )
        return _version_id(copied)

    def remove(self, path: str) -> None:
        """A delete marker: the object stops being current; its versions stay."""
        bucket, key = _split(path)
        self.client.delete_object(Bucket=bucket, Key=key)

    def formats_of(self, stem: str) -> set[str]:
        bucket, key = _split(stem)
        listed = self.client.list_objects_v2(Bucket=bucket, Prefix=key + ".", Delimiter="/")
        return {item["Key"][len(key) + 1 :] for item in listed.get("Contents", [])}

    def files(self, directory: str, recursive: bool) -> set[str]:
        bucket, prefix = _split(directory)
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix + "/", **({} if recursive else {"Delimiter": "/"})
        )
        return {f"{bucket}/{item['Key']}" for page in pages for item in page.get("Contents", [])}

    def lazy_source(self, path: str, version: str | None) -> tuple[pa.NativeFile, None]:
        """Ranged reads of one version: the current one is pinned by the HEAD that sizes it."""
        bucket, key = _split(path)
        pinned = {"VersionId": version} if version not in (None, UNVERSIONED) else {}
        try:
            head = self.client.head_object(Bucket=bucket, Key=key, **pinned)
        except self.client.exceptions.ClientError as error:
            if pinned and error.response["Error"]["Code"] in ("400", "404", "NoSuchVersion"):
                raise VersionNotFound(path, version) from None
            raise
        if _version_id(head) != UNVERSIONED:
            pinned = {"VersionId": head["VersionId"]}
        ranged = _RangedObject(self, path, head["ContentLength"], pinned)
        return pa.PythonFile(io.BufferedReader(ranged, 2**20), mode="r"), None

    def _identity(self, path: str) -> tuple[str, str]:
        """The current version's id and ETag: the ETag tells apart writes to unversioned buckets."""
        bucket, key = _split(path)
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
        except self.client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                raise FileNotFoundError(path) from None
            raise
        return _version_id(head), head["ETag"]

    def _whole(self, path: str, version: str) -> pa.BufferReader:
        bucket, key = _split(path)
        pinned = {"VersionId": version} if version != UNVERSIONED else {}
        return pa.BufferReader(self._get(path, Bucket=bucket, Key=key, **pinned)["Body"].read())

    def _get(self, path: str, **request) -> dict:
        try:
            return self.client.get_object(**request)
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(path) from None
        except self.client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchVersion", "InvalidArgument"):
                raise VersionNotFound(path, request.get("VersionId", "")) from None
            raise


class VersionNotFound(LookupError):
    def __init__(self, path: str, version: str) -> None:
        super().__init__(f"no version {version!r} of {path}")
        self.path, self.version = path, version


class _Upload(io.RawIOBase):
    """A write-only stream that becomes one S3 object only when `complete` is called.

    Parts upload in the background while the writer encodes the next; small objects go in one
    PutObject. Until completion nothing is visible, and `abort` discards the uploaded parts.
    """

    def __init__(self, store: S3Versions, bucket: str, key: str, metadata: dict) -> None:
        self.client, self.part_bytes = store.client, store.PART_BYTES
        self.target = {"Bucket": bucket, "Key": key}
        self.metadata = metadata
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[Future] = []
        self.pool = ThreadPoolExecutor(store.PARALLEL_PARTS)
        self.in_flight = store.PARALLEL_PARTS

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        """Parts need not be of one size (only the last may be under 5 MiB): one copy each."""
        self.buffer += data
        if len(self.buffer) >= self.part_bytes:
            self._send(bytes(self.buffer))
            self.buffer = bytearray()
        return len(data)

    def close(self) -> None:
        """Writers close their stream when done or failing; only `complete` publishes."""

    def complete(self) -> str:
        if self.upload_id is None:
            response = self.client.put_object(
                **self.target, Body=bytes(self.buffer), Metadata=self.metadata
            )
        else:
            if self.buffer or not self.parts:
                self._send(bytes(self.buffer))
            parts = [future.result() for future in self.parts]
            response = self.client.complete_multipart_upload(
                **self.target, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
            )
        self.pool.shutdown()
        return _version_id(response)

    def abort(self) -> None:
        for part in self.parts:
            part.cancel()
        self.pool.shutdown(wait=True)
        if self.upload_id is not None:
            self.client.abort_multipart_upload(**self.target, UploadId=self.upload_id)

    def _send(self, chunk: bytes) -> None:
        if self.upload_id is None:
            created = self.client.create_multipart_upload(**self.target, Metadata=self.metadata)
            self.upload_id = created["UploadId"]
        if len(self.parts) >= self.in_flight:
            self.parts[-self.in_flight].result()  # at most `in_flight` parts held in memory
        number = len(self.parts) + 1
        self.parts.append(self.pool.submit(self._upload_part, number, chunk))

    def _upload_part(self, number: int, chunk: bytes) -> dict:
        response = self.client.upload_part(
            **self.target, UploadId=self.upload_id, PartNumber=number, Body=chunk
        )
        return {"PartNumber": number, "ETag": response["ETag"]}


class _RangedObject(io.RawIOBase):
    """One version of an object, read by byte ranges as a lazy reader asks for them."""

    def __init__(self, store: S3Versions, path: str, size: int, pinned: dict) -> None:
        self.store, self.path, self.size, self.pinned = store, path, size, pinned
        self.bucket, self.key = _split(path)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        end = min(self.position + len(buffer), self.size)
        if end <= self.position:
            return 0
        response = self.store._get(
            self.path,
            Bucket=self.bucket,
            Key=self.key,
            Range=f"bytes={self.position}-{end - 1}",
            **self.pinned,
        )
        data = response["Body"].read()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def _version_id(response: dict) -> str:
    """S3 says "null", or nothing, for objects in a bucket without versioning."""
    version = response.get("VersionId")
    return version if version and version != "null" else UNVERSIONED


def _split(path: str) -> tuple[str, str]:
    bucket, _, key = path.partition("/")
    return bucket, key


def _history_dir(path: str) -> Path:
    file = Path(path)
    return file.parent / f".{file.name}.versions"


def _entries(history: Path) -> Iterator[Path]:
    if history.is_dir():
        yield from (entry for entry in history.iterdir() if not entry.name.startswith("."))


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _new_version() -> str:
    """Sortable by time, unique across processes writing at the same instant."""
    return f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"


def _written_at(version: str) -> datetime.datetime:
    stamp = version.partition("-")[0]
    return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=datetime.UTC)

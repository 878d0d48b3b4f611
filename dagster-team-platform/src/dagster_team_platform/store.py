"""The shared storage's one store layer: publish, retire, history and rollback of each value.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

What it guarantees, on S3 and in a local directory alike:

- A publish is one step per value. The new version is written in full first (nothing visible),
  then, holding the value's lock, made current, journaled, and the value's other formats are
  retired. Readers see the previous complete version or the new one, whatever fails, is
  cancelled or killed mid-write; concurrent writers, of one format or several, in any number of
  processes, leave exactly one current object, the last one published.
- The journal lists the versions in publish order, one entry per publish or rollback, its
  metadata in the entry's name: a history of any length is a listing, a page per 1,000.
- A rollback is conditional: it replaces only the version its caller saw as current.
- An asset's objects are found by exact name only (see layout.py), never by prefix.

Two stores, one interface. S3, with versioning on the org's buckets, keeps the earlier versions
itself (the bucket's lifecycle rule expires them); the journal holds their ids. The lock is an
object created with `If-None-Match: *` (a conditional write: AWS and SeaweedFS refuse it with 412
while the lock exists); a lock left by a killed process is taken over once its lease expires, by
server time, with `If-Match` on its ETag. A local directory keeps each version as its own
read-only file in the history folder, copied into place by an atomic rename; an OS file lock
serialises publishers, and is released even when a process is killed.
"""

import contextlib
import datetime
import fcntl
import io
import itertools
import os
import random
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.fs as pafs

from .formats import READ_ORDER
from .layout import history_dir

Writer = Callable[[BinaryIO], None]
Reader = Callable[[pa.NativeFile], Any]
UNVERSIONED = "unversioned"  # objects written before versioning, or to a bucket without it
LOCK = ".lock"
LEASE_SECONDS = 60  # a publish holds its lock for a few requests; a dead holder's lock expires
WAIT_SECONDS = 600  # how long a publish waits for other publishers of the same value
FIRST_SEQUENCE = 10**12  # journal names count down, so a listing starts with the newest entry


@dataclass(frozen=True)
class Version:
    """One published version of one value; `kind` is its format, `path` its object."""

    id: str
    path: str
    kind: str
    published_at: datetime.datetime
    run_id: str
    restored_from: str
    current: bool
    sequence: int


class VersionNotFound(LookupError):
    def __init__(self, path: str, version: str) -> None:
        super().__init__(f"no version {version!r} of {path}")
        self.path, self.version = path, version


class Superseded(RuntimeError):
    """A rollback found another version current than the one its caller inspected."""

    def __init__(self, current: Version | None) -> None:
        super().__init__(f"version {current.id if current else None} is current")
        self.current = current


class Unreadable(ValueError):
    """A stored object that is not what its format says: corrupt, truncated or foreign."""

    def __init__(self, path: str, version: str, error: Exception) -> None:
        super().__init__(f"{path} version {version}: {error}")
        self.path, self.version, self.error = path, version, error


class Store:
    """One root (a directory, or `bucket/prefix`) and the versioned values under it."""

    PRUNE_EVERY = 1  # publishes between two prunings of a journal: each one lists all of it

    def __init__(self, root: str, history_days: int) -> None:
        self.root, self.history_days = root, history_days

    def publish(self, stem: str, kind: str, write: Writer, run_id: str) -> Version:
        """Write a new version of the value at `stem` in format `kind`; current on return."""
        staged = self._stage(f"{stem}.{kind}", write)
        try:
            with self._locked(stem):
                return self._make_current(stem, kind, staged, run_id, "")
        finally:
            self._discard(staged)

    def rollback(self, target: Version, expected: str | None) -> Version:
        """Publish `target` again as the newest version, if `expected` is still current."""
        stem = target.path.rpartition(".")[0]
        with self._locked(stem):
            current = self._newest(stem)
            if (current.id if current else None) != expected:
                raise Superseded(current and replace(current, current=True))
            restored = self._restored(target)
            return self._make_current(stem, target.kind, restored, "", target.id)

    def history(self, stem: str) -> list[Version]:
        """Every version of the value, every format, newest first; the first one is current.

        A value written before the journal existed shows its current object alone.
        """
        journal = self._journal(stem)
        if journal:
            return [replace(journal[0], current=True), *journal[1:]]
        paths = (f"{stem}.{kind}" for kind in READ_ORDER)
        return [self._untracked(path) for path in paths if self._exists(path)][:1]

    def version(self, path: str, version: str) -> Version:
        """The version of this value with that id, whichever format it was published in."""
        for found in self.history(path.rpartition(".")[0]):
            if found.id == version:
                return found
        raise VersionNotFound(path, version)

    def _make_current(
        self, stem: str, kind: str, staged, run_id: str, restored_from: str
    ) -> Version:
        """Under the value's lock: current, journaled, the other formats retired, history pruned."""
        newest = self._newest(stem)
        sequence = newest.sequence + 1 if newest else 1
        path = f"{stem}.{kind}"
        version_id = self._commit(path, staged)
        published = Version(version_id, path, kind, _now(), run_id, restored_from, True, sequence)
        if version_id != UNVERSIONED:
            self._record(stem, published, staged)
        for other in READ_ORDER:
            if other != kind:
                self._remove(f"{stem}.{other}")
        if sequence % self.PRUNE_EVERY == 0:
            self._prune(stem, published.published_at)
        return published

    def _prune(self, stem: str, now: datetime.datetime) -> None:
        """Like the bucket's lifecycle rule: a version goes once replaced for the retention."""
        cutoff = now - datetime.timedelta(days=self.history_days)
        journal = self._journal(stem)
        pairs = itertools.pairwise(journal)
        expired = [older for newer, older in pairs if newer.published_at < cutoff]
        if expired:
            self._forget(stem, expired)

    def _journal(self, stem: str) -> list[Version]:
        """The journal's entries, newest first, from one listing of the history folder."""
        names = sorted(self._entry_names(history_dir(self.root, stem)))
        return [_parse(stem, name) for name in names]

    def _newest(self, stem: str) -> Version | None:
        """The journal's newest entry: the first name a listing returns."""
        names = sorted(self._entry_names(history_dir(self.root, stem), first_only=True))
        return _parse(stem, names[0]) if names else None

    # What each store implements.
    def _stage(self, path: str, write: Writer) -> Any: ...
    def _discard(self, staged: Any) -> None: ...
    def _locked(self, stem: str) -> contextlib.AbstractContextManager: ...
    def _commit(self, path: str, staged: Any) -> str: ...
    def _restored(self, target: Version) -> Any: ...
    def _record(self, stem: str, version: Version, staged: Any) -> None: ...
    def _remove(self, path: str) -> None: ...
    def _exists(self, path: str) -> bool: ...
    def _untracked(self, path: str) -> Version: ...
    def _entry_names(self, history: str, first_only: bool = False) -> list[str]: ...
    def _forget(self, stem: str, versions: list[Version]) -> None: ...
    def read(self, path: str, version: str | None, reader: Reader) -> tuple[Any, str]: ...
    def lazy_source(self, path: str, version: str | None) -> tuple[Any, Any]: ...
    def files(self, directory: str, recursive: bool) -> set[str]: ...


class LocalStore(Store):
    """A directory: each version is a read-only file in the history folder, the current one a copy.

    A tool that rewrites the current file in place changes no kept version.
    """

    def _stage(self, path: str, write: Writer) -> Path:
        history = Path(history_dir(self.root, path.rpartition(".")[0]))
        history.mkdir(parents=True, exist_ok=True)
        staged = history / f".{secrets.token_hex(8)}.partial"
        try:
            with open(staged, "wb") as stream:
                write(stream)
                stream.flush()
                os.fsync(stream.fileno())
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return staged

    def _discard(self, staged: Path) -> None:
        staged.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self, stem: str) -> Iterator[None]:
        history = Path(history_dir(self.root, stem))
        history.mkdir(parents=True, exist_ok=True)
        with open(history / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _commit(self, path: str, staged: Path) -> str:
        """An atomic rename of a copy: readers see the old file or the new one, never a mix."""
        copy = staged.parent / f".{secrets.token_hex(8)}.current"
        shutil.copyfile(staged, copy)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        os.replace(copy, path)
        return f"{_now():%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"

    def _restored(self, target: Version) -> Path:
        return self._file(target)

    def _record(self, stem: str, version: Version, staged: Path) -> None:
        entry = Path(history_dir(self.root, stem)) / _name(version)
        os.link(staged, entry)
        entry.chmod(0o444)

    def _remove(self, path: str) -> None:
        Path(path).unlink(missing_ok=True)

    def _exists(self, path: str) -> bool:
        return Path(path).is_file()

    def _untracked(self, path: str) -> Version:
        written = datetime.datetime.fromtimestamp(Path(path).stat().st_mtime, datetime.UTC)
        return Version(UNVERSIONED, path, path.rpartition(".")[2], written, "", "", True, 0)

    def _entry_names(self, history: str, first_only: bool = False) -> list[str]:
        try:
            return [name for name in os.listdir(history) if not name.startswith(".")]
        except FileNotFoundError:
            return []

    def _forget(self, stem: str, versions: list[Version]) -> None:
        history = Path(history_dir(self.root, stem))
        for version in versions:
            (history / _name(version)).unlink(missing_ok=True)
        day_ago = time.time() - 86_400
        for leftover in history.glob(".*.partial"):  # of processes killed mid-write
            if leftover.stat().st_mtime < day_ago:
                leftover.unlink(missing_ok=True)

    def read(self, path: str, version: str | None, reader: Reader) -> tuple[Any, str]:
        """Read an immutable version file: a publish during the read cannot change it."""
        file, version = self._pinned(path, version)
        with pa.memory_map(file) as source:
            return _checked(reader, source, path, version), version

    def lazy_source(self, path: str, version: str | None) -> tuple[str, pafs.FileSystem]:
        return self._pinned(path, version)[0], pafs.LocalFileSystem()

    def files(self, directory: str, recursive: bool) -> set[str]:
        root = Path(directory)
        if not root.is_dir():
            return set()
        found = root.rglob("*") if recursive else root.iterdir()
        return {str(path) for path in found if path.is_file() and not _hidden(path, root)}

    def _pinned(self, path: str, version: str | None) -> tuple[str, str]:
        """The file of a version, by default the current one, and its id."""
        stem, _, kind = path.rpartition(".")
        if version is None:
            newest = self._newest(stem)
            if newest is None or newest.kind != kind:  # written before the journal existed
                return path, UNVERSIONED
            return str(self._file(newest)), newest.id
        return str(self._file(self.version(path, version))), version

    def _file(self, version: Version) -> Path:
        return Path(history_dir(self.root, version.path.rpartition(".")[0])) / _name(version)


class S3Store(Store):
    """An S3 bucket with versioning: S3 keeps every version, each with its own id."""

    PART_BYTES = 16 * 2**20
    PARALLEL_PARTS = 4
    PRUNE_EVERY = 64  # a journal's page of 1,000 names costs more than the rest of a publish

    def __init__(self, root: str, history_days: int, client) -> None:
        super().__init__(root, history_days)
        self.client = client

    def _stage(self, path: str, write: Writer) -> "_Upload":
        upload = _Upload(self, *_split(path))
        try:
            write(upload)
        except BaseException:
            self._discard(upload)
            raise
        return upload

    def _discard(self, upload: "_Upload") -> None:
        with contextlib.suppress(Exception):  # a store that is gone keeps the upload unseen
            upload.abort()

    @contextlib.contextmanager
    def _locked(self, stem: str) -> Iterator[None]:
        bucket, key = _split(f"{history_dir(self.root, stem)}/{LOCK}")
        deadline = time.monotonic() + WAIT_SECONDS
        while (held := self._acquire(bucket, key)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"s3://{bucket}/{key} was held by other publishers of this value for "
                    f"{WAIT_SECONDS} s. If no run is writing it, delete that object."
                )
            time.sleep(random.uniform(0.01, 0.05))
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # the lease frees it if this cannot
                self.client.delete_object(Bucket=bucket, Key=key, IfMatch=held)

    def _acquire(self, bucket: str, key: str) -> str | None:
        """The lock's ETag once this process holds it, or None while another one does."""
        try:
            return self.client.put_object(Bucket=bucket, Key=key, IfNoneMatch="*")["ETag"]
        except self.client.exceptions.ClientError as error:
            if not _conflict(error):
                raise
        try:
            lock = self.client.head_object(Bucket=bucket, Key=key)
        except self.client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return None  # released meanwhile: try again
            raise
        now = _server_time(lock)
        if now - lock["LastModified"] < datetime.timedelta(seconds=LEASE_SECONDS):
            return None
        try:  # the holder died: take the lock over, unless another waiter just did
            return self.client.put_object(Bucket=bucket, Key=key, IfMatch=lock["ETag"])["ETag"]
        except self.client.exceptions.ClientError as error:
            if not _conflict(error):
                raise
            return None

    def _commit(self, path: str, staged: "_Upload | _Copy") -> str:
        return staged.complete()

    def _restored(self, target: Version) -> "_Copy":
        return _Copy(self.client, target)

    def _record(self, stem: str, version: Version, staged) -> None:
        bucket, key = _split(f"{history_dir(self.root, stem)}/{_name(version)}")
        self.client.put_object(Bucket=bucket, Key=key)

    def _remove(self, path: str) -> None:
        """A delete marker, only where there is an object: its versions stay."""
        if self._exists(path):
            bucket, key = _split(path)
            self.client.delete_object(Bucket=bucket, Key=key)

    def _exists(self, path: str) -> bool:
        try:
            self._head(path)
        except FileNotFoundError:
            return False
        return True

    def _untracked(self, path: str) -> Version:
        head = self._head(path)
        kind = path.rpartition(".")[2]
        return Version(_version_id(head), path, kind, head["LastModified"], "", "", True, 0)

    def _entry_names(self, history: str, first_only: bool = False) -> list[str]:
        """One page, of two names (the lock sorts first), is enough for the newest entry."""
        bucket, prefix = _split(history + "/")
        request = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
        if first_only:
            pages = [self.client.list_objects_v2(**request, MaxKeys=2)]
        else:
            pages = self.client.get_paginator("list_objects_v2").paginate(**request)
        names = (item["Key"][len(prefix) :] for page in pages for item in page.get("Contents", []))
        return [name for name in names if not name.startswith(".")]

    def _forget(self, stem: str, versions: list[Version]) -> None:
        bucket, prefix = _split(history_dir(self.root, stem))
        keys = [{"Key": f"{prefix}/{_name(version)}"} for version in versions]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})

    def read(self, path: str, version: str | None, reader: Reader) -> tuple[Any, str]:
        """One GET of one version, current or pinned: never a mix of two."""
        bucket, key = _split(path)
        pinned = {"VersionId": version} if version not in (None, UNVERSIONED) else {}
        response = self._get(path, Bucket=bucket, Key=key, **pinned)
        version = _version_id(response)
        return _checked(reader, pa.BufferReader(response["Body"].read()), path, version), version

    def lazy_source(self, path: str, version: str | None) -> tuple[pa.NativeFile, None]:
        """Ranged reads of one version, pinned by the first one: no request until it is read."""
        pinned = {"VersionId": version} if version not in (None, UNVERSIONED) else {}
        ranged = _RangedObject(self, path, pinned)
        return pa.PythonFile(io.BufferedReader(ranged, 2**20), mode="r"), None

    def files(self, directory: str, recursive: bool) -> set[str]:
        bucket, prefix = _split(directory)
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix + "/", **({} if recursive else {"Delimiter": "/"})
        )
        found = (item["Key"] for page in pages for item in page.get("Contents", []))
        return {f"{bucket}/{key}" for key in found if not _hidden_key(key, prefix)}

    def _head(self, path: str) -> dict:
        bucket, key = _split(path)
        try:
            return self.client.head_object(Bucket=bucket, Key=key)
        except self.client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                raise FileNotFoundError(path) from None
            raise

    def _get(self, path: str, **request) -> dict:
        try:
            return self.client.get_object(**request)
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(path) from None
        except self.client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchVersion", "InvalidArgument"):
                raise VersionNotFound(path, request.get("VersionId", "")) from None
            raise


class _Copy:
    """An earlier version, restored by a server-side copy: no bytes pass through this process."""

    def __init__(self, client, target: Version) -> None:
        self.client, self.target = client, target

    def complete(self) -> str:
        bucket, key = _split(self.target.path)
        source = {"Bucket": bucket, "Key": key, "VersionId": self.target.id}
        try:
            copied = self.client.copy_object(Bucket=bucket, Key=key, CopySource=source)
        except self.client.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchVersion", "InvalidArgument", "404"):
                raise VersionNotFound(self.target.path, self.target.id) from None
            raise
        return _version_id(copied)

    def abort(self) -> None:
        """Nothing was uploaded."""


class _Upload(io.RawIOBase):
    """A write-only stream that becomes one S3 object only when `complete` is called.

    Parts upload in the background while the writer encodes the next; small objects go in one
    PutObject. Until completion nothing is visible, and `abort` discards the uploaded parts.
    """

    def __init__(self, store: S3Store, bucket: str, key: str) -> None:
        self.client, self.part_bytes = store.client, store.PART_BYTES
        self.target = {"Bucket": bucket, "Key": key}
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
            response = self.client.put_object(**self.target, Body=bytes(self.buffer))
        else:
            if self.buffer or not self.parts:
                self._send(bytes(self.buffer))
            parts = [future.result() for future in self.parts]
            response = self.client.complete_multipart_upload(
                **self.target, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
            )
            self.upload_id = None  # completed: nothing left to abort
        self.pool.shutdown()
        return _version_id(response)

    def abort(self) -> None:
        for part in self.parts:
            part.cancel()
        self.pool.shutdown(wait=True)
        if self.upload_id is not None:
            self.client.abort_multipart_upload(**self.target, UploadId=self.upload_id)
            self.upload_id = None

    def _send(self, chunk: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = self.client.create_multipart_upload(**self.target)["UploadId"]
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
    """One version of an object, read by byte ranges as a lazy reader asks for them.

    The first request fetches the tail, where Parquet keeps its footer: it also tells the size and
    which version this is, and every later range is pinned to that version (or, in a bucket
    without versioning, to its ETag: a replaced object fails the read instead of mixing two).
    """

    TAIL = 64 * 2**10

    def __init__(self, store: S3Store, path: str, pinned: dict) -> None:
        self.store, self.path, self.pinned = store, path, pinned
        self.bucket, self.key = _split(path)
        self.position, self.size, self.tail = 0, None, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            self._open()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        self._open()
        end = min(self.position + len(buffer), self.size)
        if end <= self.position:
            return 0
        tail_start = self.size - len(self.tail)
        if self.position >= tail_start:
            data = self.tail[self.position - tail_start : end - tail_start]
        else:
            data = self._range(f"bytes={self.position}-{end - 1}")["Body"].read()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def _open(self) -> None:
        if self.size is not None:
            return
        response = self._range(f"bytes=-{self.TAIL}")
        self.tail = response["Body"].read()
        self.size = int(response["ContentRange"].rpartition("/")[2])
        version = _version_id(response)
        self.pinned = {"VersionId": version} if version != UNVERSIONED else {"IfMatch": response["ETag"]}  # fmt: skip

    def _range(self, byte_range: str) -> dict:
        request = {"Bucket": self.bucket, "Key": self.key, "Range": byte_range, **self.pinned}
        return self.store._get(self.path, **request)


def _checked(reader: Reader, source: pa.NativeFile, path: str, version: str) -> Any:
    """The reader's value; an object it cannot decode is named with its version."""
    try:
        return reader(source)
    except (pa.ArrowException, ValueError, EOFError, UnicodeDecodeError) as error:
        raise Unreadable(path, version, error) from error


def _name(version: Version) -> str:
    """A journal entry's name: sortable newest first, with everything `history` shows."""
    micros = int(version.published_at.timestamp() * 1_000_000)
    fields = [version.id, version.run_id, version.restored_from]
    encoded = ".".join(quote(field, safe="").replace(".", "%2E") for field in fields)
    return f"{FIRST_SEQUENCE - version.sequence:012d}.{version.kind}.{micros}.{encoded}"


def _parse(stem: str, name: str) -> Version:
    countdown, kind, micros, version, run_id, restored = name.split(".")
    published = datetime.datetime.fromtimestamp(int(micros) / 1_000_000, datetime.UTC)
    version, run_id, restored = (unquote(field) for field in (version, run_id, restored))
    sequence = FIRST_SEQUENCE - int(countdown)
    return Version(version, f"{stem}.{kind}", kind, published, run_id, restored, False, sequence)


def _now() -> datetime.datetime:
    return datetime.datetime.fromtimestamp(time.time(), datetime.UTC)


def _server_time(response: dict) -> datetime.datetime:
    date = response["ResponseMetadata"]["HTTPHeaders"]["date"]
    return datetime.datetime.strptime(date, "%a, %d %b %Y %H:%M:%S %Z").replace(tzinfo=datetime.UTC)


def _conflict(error) -> bool:
    """412: the condition failed; 409: AWS's answer to two conditional writes at once."""
    return error.response["Error"]["Code"] in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")  # fmt: skip


def _version_id(response: dict) -> str:
    """S3 says "null", or nothing, for objects in a bucket without versioning."""
    version = response.get("VersionId")
    return version if version and version != "null" else UNVERSIONED


def _split(path: str) -> tuple[str, str]:
    bucket, _, key = path.partition("/")
    return bucket, key


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _hidden_key(key: str, prefix: str) -> bool:
    return any(part.startswith(".") for part in key[len(prefix) :].split("/"))

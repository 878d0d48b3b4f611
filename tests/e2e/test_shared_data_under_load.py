"""Shared data stays correct as an org uses it: any asset name, many writers, rollbacks racing
runs, other tools reading the folders, and costs that grow with pages, not versions.

Writers are OS processes running the platform's IO manager (`store_workers.py`); history and
rollback go through the `shared-storage` command's own functions; SeaweedFS with versioning on,
and the local shared directory. Counts are printed (`pytest -s` shows them).
"""

import json
import os
import signal
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from dagster_team_platform import history, io_manager
from dagster_team_platform.io_manager import SharedStorageIOManager
from dagster_team_platform.layout import object_stem
from dagster_team_platform.store import Superseded

from testkit.s3_servers import CREDENTIALS, Requests, eventually, s3_client, seaweedfs

BUCKET = "shared-data"
WORKERS = Path(__file__).parents[2] / "testkit" / "store_workers.py"
FORMATS = ("parquet", "json", "pickle")


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs"), [BUCKET]) as endpoint:
        eventually(lambda: s3_client(endpoint).put_bucket_versioning(
            Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}))  # fmt: skip
        yield endpoint


@pytest.fixture(params=["local", "s3"])
def base(request, tmp_path: Path, monkeypatch) -> str:
    """A fresh root for each test: a local directory, or a prefix of its own in the bucket."""
    if request.param == "local":
        return str(tmp_path / "shared")
    endpoint = request.getfixturevalue("s3")
    for name, value in (CREDENTIALS | {"AWS_ENDPOINT_URL": endpoint}).items():
        monkeypatch.setenv(name, value)
    return f"s3://{BUCKET}/t{time.monotonic_ns()}"


def kind_of(base: str) -> str:
    return "s3" if base.startswith("s3://") else "local"


def start(base: str, *arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKERS), base, *arguments],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def finished(process: subprocess.Popen) -> dict:
    output, errors = process.communicate(timeout=600)
    assert process.returncode == 0, errors
    return json.loads(output.splitlines()[-1])


def storage(base: str, team: str = "ledger") -> SharedStorageIOManager:
    return SharedStorageIOManager(base=base, team=team)


def stem_of(base: str, asset: str, partition_dirs: str | None = None) -> str:
    store = storage(base).store(base)
    return object_stem(store.root, asset.split("/"), partition_dirs)


def current_formats(base: str, asset: str) -> list[str]:
    store, stem = storage(base).store(base), stem_of(base, asset)
    return [kind for kind in FORMATS if store._exists(f"{stem}.{kind}")]


def load(base: str, asset: str, annotation: object = object) -> object:
    context = dg.build_input_context(
        asset_key=dg.AssetKey(asset.split("/")), dagster_type=dg.PythonObjectDagsterType(annotation)
    )
    return storage(base).load_input(context)


def publish(base: str, asset: str, value: object) -> None:
    context = dg.build_output_context(asset_key=asset.split("/"), run_id="in-process")
    storage(base).handle_output(context, value)


def row(value: object) -> dict:
    return value.to_pylist()[0] if isinstance(value, pa.Table) else value


@pytest.mark.parametrize(("mode", "processes", "each"), [("mixed", 3, 40), ("table", 2, 60)])
def test_concurrent_writers_leave_one_current_version_and_never_fail(
    base: str, mode: str, processes: int, each: int
) -> None:
    """Writers of one asset, of one format or two, publish at once in their own processes."""
    asset = "ledger/orders"
    writers = [start(base, "publish", asset, str(each), str(worker), mode)
               for worker in range(processes)]  # fmt: skip
    failures = sum(finished(writer)["failures"] for writer in writers)
    versions = storage(base).store(base).history(stem_of(base, asset))
    current = current_formats(base, asset)
    print(f"\n{kind_of(base)} {mode}: {processes} processes x {each} "
          f"publishes, {failures} failed, {len(versions)} in history, current {current}")  # fmt: skip
    assert failures == 0
    assert len(versions) == processes * each
    assert [version.sequence for version in versions] == list(range(processes * each, 0, -1))
    assert current == [versions[0].kind]  # exactly one object, the last one published
    newest = row(load(base, asset))
    assert f"w{newest['worker']}-{newest['number']}" == versions[0].run_id


def test_a_rollback_racing_a_writer_replaces_only_the_version_it_inspected(base: str) -> None:
    """Every rollback either lands right after the version it saw as current, or refuses."""
    asset = "ledger/orders"
    finished(start(base, "publish", asset, "2", "0", "table"))
    writer = start(base, "publish", asset, "60", "1", "mixed")
    previous = Namespace(asset=asset, partition=None, to=None, run=None, previous=True)
    done = refused = 0
    while writer.poll() is None:
        try:
            history.rollback(storage(base), previous)
            done += 1
        except history.Refused as refusal:
            assert "changed while this ran" in str(refusal) and "Nothing was rolled back" in str(refusal)  # fmt: skip
            refused += 1
    finished(writer)
    versions = storage(base).store(base).history(stem_of(base, asset))
    by_sequence = {version.sequence: version for version in versions}
    rollbacks = [version for version in versions if version.restored_from]
    print(
        f"\n{kind_of(base)}: rollbacks racing 60 publishes: {done} done, {refused} refused as superseded"
    )
    assert len(rollbacks) == done and done > 0
    for rolled in rollbacks:  # it restored the version just before the one it replaced
        assert by_sequence[rolled.sequence - 2].id == rolled.restored_from


def test_a_rollback_refuses_when_the_version_it_inspected_was_replaced(base: str) -> None:
    asset = "ledger/orders"
    finished(start(base, "publish", asset, "2", "0", "table"))
    store, stem = storage(base).store(base), stem_of(base, asset)
    seen = store.history(stem)
    finished(start(base, "publish", asset, "1", "1", "dict"))
    with pytest.raises(Superseded) as superseded:
        store.rollback(seen[1], expected=seen[0].id)
    assert superseded.value.current.run_id == "w1-0"
    assert row(load(base, asset)) == {"worker": 1, "number": 0}


def test_history_is_in_publish_order_and_previous_is_the_one_before(base: str) -> None:
    """JSON, Parquet, JSON within a second: the order they were published, on both stores."""
    asset = "ledger/orders"
    for worker, mode in enumerate(["dict", "table", "dict"]):
        finished(start(base, "publish", asset, "1", str(worker), mode))
    listed = history.history(storage(base), asset, None).splitlines()[1:]  # below the header
    assert [line.split()[3] for line in listed] == ["json", "parquet", "json"]
    assert [line.split()[4] for line in listed] == ["w2-0", "w1-0", "w0-0"]
    assert listed[0].endswith("<- current") and "current" not in "".join(listed[1:])
    previous = Namespace(asset=asset, partition=None, to=None, run=None, previous=True)
    history.rollback(storage(base), previous)
    assert load(base, asset, pa.Table).to_pylist() == [{"worker": 1, "number": 0}]
    assert current_formats(base, asset) == ["parquet"]


NAMES = ["orders", "orders.v2", "a/b", "with space", "日本", "k=v", "..", ".versions", "orders@"]


def test_no_write_or_rollback_touches_another_assets_objects(base: str) -> None:
    """Names that extend, contain or mimic each other: each asset keeps exactly its own."""
    assets = [f"ledger/{name}" for name in NAMES]
    for asset in assets:
        for number in range(2):
            publish(base, asset, pa.table({"worker": [0], "number": [number]}))
    publish(base, assets[0], {"worker": 7, "number": 0})  # a format switch
    rollback = Namespace(asset=assets[0], partition=None, to=None, run=None, previous=True)
    history.rollback(storage(base), rollback)
    for asset in assets[1:]:
        assert current_formats(base, asset) == ["parquet"], asset
        assert row(load(base, asset)) == {"worker": 0, "number": 1}, asset
        assert len(storage(base).store(base).history(stem_of(base, asset))) == 2, asset
    if base.startswith("s3://"):  # not even a delete marker on another asset's key
        prefix = base.removeprefix(f"s3://{BUCKET}/")
        listed = s3_client(os.environ["AWS_ENDPOINT_URL"]).list_object_versions(
            Bucket=BUCKET, Prefix=prefix
        )
        markers = [marker["Key"] for marker in listed.get("DeleteMarkers", [])]
        assert markers and all(key.startswith(f"{prefix}/ledger/orders.") or "/.versions/" in key
                               for key in markers), markers  # fmt: skip


PARTITIONS = ["a/b", "with space", "日本", "k=v"]


@dg.asset(key_prefix="ledger", partitions_def=dg.StaticPartitionsDefinition(PARTITIONS))
def daily(context: dg.AssetExecutionContext) -> pa.Table:
    return pa.table({"key": [context.partition_key]})


REGIONS = dg.StaticPartitionsDefinition(["eu/west", "us"])
DAYS_BY_REGION = dg.MultiPartitionsDefinition(
    {"day": dg.StaticPartitionsDefinition(["2024-01-01"]), "region": REGIONS}
)


@dg.asset(key_prefix="ledger", partitions_def=DAYS_BY_REGION)
def regional(context: dg.AssetExecutionContext) -> pa.Table:
    return pa.table({"key": [context.partition_key]})


def test_the_command_takes_dagster_partition_keys_and_lists_them_when_none_matches(
    base: str,
) -> None:
    resources = {"io_manager": storage(base)}
    for partition in PARTITIONS:
        for _ in range(2):
            dg.materialize([daily], partition_key=partition, resources=resources)
    for partition in PARTITIONS:
        listed = history.history(storage(base), "ledger/daily", partition).splitlines()[1:]
        assert len(listed) == 2 and listed[0].endswith("<- current"), partition
    dg.materialize([regional], partition_key="2024-01-01|eu/west", resources=resources)
    for given in ("2024-01-01|eu/west", "day=2024-01-01/region=eu%2Fwest"):  # key, or its folders
        assert len(history.history(storage(base), "ledger/regional", given).splitlines()) == 2
    with pytest.raises(history.Refused) as missing:
        history.history(storage(base), "ledger/daily", "a")
    assert "ledger/daily has no partition 'a'" in str(missing.value)
    assert "Its stored partitions: a/b, k=v, with space, 日本." in str(missing.value)


def test_folder_reads_by_other_tools_see_exactly_the_current_rows(tmp_path: Path) -> None:
    """Three partitions written three times each, a rollback, a killed writer's leftovers."""
    base = str(tmp_path / "shared")
    resources = {"io_manager": storage(base)}
    for _ in range(3):
        for partition in PARTITIONS[:3]:
            dg.materialize([daily], partition_key=partition, resources=resources)
    back = Namespace(asset="ledger/daily", partition="a/b", to=None, run=None, previous=True)
    history.rollback(storage(base), back)
    killed = start(base, "write-stuck", "ledger/orders")
    history_folder = tmp_path / "shared" / "ledger" / ".versions" / "orders@"
    eventually_true(lambda: any(history_folder.glob(".*.partial")))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    folder = tmp_path / "shared" / "ledger" / "daily"
    expected = sorted(PARTITIONS[:3])
    assert sorted(pl.scan_parquet(folder, hive_partitioning=True).collect()["key"]) == expected
    duck = duckdb.sql(f"select key from read_parquet('{folder}/**', hive_partitioning=true)")
    assert sorted(key for (key,) in duck.fetchall()) == expected
    assert sorted(ds.dataset(folder, partitioning="hive").to_table()["key"].to_pylist()) == expected


def test_a_kept_version_stays_as_written_when_a_tool_rewrites_the_current_file(
    tmp_path: Path,
) -> None:
    base = str(tmp_path / "shared")
    finished(start(base, "publish", "ledger/orders", "1", "0", "table"))
    first = storage(base).store(base).history(stem_of(base, "ledger/orders"))[0]
    current = Path(stem_of(base, "ledger/orders") + ".parquet")
    pq.write_table(pa.table({"worker": [9], "number": [9]}), current)  # another tool, in place
    pinned = dg.build_input_context(
        asset_key=dg.AssetKey(["ledger", "orders"]), definition_metadata={"version": first.id},
        dagster_type=dg.PythonObjectDagsterType(pa.Table),
    )  # fmt: skip
    assert storage(base).load_input(pinned).to_pylist() == [{"worker": 0, "number": 0}]


def test_a_damaged_object_names_the_asset_its_uri_and_version(base: str) -> None:
    asset = "ledger/orders"
    finished(start(base, "publish", asset, "1", "0", "table"))
    path = stem_of(base, asset) + ".parquet"
    if base.startswith("s3://"):  # another tool overwrites it
        key = path.removeprefix(BUCKET + "/")
        written = s3_client(os.environ["AWS_ENDPOINT_URL"]).put_object(
            Bucket=BUCKET, Key=key, Body=b"not parquet at all"
        )
        version, uri = written["VersionId"], f"s3://{path}"
    else:  # the disk damages the kept file
        version = storage(base).store(base).history(stem_of(base, asset))[0]
        kept = Path(storage(base).store(base)._file(version))
        kept.chmod(0o644)
        kept.write_bytes(b"not parquet at all")
        version, uri = version.id, path
    with pytest.raises(dg.Failure) as failure:
        load(base, asset)
    assert f"ledger/orders version {version} at {uri} cannot be read as parquet" in str(
        failure.value.description
    )


def test_history_and_reads_cost_pages_not_versions_or_partitions(s3, monkeypatch) -> None:
    """1,001 versions: two listing pages; 500 partitions read eagerly or lazily: no HEAD."""
    for name, value in (CREDENTIALS | {"AWS_ENDPOINT_URL": s3}).items():
        monkeypatch.setenv(name, value)
    base = f"s3://{BUCKET}/cost"
    finished(start(base, "publish", "ledger/orders", "1001", "0", "dict"))
    requests = Requests(io_manager._s3(None, s3))
    listed = history.history(storage(base), "ledger/orders", None).splitlines()[1:]
    print(f"\nhistory of {len(listed)} versions: {requests.counts}")
    assert len(listed) == 1001 and requests.counts == {"ListObjectsV2": 2}
    requests.counts.clear()
    by_run = Namespace(asset="ledger/orders", partition=None, to=None, run="w0-3", previous=False)
    assert "to version" in history.rollback(storage(base), by_run)[0]
    print(f"rollback --run over {len(listed)} versions: {requests.counts}")
    assert requests.counts["ListObjectsV2"] == 4  # the history, then again under the lock
    assert requests.counts.get("HeadObject", 0) <= len(FORMATS)  # the other formats, to retire

    partitions = dg.StaticPartitionsDefinition([f"p{number:03}" for number in range(500)])
    key = dg.AssetKey(["ledger", "wide"])
    for partition in partitions.get_partition_keys():
        written = dg.build_output_context(
            asset_key=key, partition_key=partition, asset_partitions_def=partitions
        )
        storage(base).handle_output(written, pa.table({"p": [partition]}))
    for annotation in (dict, ds.Dataset):
        requests.counts.clear()
        context = dg.build_input_context(
            asset_key=key, asset_partitions_def=partitions,
            asset_partition_key_range=dg.PartitionKeyRange("p000", "p499"),
            dagster_type=dg.PythonObjectDagsterType(annotation),
        )  # fmt: skip
        loaded = storage(base).load_input(context)
        rows = len(loaded) if isinstance(loaded, dict) else loaded.count_rows()
        print(f"{annotation}: {rows} partitions read with {requests.counts}")
        assert rows == 500 and "HeadObject" not in requests.counts
        assert requests.counts["ListObjectsV2"] == 1 and requests.counts["GetObject"] == 500


def eventually_true(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)

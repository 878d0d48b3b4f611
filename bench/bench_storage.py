"""Time, size and memory of the shared IO manager next to the S3 transfer floors and pickle.

Run with `nox -s bench -- --only storage --rows 10000000 [--baseline REF]`. One SeaweedFS server
on 127.0.0.1, its bucket versioned as the org's are; every variant runs in its own process, on
the same table of typed columns: the shared IO manager of this checkout (and, with --baseline,
of the template at a git ref, in a venv of its own), and dagster-aws's pickle IO manager. The
floors do the same work with nothing of ours (pyarrow encodes and boto3 puts; boto3 gets and
pyarrow decodes), timed in turn with the shared IO manager in its process. Each storage variant
also times a history of 1,000 versions and reads of 500 partitions, with boto3's request
counts. Peak memory is the
process's high-water mark during the operation, reset before it starts, minus its memory before
the table existed.
"""

import argparse
import importlib
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

BUCKET = "bench"
KEYS = {
    "shared": "dagster/bench/table",
    "baseline": "baseline/bench/table",
    "pickle": "pickle/bench/table",
    "floor": "floor/table",
}


def rss_mib(field: str) -> float:
    """A memory figure of this process from /proc (VmRSS now, VmHWM its peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def table(rows: int):
    import numpy as np
    import pandas as pd

    generator = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "amount": generator.random(rows),
            "quantity": generator.integers(0, 1_000, rows, dtype="int32"),
            "paid": generator.random(rows) < 0.5,
            "at": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(rows), "s"),
            "region": pd.Series(
                np.array(["eu-west", "us-east", "ap-south"])[np.arange(rows) % 3], dtype="str"
            ),
        }
    )


def median_timed(action, repeats: int = 3) -> tuple[float, float, object]:
    """`timed`, repeated: the median time (this machine's figures vary by a third from run to
    run), the first run's peak memory, and the last result."""
    runs = [timed(action) for _ in range(repeats)]
    return statistics.median(run[0] for run in runs), runs[0][1], runs[-1][2]


def timed(action) -> tuple[float, float, object]:
    """Seconds and peak MiB above the current memory for `action()`, and what it returned."""
    before = rss_mib("VmRSS")
    reset_peak()
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, rss_mib("VmHWM") - before, result


def io_manager_module(package: str) -> str:
    """Where the IO manager lives: the platform package, or a baseline's team package."""
    try:
        importlib.import_module("dagster_team_platform")
    except ImportError:  # a baseline from before the platform package
        return f"{package}.storage_io_manager"
    return "dagster_team_platform.io_manager"


def child(variant: str, rows: int, endpoint: str, package: str) -> dict:
    """Measure one variant; the floors move and read the bytes the shared variant stored."""
    import boto3
    import dagster as dg
    import pandas as pd

    client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
    if variant in ("shared", "baseline"):
        shared = importlib.import_module(io_manager_module(package))
        base = f"s3://{BUCKET}/{KEYS[variant].partition('/')[0]}"
        io_manager = shared.SharedStorageIOManager(base=base, team="bench")
        key, stored = ["bench", "table"], KEYS[variant] + ".parquet"
    else:
        from dagster_aws.s3 import S3PickleIOManager, S3Resource

        resource = S3Resource(endpoint_url=endpoint, region_name="eu-west-1")
        io_manager = S3PickleIOManager(s3_resource=resource, s3_bucket=BUCKET, s3_prefix="pickle")
        key, stored = ["bench", "table"], KEYS["pickle"]

    frame = table(rows)
    frame_mib = frame.memory_usage(deep=True).sum() / 2**20

    def write_once() -> None:  # a fresh context each time: metadata is added once per output
        io_manager.handle_output(dg.build_output_context(asset_key=key), frame)

    write, write_peak, _ = median_timed(write_once)
    write_peak += frame_mib  # the frame existed before the peak was reset
    load = dg.build_input_context(
        asset_key=dg.AssetKey(key),
        upstream_output=dg.build_output_context(asset_key=key),
        dagster_type=dg.PythonObjectDagsterType(pd.DataFrame),
    )
    read, read_peak, loaded = median_timed(lambda: io_manager.load_input(load))
    assert len(loaded) == rows and next(iter(loaded.columns)) == "id"
    del loaded
    size = client.head_object(Bucket=BUCKET, Key=stored)["ContentLength"]
    result = {
        "write_s": write,
        "read_s": read,
        "write_peak_x": write_peak / frame_mib,
        "read_peak_x": read_peak / frame_mib,
        "stored_mib": size / 2**20,
        "frame_mib": frame_mib,
    }
    if variant == "shared":
        ours = (write_once, lambda: io_manager.load_input(load))
        result |= side_by_side(ours, floor(client, frame, stored))
        result |= history(io_manager, dg.build_output_context(asset_key=key), frame, client, stored)
    if variant in ("shared", "baseline"):
        result |= scale(shared, io_manager, endpoint, versions=1_000, partitions=500)
    return result


def floor(client, frame, stored: str) -> tuple:
    """The same work with nothing of ours: pyarrow encodes, boto3 puts; boto3 gets the object the
    shared variant stored, pyarrow decodes it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write() -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pandas(frame), sink)
        client.put_object(Bucket=BUCKET, Key=KEYS["floor"], Body=sink.getvalue().to_pybytes())

    def read():
        body = client.get_object(Bucket=BUCKET, Key=stored)["Body"].read()
        return pq.read_table(pa.BufferReader(body)).to_pandas(split_blocks=True, self_destruct=True)

    return write, read


def side_by_side(ours: tuple, floor: tuple, rounds: int = 7) -> dict:
    """Ours and the floor in turn, in one process, the writes then the reads, each round in the
    other order: the machine's drift, and the store's work after a write, hit both alike."""
    times = {name: [] for name in ("paired_write_s", "paired_read_s", "floor_write_s", "floor_read_s")}  # fmt: skip
    for step, action in enumerate(("write", "read")):
        for number in range(rounds):
            turns = [(ours, "paired_"), (floor, "floor_")]
            for actions, prefix in turns[:: -1 if number % 2 else 1]:
                times[f"{prefix}{action}_s"].append(timed(actions[step])[0])
    return {name: statistics.median(values) for name, values in times.items()}


def history(io_manager, output, frame, client, stored: str) -> dict:
    """After the timed writes, what a replaced version costs to keep and to roll back to."""
    from argparse import Namespace

    from dagster_team_platform import history

    io_manager.handle_output(output, frame)
    versions = client.list_object_versions(Bucket=BUCKET, Prefix=stored)["Versions"]
    replaced = [version for version in versions if not version["IsLatest"]]
    asset = "/".join(output.asset_key.path)
    back = Namespace(asset=asset, partition=None, to=None, run=None, previous=True)
    rollback, _, _ = timed(lambda: history.rollback(io_manager, back))
    return {
        "versions": len(versions),
        "retained_mib": sum(version["Size"] for version in replaced) / len(replaced) / 2**20,
        "rollback_s": rollback,
    }


def measured(requests, action) -> tuple[float, int]:
    """Seconds and S3 requests of `action()`, as boto3 makes them (pyarrow's are not seen)."""
    requests.counts.clear()
    seconds, _, _ = timed(action)
    return seconds, sum(requests.counts.values())


def scale(shared, io_manager, endpoint: str, versions: int, partitions: int) -> dict:
    """History of many versions, and reads of many partitions: seconds and requests."""
    import dagster as dg
    import pyarrow as pa
    import pyarrow.dataset as ds
    from dagster_team_platform import history

    for number in range(versions):
        context = dg.build_output_context(asset_key=["bench", "many"], run_id=f"run-{number}")
        io_manager.handle_output(context, {"number": number})
    from testkit.s3_servers import Requests

    client = shared._s3(None, endpoint)  # before the store layer: a client and a filesystem
    requests = Requests(client[0] if isinstance(client, tuple) else client)
    figures = {}
    figures["history_s"], figures["history_requests"] = measured(
        requests, lambda: history.history(io_manager, "bench/many", None)
    )
    keys = dg.StaticPartitionsDefinition([f"p{number:04}" for number in range(partitions)])
    key = dg.AssetKey(["bench", "wide"])
    for partition in keys.get_partition_keys():
        output = dg.build_output_context(asset_key=key, partition_key=partition, asset_partitions_def=keys)  # fmt: skip
        io_manager.handle_output(output, pa.table({"p": [partition]}))
    every = dg.PartitionKeyRange(keys.get_first_partition_key(), keys.get_last_partition_key())
    for name, annotation in [("eager", dict), ("lazy", ds.Dataset)]:
        context = dg.build_input_context(
            asset_key=key, asset_partitions_def=keys, asset_partition_key_range=every,
            dagster_type=dg.PythonObjectDagsterType(annotation),
        )  # fmt: skip

        def read(context=context, lazy=name == "lazy") -> object:
            loaded = io_manager.load_input(context)
            return loaded.count_rows() if lazy else loaded

        figures[f"{name}_s"], figures[f"{name}_requests"] = measured(requests, read)
    return figures


def venv_with(repo: Path, folder: Path) -> Path:
    """A venv with the repo installed, plus pandas and dagster-aws for the pickle variant."""
    from uv import find_uv_bin

    uv = [find_uv_bin(), "--quiet"]
    subprocess.run([*uv, "venv", "--python", sys.executable, folder], check=True)
    python = folder / "bin" / "python"
    subprocess.run([*uv, "pip", "install", "--python", python, "-e", repo,
                    "pandas==3.1.1", "dagster-aws==0.29.27", "boto3==1.44.5"], check=True)  # fmt: skip
    return python


def baseline_repo(root: Path, ref: str) -> Path:
    """A team repo baked from the template as it was at `ref` in this checkout's history."""
    from cookiecutter.main import cookiecutter

    from testkit.repos import TEMPLATE

    archive = subprocess.run(["git", "archive", ref], cwd=TEMPLATE, check=True,
                             capture_output=True).stdout  # fmt: skip
    template = root / "baseline-template"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(template, filter="data")
    output = root / "baseline"
    return Path(cookiecutter(str(template), no_input=True, output_dir=str(output),
                             default_config=True))  # fmt: skip


def warm_up(client) -> None:
    """SeaweedFS allocates its volumes on the first writes: let no variant pay for that."""
    for number in range(4):
        client.put_object(Bucket=BUCKET, Key=f"warm-up/{number}", Body=bytes(64 * 2**20))
        client.delete_object(Bucket=BUCKET, Key=f"warm-up/{number}")


def main(rows: int, baseline: str | None = None) -> None:
    """Start SeaweedFS, make the venvs, and run each variant in a process of its own."""
    from testkit.repos import TEMPLATE, bake_template
    from testkit.s3_servers import CREDENTIALS, eventually, s3_client, seaweedfs

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        repo = bake_template(root)
        package = next((repo / "src").iterdir()).name
        pythons = {"shared": venv_with(repo, root / "venv")}
        if baseline:
            pythons["baseline"] = venv_with(baseline_repo(root, baseline), root / "baseline-venv")
        with seaweedfs(root / "seaweedfs", [BUCKET]) as endpoint:
            eventually(lambda: s3_client(endpoint).put_bucket_versioning(
                Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}))  # fmt: skip
            warm_up(s3_client(endpoint))
            env = CREDENTIALS | {
                "AWS_ENDPOINT_URL": endpoint,
                "PYTHONPATH": str(TEMPLATE / "tests"),
            }
            results = {}
            for variant in [*pythons, "pickle"]:
                python = pythons.get(variant, pythons["shared"])
                command = [python, __file__, variant, "--rows", str(rows),
                           "--endpoint", endpoint, "--package", package]  # fmt: skip
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
                if done.returncode:
                    sys.exit(f"The {variant} variant failed:\n{done.stdout}{done.stderr}")
                results[variant] = json.loads(done.stdout.splitlines()[-1])
    report(rows, results)


def report(rows: int, results: dict[str, dict]) -> None:
    shared, pickled = results["shared"], results["pickle"]
    floor = {"write_s": shared["floor_write_s"], "read_s": shared["floor_read_s"]}
    baseline = results.get("baseline")
    columns = {"shared (Parquet)": shared} | ({"before": baseline} if baseline else {})
    columns |= {"boto3 floor": floor, "S3PickleIOManager": pickled}
    print(f"{rows:,} rows x 6 typed columns, {shared['frame_mib']:.0f} MiB in pandas, SeaweedFS")
    print(f"{'':<26}" + "".join(f"{name:>20}" for name in columns))
    for what in ["write_s", "read_s", "write_peak_x", "read_peak_x", "stored_mib"]:
        cells = [f"{column[what]:>20.2f}" if what in column else f"{'':>20}" for column in columns.values()]  # fmt: skip
        print(f"{what:<26}" + "".join(cells))
    for what in ["write_s", "read_s"]:
        print(
            f"{what}: x{shared['paired_' + what] / floor[what]:.2f} of the boto3 floor, "
            f"x{shared[what] / pickled[what]:.2f} of pickle"
            + (f", x{shared[what] / baseline[what]:.2f} of before" if baseline else "")
        )
    print("floors: pyarrow encoding to bytes + boto3 put; boto3 get + pyarrow decoding to pandas;")
    print(
        f"timed in turn with ours, seven rounds in one process (ours there: write "
        f"{shared['paired_write_s']:.2f} s, read {shared['paired_read_s']:.2f} s)"
    )
    scaled = {"shared": shared} | ({"before": baseline} if baseline else {})
    for what in ["history_s", "history_requests", "eager_s", "eager_requests", "lazy_s", "lazy_requests"]:  # fmt: skip
        print(f"{what:<26}" + "".join(f"{name}={column[what]:.2f}  " for name, column in scaled.items()))  # fmt: skip
    print("history: of 1,000 versions; eager, lazy: reads of 500 partitions; requests: boto3's")
    print(f"stored size: x{shared['stored_mib'] / pickled['stored_mib']:.2f} of pickle")
    print(
        f"history: {shared['versions']} versions after as many writes; each replaced one keeps "
        f"{shared['retained_mib']:.1f} MiB (x{shared['retained_mib'] / shared['stored_mib']:.2f}"
        f" of the table); rollback {shared['rollback_s']:.2f} s (a server-side copy)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="One variant, in its own process (see main).")
    parser.add_argument("variant", choices=["shared", "baseline", "pickle"])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--package", required=True)
    arguments = parser.parse_args()
    result = child(arguments.variant, arguments.rows, arguments.endpoint, arguments.package)
    print(json.dumps(result))

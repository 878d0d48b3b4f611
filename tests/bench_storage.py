"""Time, size and memory of the shared IO manager next to the S3 transfer floor and pickle.

Run with `nox -s bench -- --only storage --rows 10000000`. One SeaweedFS server on 127.0.0.1;
every variant runs in its own process in one venv (a generated repo plus pandas and dagster-aws),
on the same table of typed columns. Peak memory is the process's high-water mark during the operation,
reset before it starts, minus its memory before the table existed.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

BUCKET = "bench"
KEYS = {"shared": "dagster/bench/table", "pickle": "pickle/bench/table", "floor": "floor/table"}


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


def timed(action) -> tuple[float, float, object]:
    """Seconds and peak MiB above the current memory for `action()`, and what it returned."""
    before = rss_mib("VmRSS")
    reset_peak()
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, rss_mib("VmHWM") - before, result


def child(variant: str, rows: int, endpoint: str, package: str) -> dict:
    """Measure one variant; the floor moves the bytes the shared variant stored, as they are."""
    import importlib

    import boto3
    import dagster as dg
    import pandas as pd

    client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
    if variant == "floor":
        data = client.get_object(Bucket=BUCKET, Key=KEYS["shared"] + ".parquet")["Body"].read()
        write, _, _ = timed(lambda: client.put_object(Bucket=BUCKET, Key=KEYS["floor"], Body=data))
        del data
        read, _, _ = timed(lambda: client.get_object(Bucket=BUCKET, Key=KEYS["floor"])["Body"].read())  # fmt: skip
        return {"write_s": write, "read_s": read}

    if variant == "shared":
        shared = importlib.import_module(f"{package}.storage_io_manager")
        io_manager = shared.SharedStorageIOManager(base=f"s3://{BUCKET}/dagster", team="bench")
        key, stored = ["bench", "table"], KEYS["shared"] + ".parquet"
    else:
        from dagster_aws.s3 import S3PickleIOManager, S3Resource

        resource = S3Resource(endpoint_url=endpoint, region_name="eu-west-1")
        io_manager = S3PickleIOManager(s3_resource=resource, s3_bucket=BUCKET, s3_prefix="pickle")
        key, stored = ["bench", "table"], KEYS["pickle"]

    frame = table(rows)
    frame_mib = frame.memory_usage(deep=True).sum() / 2**20
    output = dg.build_output_context(asset_key=key)
    write, write_peak, _ = timed(partial(io_manager.handle_output, output, frame))
    write_peak += frame_mib  # the frame existed before the peak was reset
    del frame
    load = dg.build_input_context(
        asset_key=dg.AssetKey(key),
        upstream_output=dg.build_output_context(asset_key=key),
        dagster_type=dg.PythonObjectDagsterType(pd.DataFrame),
    )
    read, read_peak, loaded = timed(lambda: io_manager.load_input(load))
    assert len(loaded) == rows and next(iter(loaded.columns)) == "id"
    size = client.head_object(Bucket=BUCKET, Key=stored)["ContentLength"]
    return {
        "write_s": write,
        "read_s": read,
        "write_peak_x": write_peak / frame_mib,
        "read_peak_x": read_peak / frame_mib,
        "stored_mib": size / 2**20,
        "frame_mib": frame_mib,
    }


def main(rows: int) -> None:
    """Start SeaweedFS, make the venv, and run each variant in a process of its own."""
    from conftest import bake_template
    from s3_servers import CREDENTIALS, seaweedfs
    from uv import find_uv_bin

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        repo = bake_template(root)
        venv = root / "venv"
        uv = [find_uv_bin(), "--quiet"]
        subprocess.run([*uv, "venv", "--python", sys.executable, venv], check=True)
        python = venv / "bin" / "python"
        subprocess.run([*uv, "pip", "install", "--python", python, "-e", repo,
                        "pandas==3.1.1", "dagster-aws==0.29.27", "boto3==1.44.5"], check=True)  # fmt: skip
        package = next((repo / "src").iterdir()).name
        with seaweedfs(root / "seaweedfs", [BUCKET]) as endpoint:
            env = CREDENTIALS | {"AWS_ENDPOINT_URL": endpoint}
            results = {}
            for variant in ["shared", "floor", "pickle"]:
                command = [python, __file__, variant, "--rows", str(rows),
                           "--endpoint", endpoint, "--package", package]  # fmt: skip
                output = subprocess.run(
                    command, env=env, check=True, capture_output=True, text=True
                ).stdout
                results[variant] = json.loads(output.splitlines()[-1])
    report(rows, results)


def report(rows: int, results: dict[str, dict]) -> None:
    shared, floor, pickled = results["shared"], results["floor"], results["pickle"]
    print(f"{rows:,} rows x 6 typed columns, {shared['frame_mib']:.0f} MiB in pandas, SeaweedFS")
    print(f"{'':<26}{'shared (Parquet)':>18}{'boto3 floor':>14}{'S3PickleIOManager':>20}")
    for what in ["write_s", "read_s"]:
        print(f"{what:<26}{shared[what]:>18.2f}{floor[what]:>14.2f}{pickled[what]:>20.2f}")
    for what in ["write_peak_x", "read_peak_x"]:
        print(f"{what + ' (of frame)':<26}{shared[what]:>18.2f}{'':>14}{pickled[what]:>20.2f}")
    print(f"{'stored MiB':<26}{shared['stored_mib']:>18.1f}{'':>14}{pickled['stored_mib']:>20.1f}")
    for what in ["write_s", "read_s"]:
        print(
            f"{what}: x{shared[what] / floor[what]:.2f} of the floor, "
            f"x{shared[what] / pickled[what]:.2f} of pickle"
        )
    print(f"stored size: x{shared['stored_mib'] / pickled['stored_mib']:.2f} of pickle")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="One variant, in its own process (see main).")
    parser.add_argument("variant", choices=["shared", "floor", "pickle"])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--package", required=True)
    arguments = parser.parse_args()
    result = child(arguments.variant, arguments.rows, arguments.endpoint, arguments.package)
    print(json.dumps(result))

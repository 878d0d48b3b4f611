"""What a team's run does with the shared storage, run inside a generated repo's own venv.

`python shared_data_scenarios.py PACKAGE write NAME ROWS TAG [--fail-after-slices N]`
materializes PACKAGE/NAME, a pandas frame of ROWS rows whose `tag` column says which write it
was; `read KEY [--version V] [--lazy dataset|polars] [--day D]` materializes an asset of PACKAGE
that loads KEY, as other teams do. Each prints one JSON line. The storage is the repo's own
IO manager for the environment, exactly as `storage.shared_io_manager()` builds it.
"""

import argparse
import importlib
import json
import os
import sys

import dagster as dg
import numpy as np
import pandas as pd
import polars as pl
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

DAYS = dg.StaticPartitionsDefinition(["2024-01-01", "2024-01-02", "2024-01-03"])
ANNOTATIONS = {None: pd.DataFrame, "dataset": ds.Dataset, "polars": pl.LazyFrame}


def frame(rows: int, tag: int) -> pd.DataFrame:
    generator = np.random.default_rng(tag)
    return pd.DataFrame(
        {"id": np.arange(rows), "tag": np.full(rows, tag), "amount": generator.random(rows)}
    )


def write(package: str, arguments: argparse.Namespace) -> dict:
    storage = importlib.import_module(f"{package}.storage")
    formats = importlib.import_module("dagster_team_platform.formats")
    formats._PandasSlices.SLICE_ROWS = 250_000  # many slices, so interrupts land between them
    if arguments.fail_after_slices is not None:
        slices = formats._PandasSlices.to_batches

        def failing(self):
            for number, batch in enumerate(slices(self)):
                if number == arguments.fail_after_slices:
                    raise MemoryError("a failure between two slices of the write")
                yield batch

        formats._PandasSlices.to_batches = failing
    partitions = DAYS if arguments.day else None

    @dg.asset(key_prefix=package, name=arguments.name, partitions_def=partitions)
    def table() -> object:
        value = frame(arguments.rows, arguments.tag)
        return value.to_dict("records") if arguments.as_json else value

    result = dg.materialize(
        [table], resources={"io_manager": storage.shared_io_manager()}, partition_key=arguments.day
    )
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    return {"version": metadata["version"].value, "uri": metadata["uri"].value}


def read(package: str, arguments: argparse.Namespace) -> dict:
    """With COUNT_S3_GETS set, also the bytes fetched from each S3 object, counted by boto3."""
    storage = importlib.import_module(f"{package}.storage")
    fetched = {}
    if os.environ.get("COUNT_S3_GETS"):
        import boto3

        def count(params: dict, **_) -> None:
            start, end = params["Range"].removeprefix("bytes=").split("-")
            size = int(end) - int(start) + 1 if start else int(end)  # `-N`: the last N bytes
            fetched[params["Key"]] = fetched.get(params["Key"], 0) + size

        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-parameter-build.s3.GetObject", count)
    key = arguments.key.split("/")
    seen = {}
    pinned = {"version": arguments.version} if arguments.version else {}

    def load(upstream) -> dict:
        seen.update(summary(upstream, arguments))
        return {"rows": seen["rows"]}

    load.__annotations__["upstream"] = list if arguments.as_json else ANNOTATIONS[arguments.lazy]
    reader = dg.asset(
        name="reader", key_prefix=package, ins={"upstream": dg.AssetIn(key=key, metadata=pinned)}
    )(load)
    upstream = dg.AssetSpec(key=key, partitions_def=DAYS if key[-1] == "daily" else None)
    io_manager = storage.shared_io_manager()
    dg.materialize([upstream, reader], resources={"io_manager": io_manager}, selection=[reader.key])
    return seen | ({"fetched": fetched} if fetched else {})


def overlap(package: str, arguments: argparse.Namespace) -> dict:
    """Another writer publishes while a read of the current version is under way."""
    storage = importlib.import_module(f"{package}.storage")
    formats = importlib.import_module("dagster_team_platform.formats")
    io_manager = storage.shared_io_manager()
    store = io_manager.store(io_manager.base)
    stem = f"{store.root}/{package}/{arguments.name}"

    def publish(tag: int) -> str:
        table = formats.as_table(frame(arguments.rows, tag))
        return store.publish(stem, "parquet", lambda sink: formats.write_table(table, sink), "").id

    first, landed = publish(1), []

    def read_while_another_write_lands(source) -> pd.DataFrame:
        pq.read_metadata(source)  # the read has begun
        if not landed:
            landed.append(publish(2))
        return pq.read_table(source).to_pandas()

    value, version = store.read(f"{stem}.parquet", None, read_while_another_write_lands)
    return {"first": first, "read": version, "tags": sorted(set(value["tag"].tolist()))}


def summary(value, arguments: argparse.Namespace) -> dict:
    """Rows, and which writes they came from (their `tag`); lazy reads filter on `--day`."""
    if arguments.as_json:
        value = pd.DataFrame(value)
    elif arguments.lazy == "polars":
        query = value.filter(pl.col("partition") == arguments.day) if arguments.day else value
        value = query.collect().to_pandas()
    elif arguments.lazy == "dataset":
        condition = pc.field("partition") == arguments.day if arguments.day else None
        value = value.to_table(filter=condition).to_pandas()
    complete = bool((value["id"].to_numpy() == np.arange(len(value))).all())
    return {"rows": len(value), "tags": sorted(set(value["tag"].tolist())), "complete": complete}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("package")
    commands = parser.add_subparsers(dest="command", required=True)
    writing = commands.add_parser("write")
    writing.add_argument("name")
    writing.add_argument("rows", type=int)
    writing.add_argument("tag", type=int)
    writing.add_argument("--fail-after-slices", type=int)
    writing.add_argument("--day")
    writing.add_argument("--as-json", action="store_true", help="a list of rows, stored as JSON")
    reading = commands.add_parser("read")
    reading.add_argument("key")
    reading.add_argument("--version")
    reading.add_argument("--lazy", choices=["dataset", "polars"])
    reading.add_argument("--day")
    reading.add_argument("--as-json", action="store_true", help="load the rows as a list")
    overlapping = commands.add_parser("overlap")
    overlapping.add_argument("name")
    overlapping.add_argument("rows", type=int)
    arguments = parser.parse_args()
    action = {"write": write, "read": read, "overlap": overlap}[arguments.command]
    print(json.dumps(action(arguments.package, arguments)), flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""A process that writes shared assets through the platform's IO manager, as a run does.

`python store_workers.py BASE publish ASSET COUNT WORKER MODE` publishes ASSET (`team/name`)
COUNT times with `handle_output`: tables, dicts, or both in turn (MODE `table`, `dict`, `mixed`);
each value says which worker and which write it was, and so does its run id (`w<W>-<I>`). It
prints one JSON line: how many publishes raised. `... write-stuck ASSET` starts writing a table
and stops midway, for a test to kill it there.
"""

import json
import sys
import time

import dagster as dg
import pyarrow as pa
from dagster_team_platform import formats
from dagster_team_platform.io_manager import SharedStorageIOManager


def value(worker: int, number: int, mode: str) -> object:
    as_table = mode == "table" or (mode == "mixed" and (worker + number) % 2 == 0)
    row = {"worker": worker, "number": number}
    return pa.table({key: [item] for key, item in row.items()}) if as_table else row


def publish(io_manager: SharedStorageIOManager, asset: str, count: int, worker: int, mode: str):
    failures = []
    for number in range(count):
        context = dg.build_output_context(asset_key=asset.split("/"), run_id=f"w{worker}-{number}")
        try:
            io_manager.handle_output(context, value(worker, number, mode))
        except Exception as error:  # noqa: BLE001 -- counted, and shown: a run would fail here
            failures.append(f"{type(error).__name__}: {error}")
    return {"failures": len(failures), "errors": failures[:3]}


def write_stuck(io_manager: SharedStorageIOManager, asset: str) -> dict:
    def stuck(table, sink) -> None:
        sink.write(b"PAR1" + bytes(2**20))  # the first MiB of a Parquet file, then nothing
        sink.flush()
        time.sleep(3600)

    formats.write_table = stuck
    io_manager.handle_output(
        dg.build_output_context(asset_key=asset.split("/")), value(0, 0, "table")
    )
    return {}


if __name__ == "__main__":
    base, command, asset, *rest = sys.argv[1:]
    io_manager = SharedStorageIOManager(base=base, team=asset.split("/")[0])
    if command == "publish":
        count, worker, mode = rest
        result = publish(io_manager, asset, int(count), int(worker), mode)
    else:
        result = write_stuck(io_manager, asset)
    print(json.dumps(result), flush=True)

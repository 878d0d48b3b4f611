"""The platform package's shared IO manager, in-process: open formats at documented paths,
partitions, retention, lazy inputs, pickles only by opt-in, and clear errors.

Real materializations into a temporary shared directory, through the same code that writes to S3
in Dagster+ (tests/test_shared_data_history.py runs it against S3 from generated repos).
"""

import datetime
import json
import pickle
import time
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from dagster_team_platform import store
from dagster_team_platform.io_manager import SharedStorageIOManager

TEAM = "sales_analytics"
OTHER_TEAM = "other_team"
OTHERS_ORDERS = dg.AssetSpec(key=[OTHER_TEAM, "orders"])


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """The shared directory's prefix folder, where every team's assets land."""
    return tmp_path / "shared"


def materialize(shared: Path, *assets, **kwargs) -> dg.ExecuteInProcessResult:
    io_manager = SharedStorageIOManager(base=str(shared), team=TEAM)
    return dg.materialize(assets, resources={"io_manager": io_manager}, **kwargs)


class Reader:
    """An asset of this team that keeps what it loaded from `key`, for the test to inspect."""

    def __init__(self, key: list[str], annotation: object = object, **in_metadata) -> None:
        self.loaded = None

        @dg.asset(key_prefix=TEAM, ins={"upstream": dg.AssetIn(key=key, metadata=in_metadata)})
        def read(upstream: annotation) -> dict:  # type: ignore[valid-type]
            self.loaded = upstream
            return {"type": type(upstream).__name__}

        self.asset = read


ORDERS = pa.table({"order_id": [1, 2], "region": ["eu", None], "amount": [1.5, None]})


@dg.asset(key_prefix=TEAM)
def orders() -> pa.Table:
    return ORDERS


@dg.asset(key_prefix=TEAM)
def summary() -> dict:
    return {"day": datetime.date(2024, 1, 31), "total": 1.5, "regions": ["eu"], "note": None}


def test_tables_are_parquet_and_plain_values_json_at_documented_paths(shared: Path) -> None:
    materialize(shared, orders, summary)
    assert pq.read_table(shared / TEAM / "orders.parquet").equals(ORDERS)
    assert json.loads((shared / TEAM / "summary.json").read_text()) == {
        "day": "2024-01-31", "total": 1.5, "regions": ["eu"], "note": None
    }  # fmt: skip


def test_downstream_assets_load_tables_as_annotated_and_arrow_otherwise(shared: Path) -> None:
    materialize(shared, orders)
    as_any, as_arrow = Reader([TEAM, "orders"]), Reader([TEAM, "orders"], pa.Table)
    only_amount = Reader([TEAM, "orders"], columns=["amount"])
    for read in (as_any, as_arrow, only_amount):
        materialize(shared, orders, read.asset, selection=[read.asset.key])
    assert as_any.loaded.equals(ORDERS) and as_arrow.loaded.equals(ORDERS)
    assert only_amount.loaded.column_names == ["amount"]


def test_materializations_record_schema_and_row_count(shared: Path) -> None:
    [event] = materialize(shared, orders).get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value == 2
    assert [(c.name, c.type) for c in metadata["dagster/column_schema"].schema.columns] == [
        ("order_id", "int64"), ("region", "string"), ("amount", "double")
    ]  # fmt: skip
    assert metadata["uri"].value == str(shared / TEAM / "orders.parquet")


DAYS = dg.StaticPartitionsDefinition(["2024-01-01", "2024-01-02"])
DAYS_BY_REGION = dg.MultiPartitionsDefinition({"day": DAYS, "region": dg.StaticPartitionsDefinition(["eu", "us"])})  # fmt: skip


@dg.asset(key_prefix=TEAM, partitions_def=DAYS)
def daily(context: dg.AssetExecutionContext) -> pa.Table:
    return pa.table({"amount": [len(context.partition_key)]})


@dg.asset(key_prefix=TEAM, partitions_def=DAYS_BY_REGION)
def regional(context: dg.AssetExecutionContext) -> list:
    return [context.partition_key]


def test_partitions_are_hive_folders_that_load_one_by_one_or_together(shared: Path) -> None:
    for day in DAYS.get_partition_keys():
        materialize(shared, daily, partition_key=day)
    materialize(shared, regional, partition_key="2024-01-01|eu")
    assert (shared / TEAM / "daily" / "partition=2024-01-02" / "data.parquet").is_file()
    assert (shared / TEAM / "regional" / "day=2024-01-01" / "region=eu" / "data.json").is_file()
    dataset = ds.dataset(shared / TEAM / "daily", partitioning="hive").to_table()
    assert sorted(dataset.column("partition").to_pylist()) == DAYS.get_partition_keys()
    every_day = Reader([TEAM, "daily"], dict[str, pa.Table])
    materialize(shared, daily, every_day.asset, selection=[every_day.asset.key])
    assert sorted(every_day.loaded) == DAYS.get_partition_keys()
    assert every_day.loaded["2024-01-01"].column("amount").to_pylist() == [10]


def test_replaced_versions_expire_after_the_orgs_retention(shared: Path, monkeypatch) -> None:
    io_manager = SharedStorageIOManager(base=str(shared), team=TEAM, history_days=1)
    history = shared / TEAM / ".versions" / "orders@"
    kept = lambda: [entry for entry in history.iterdir() if not entry.name.startswith(".")]
    for _ in range(2):
        dg.materialize([orders], resources={"io_manager": io_manager})
    assert len(kept()) == 2
    two_days_on = time.time() + 2 * 86_400
    monkeypatch.setattr(store.time, "time", lambda: two_days_on)
    dg.materialize([orders], resources={"io_manager": io_manager})
    assert len(kept()) == 2  # the current version, and the one it replaced just now


def test_lazy_inputs_get_a_dataset_whose_hive_columns_select_partitions(shared: Path) -> None:
    for day in DAYS.get_partition_keys():
        materialize(shared, daily, partition_key=day)
    lazy = Reader([TEAM, "daily"], ds.Dataset)
    materialize(shared, daily, lazy.asset, selection=[lazy.asset.key])
    second_day = lazy.loaded.to_table(filter=ds.field("partition") == "2024-01-02")
    assert second_day.to_pylist() == [{"amount": 10, "partition": "2024-01-02"}]


def test_a_lazy_input_of_a_plain_value_and_a_single_pin_for_many_partitions_are_refused(
    shared: Path,
) -> None:
    materialize(shared, summary, daily, partition_key="2024-01-01")
    materialize(shared, daily, partition_key="2024-01-02")
    lazy = Reader([TEAM, "summary"], ds.Dataset)
    with pytest.raises(dg.Failure, match=f"{TEAM}/summary is stored as json, not as a table"):
        materialize(shared, summary, lazy.asset, selection=[lazy.asset.key])
    pinned = Reader([TEAM, "daily"], dict[str, pa.Table], version="v1")
    message = f"The input from {TEAM}/daily pins version 'v1' but loads 2 partitions"
    with pytest.raises(dg.Failure, match=message):
        materialize(shared, daily, pinned.asset, selection=[pinned.asset.key])


def returning(name: str, value: object) -> dg.AssetsDefinition:
    @dg.asset(key_prefix=TEAM, name=name)
    def asset() -> object:
        return value

    return asset


def test_empty_and_very_wide_tables_round_trip(shared: Path) -> None:
    empty = pa.table({"id": pa.array([], pa.int64()), "name": pa.array([], pa.string())})
    wide = pa.table({f"column_{i}": [i] for i in range(2_000)})
    for name, table in [("empty", empty), ("wide", wide)]:
        read = Reader([TEAM, name])
        materialize(shared, returning(name, table), read.asset)
        assert read.loaded.equals(table)


def test_values_without_an_open_format_fail_naming_asset_type_and_formats(shared: Path) -> None:
    message = (
        f"{TEAM}/model returned a set, which the shared storage cannot write in an open format"
        ".* Return a pandas or polars DataFrame or a pyarrow Table"
        ".* opt in to pickle with metadata={'storage_format': 'pickle'}"
    )
    with pytest.raises(dg.Failure, match=message):
        materialize(shared, returning("model", {1, 2}))
    assert not (shared / TEAM).exists()


def test_keys_that_collide_as_json_are_refused_naming_them(shared: Path) -> None:
    message = (
        f"{TEAM}/lookup returned a dict, which the shared storage cannot write in an open format "
        """\\(the keys 1 and '1' are both "1" in JSON; give them distinct string keys\\)"""
    )
    with pytest.raises(dg.Failure, match=message):
        materialize(shared, returning("lookup", {"codes": [{1: "a", "1": "b"}]}))
    assert not (shared / TEAM / "lookup.json").exists()


def test_a_missing_upstream_names_where_it_looked(shared: Path) -> None:
    with pytest.raises(dg.Failure, match=rf"{OTHER_TEAM}/orders is not stored under '{shared}'"):
        materialize(shared, OTHERS_ORDERS, Reader(OTHERS_ORDERS.key.path).asset)


class Model:
    def __init__(self, weights: list[float]) -> None:
        self.weights = weights


@dg.asset(key_prefix=TEAM, metadata={"storage_format": "pickle"})
def model() -> Model:
    return Model([0.5])


def test_a_team_may_opt_in_to_pickle_for_its_own_assets(shared: Path) -> None:
    read = Reader([TEAM, "model"])
    materialize(shared, model, read.asset)
    assert (shared / TEAM / "model.pickle").is_file()
    assert read.loaded.weights == [0.5]


class Payload:
    """Unpickling this creates a file: proof that a load ran the writer's code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_another_teams_pickle_is_never_unpickled(shared: Path, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    (shared / OTHER_TEAM).mkdir(parents=True)
    (shared / OTHER_TEAM / "orders.pickle").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(dg.Failure, match="never unpickles another team's objects"):
        materialize(shared, OTHERS_ORDERS, Reader(OTHERS_ORDERS.key.path).asset)
    assert not marker.exists()


def test_a_pickle_from_an_earlier_template_version_names_the_team_to_rematerialize(
    shared: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "code-ran"
    (shared / OTHER_TEAM).mkdir(parents=True)
    (shared / OTHER_TEAM / "orders").write_bytes(pickle.dumps(Payload(marker)))
    message = f"exists only as a pickle written by an earlier template version.*Team '{OTHER_TEAM}' must re-materialize it"  # fmt: skip
    with pytest.raises(dg.Failure, match=message):
        materialize(shared, OTHERS_ORDERS, Reader(OTHERS_ORDERS.key.path).asset)
    assert not marker.exists()


def test_a_format_change_leaves_no_older_object_behind_but_keeps_its_history(shared: Path) -> None:
    [parquet] = materialize(shared, orders).get_asset_materialization_events()
    materialize(shared, returning("orders", ORDERS.to_pylist()))
    current = [path.name for path in (shared / TEAM).iterdir() if not path.name.startswith(".")]
    assert current == ["orders.json"]
    earlier = parquet.materialization.metadata["version"].value
    pinned = Reader([TEAM, "orders"], pa.Table, version=earlier)
    materialize(shared, orders, pinned.asset, selection=[pinned.asset.key])
    assert pinned.loaded.equals(ORDERS)

"""The shared storage's layout, for any name: one path per asset and partition, histories apart.

Properties over arbitrary text (hypothesis), in-process: what layout.py promises other tools.
"""

import datetime

import dagster as dg
from dagster_team_platform import store
from dagster_team_platform.layout import (
    escape,
    history_dir,
    object_stem,
    partition_dirs,
    partition_key,
)
from hypothesis import given
from hypothesis import strategies as st

ROOT = "bucket/dagster"
names = st.text(min_size=1, max_size=20)
keys = st.lists(names, min_size=1, max_size=4)


@given(names, names)
def test_every_name_is_one_folder_name_of_its_own(first: str, second: str) -> None:
    assert "/" not in escape(first) and not escape(first).startswith(".")
    assert escape(first) not in ("", ".", "..")
    assert (escape(first) == escape(second)) == (first == second)


def test_plain_names_are_written_as_they_are() -> None:
    assert escape("daily_orders-v2.final") == "daily_orders-v2.final"


@given(names)
def test_a_partition_key_reads_back_from_its_folders(key: str) -> None:
    assert partition_key(partition_dirs(key)) == key


@given(names, names)
def test_a_multi_partition_key_reads_back_as_dagster_writes_it(day: str, region: str) -> None:
    key = dg.MultiPartitionKey({"day": day, "region": region})
    assert partition_key(partition_dirs(key)) == str(key)


@given(keys, keys)
def test_no_history_lies_inside_an_assets_folder_and_no_two_histories_meet(
    first: list[str], second: list[str]
) -> None:
    """An asset's folder: a team's asset (its prefix, then a name) with partitions in it."""
    stems = [object_stem(ROOT, key, None) for key in (first, second)]
    histories = [history_dir(ROOT, stem) for stem in stems]
    folders = [stem for key, stem in zip((first, second), stems, strict=True) if len(key) > 1]
    for folder in folders:
        assert not any(history.startswith(folder + "/") for history in histories)
    assert (histories[0] == histories[1]) == (first == second)


@given(names, names, names, st.sampled_from(["parquet", "json", "pickle"]))
def test_a_journal_entry_keeps_everything_history_shows(
    version: str, run_id: str, restored: str, kind: str
) -> None:
    published = datetime.datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=datetime.UTC)
    entry = store.Version(version, f"s/x.{kind}", kind, published, run_id, restored, False, 42)
    assert store._parse("s/x", store._name(entry)) == entry

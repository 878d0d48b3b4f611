"""Shared data survives failures and mistakes: atomic publish, version history, rollback, pins.

Team finance writes, team sales reads: two generated repos, each in its own venv, every write
and read in its own process, through the repo's own IO manager. On SeaweedFS with versioning
on, and on the local shared directory. Interrupts are real signals sent to the writing process
at a known point of its upload (it is stopped there first, so the point is exact); the one
failure that is injected is an exception between two slices of the write.
"""

import json
import signal
import subprocess
import time
import urllib.request
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fleet.org import org_settings
from testkit.repos import bake_template, repo_env, run_in_repo
from testkit.s3_servers import eventually, free_port, running, s3_client, seaweedfs
from testkit.team_runs import in_dagster_plus

ORG = org_settings()
BUCKET, PREFIX = ORG["buckets"][ORG["prod_deployment"]], ORG["storage_prefix"]
SCENARIOS = Path(__file__).parents[2] / "testkit" / "shared_data_scenarios.py"
ROWS = 8_000_000  # about 128 MiB of Parquet: eight 16 MiB parts, interrupts well before the end


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("teams")
    repos = {
        "finance": bake_template(root / "finance", team_name="Finance", team_slug="finance"),
        "sales": bake_template(root / "sales", team_name="Sales", team_slug="sales"),
    }
    for repo in repos.values():
        run_in_repo(repo, "uv", "sync", "--quiet")
        run_in_repo(repo, "uv", "pip", "install", "--quiet", "pandas", "polars")
    return repos


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """SeaweedFS with the prod bucket versioned, as the platform page asks of the org's buckets."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs"), list(ORG["buckets"].values())) as endpoint:
        eventually(partial(versioning, endpoint, BUCKET))  # SeaweedFS makes buckets just after
        yield endpoint  # it starts answering; the other deployments' buckets keep no versions


def versioning(endpoint: str, bucket: str) -> None:
    s3_client(endpoint).put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )


@pytest.fixture(params=["local", "s3"])
def where(request, tmp_path: Path) -> dict[str, str]:
    """Where a test's runs store: a fresh local shared directory, or the versioned bucket."""
    if request.param == "local":
        return {"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path / "shared")}
    endpoint = request.getfixturevalue("s3")
    return in_dagster_plus(endpoint) | {"TEST_ASSET": f"t{time.monotonic_ns()}"}


def scenario(repo: Path, env: dict[str, str], *arguments: str, check: bool = True):
    """Run the scenario script in the repo's venv; its last line is JSON."""
    result = run_in_repo(repo, "uv", "run", "--no-sync", "python", str(SCENARIOS), repo.name,
                         *arguments, env=env, check=check)  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1]) if check else result


def asset(env: dict[str, str], name: str = "orders") -> str:
    """A name of its own per test on the shared bucket, so tests never see each other's data."""
    return f"{name}_{env['TEST_ASSET']}" if "TEST_ASSET" in env else name


def stored(env: dict[str, str], name: str, file: str = "") -> pa.Table:
    """The current object as any plain Parquet reader sees it, without Dagster or our code."""
    key = f"{PREFIX}/finance/{name}{file or '.parquet'}"
    if "AWS_ENDPOINT_URL" in env:
        client = s3_client(env["AWS_ENDPOINT_URL"])
        body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
        return pq.read_table(pa.BufferReader(body.read()))
    return pq.read_table(Path(env["DAGSTER_SHARED_STORAGE_DIR"]) / key)


def current_objects(env: dict[str, str], name: str) -> list[str]:
    """The names of the asset's current objects, every format, as a listing shows them."""
    if "AWS_ENDPOINT_URL" in env:
        listed = s3_client(env["AWS_ENDPOINT_URL"]).list_objects_v2(
            Bucket=BUCKET, Prefix=f"{PREFIX}/finance/{name}."
        )
        return sorted(item["Key"].rpartition("/")[2] for item in listed.get("Contents", []))
    folder = Path(env["DAGSTER_SHARED_STORAGE_DIR"]) / PREFIX / "finance"
    return sorted(path.name for path in folder.glob(f"{name}.*"))


def upload_progress(env: dict[str, str], name: str) -> int:
    """Parts uploaded so far (S3), or MiB written so far (local), of the write under way."""
    if "AWS_ENDPOINT_URL" in env:
        client = s3_client(env["AWS_ENDPOINT_URL"])
        key = f"{PREFIX}/finance/{name}.parquet"
        uploads = client.list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads", [])
        return sum(parts(client, key, upload["UploadId"]) for upload in uploads)
    shared = Path(env["DAGSTER_SHARED_STORAGE_DIR"]) / PREFIX
    history = shared / "finance" / ".versions" / f"{name}@"
    partials = list(history.glob(".*.partial")) if history.is_dir() else []
    return sum(partial.stat().st_size for partial in partials) // (16 * 2**20)


def parts(client, key: str, upload: str) -> int:
    """Parts of an upload; none once it is completed or aborted (it may end as we ask)."""
    try:
        return len(client.list_parts(Bucket=BUCKET, Key=key, UploadId=upload).get("Parts", []))
    except client.exceptions.NoSuchUpload:
        return 0


def start_write(
    repo: Path, env: dict[str, str], name: str, tag: int, *options: str
) -> subprocess.Popen:
    command = [str(repo / ".venv/bin/python"), str(SCENARIOS), "finance", "write", name,
               str(ROWS), str(tag), *options]  # fmt: skip
    return subprocess.Popen(command, cwd=repo, env=repo_env() | env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def stop_at(process: subprocess.Popen, env: dict[str, str], name: str, progress: int) -> bool:
    """Freeze the writer once `progress` parts (or 16 MiB steps) of its write are stored; False
    when the write got past them before the freeze took hold (a loaded machine can stall this
    process that long), in which case the writer runs to its end."""
    deadline = time.monotonic() + 120
    while upload_progress(env, name) < progress:
        assert process.poll() is None, (
            f"the write ended before the interrupt:\n{process.stdout.read()}"
        )
        assert time.monotonic() < deadline, "the write never got that far"
        time.sleep(0.005)
    process.send_signal(signal.SIGSTOP)
    stat = Path(f"/proc/{process.pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] not in "TZX":  # until it is stopped
        time.sleep(0.001)
    if upload_progress(env, name) >= progress:  # frozen mid-write: the state holds still
        return True
    process.send_signal(signal.SIGCONT)
    process.communicate(timeout=120)
    return False


def frozen_mid_write(team: Path, env: dict[str, str], name: str, progress: int):
    """Write version 1 of `name`, then freeze a write of version 2 once `progress` is stored:
    the frozen writer, and what the first write printed."""
    for _ in range(3):
        first = scenario(team, env, "write", name, "1000", "1")
        writer = start_write(team, env, name, tag=2)
        if stop_at(writer, env, name, progress):
            return writer, first
    pytest.fail("three writes ran past the freeze: the machine is too loaded to test this")


@pytest.mark.parametrize(
    ("interrupt", "progress"),
    [("SIGTERM", 1), ("SIGINT", 2), ("SIGKILL", 4)],
)
def test_an_interrupted_write_leaves_the_previous_version_whole(
    teams, where, interrupt: str, progress: int
) -> None:
    name = asset(where)
    for _ in range(3):
        writer, first = frozen_mid_write(teams["finance"], where, name, progress)
        during = stored(where, name)
        writer.send_signal(getattr(signal, interrupt))
        writer.send_signal(signal.SIGCONT)
        writer.communicate(timeout=120)
        if writer.returncode != 0:
            break
        # Dagster defers SIGINT and SIGTERM in some stretches of a step, and this one finished
        # its write first: then the new version is whole, never part of one. Interrupt again.
        finished = stored(where, name)
        assert finished.num_rows == ROWS and set(finished.column("tag").to_pylist()) == {2}
    else:
        pytest.fail(f"Dagster deferred {interrupt} past the end of the write three times")
    after = stored(where, name)
    for table in (during, after):
        assert table.num_rows == 1000 and set(table.column("tag").to_pylist()) == {1}
    read = scenario(teams["sales"], where, "read", f"finance/{name}")
    assert read == {"rows": 1000, "tags": [1], "complete": True}
    assert first["version"] != "unversioned"
    if interrupt != "SIGKILL":  # the writer cleaned up after itself: nothing half-made is kept
        assert upload_progress(where, name) == 0


def test_a_failure_between_two_slices_keeps_the_previous_version(teams, where) -> None:
    name = asset(where)
    scenario(teams["finance"], where, "write", name, "1000", "1")
    failed = scenario(teams["finance"], where, "write", name, str(ROWS), "2",
                      "--fail-after-slices", "3", check=False)  # fmt: skip
    assert failed.returncode != 0
    assert "a failure between two slices of the write" in failed.stdout + failed.stderr
    assert stored(where, name).column("tag").to_pylist() == [1] * 1000
    assert upload_progress(where, name) == 0


def test_a_failed_format_switch_keeps_the_old_format(teams, where) -> None:
    name = asset(where)
    scenario(teams["finance"], where, "write", name, "10", "1", "--as-json")
    failed = scenario(teams["finance"], where, "write", name, str(ROWS), "2",
                      "--fail-after-slices", "3", check=False)  # fmt: skip
    assert failed.returncode != 0
    assert current_objects(where, name) == [f"{name}.json"]
    assert scenario(teams["sales"], where, "read", f"finance/{name}", "--as-json") == {
        "rows": 10, "tags": [1], "complete": True
    }  # fmt: skip
    scenario(teams["finance"], where, "write", name, "20", "3")
    assert current_objects(where, name) == [f"{name}.parquet"]


def test_a_publish_during_a_read_never_mixes_two_versions(teams, where) -> None:
    """The reader reads the version it found first, even as another one lands mid-read."""
    result = scenario(teams["finance"], where, "overlap", asset(where), str(ROWS))
    assert result["read"] == result["first"] and result["tags"] == [1]
    assert stored(where, asset(where)).column("tag")[0].as_py() == 2  # the new one is current


def test_two_writers_of_one_partition_end_with_one_complete_version(teams, where) -> None:
    name = asset(where, "daily")
    day = "2024-01-01"
    writers = [start_write(teams["finance"], where, name, tag, "--day", day) for tag in (5, 6)]
    for writer in writers:
        output, _ = writer.communicate(timeout=300)
        assert writer.returncode == 0, output
    table = stored(where, name, f"/partition={day}/data.parquet")
    assert table.num_rows == ROWS and len(set(table.column("tag").to_pylist())) == 1
    history = shared_storage(teams["finance"], where, "history", f"finance/{name}",
                             "--partition", day).stdout  # fmt: skip
    assert len(history.splitlines()) == 3 and history.count("<- current") == 1  # and a header


def test_an_s3_failure_mid_upload_keeps_the_previous_version(teams, tmp_path: Path) -> None:
    """The store goes away between two parts; once it is back, readers find the old version."""
    data = tmp_path / "seaweedfs"
    with seaweedfs(data, [BUCKET]) as endpoint:
        eventually(partial(versioning, endpoint, BUCKET))
        env = in_dagster_plus(endpoint)
        writer, _ = frozen_mid_write(teams["finance"], env, "orders", progress=1)
    writer.send_signal(signal.SIGCONT)
    output, _ = writer.communicate(timeout=300)
    assert writer.returncode != 0
    assert f"Cannot use S3 bucket {BUCKET!r} at {endpoint}" in output
    with seaweedfs(data, [BUCKET]) as endpoint:
        env = in_dagster_plus(endpoint)
        assert eventually(partial(stored, env, "orders")).column("tag").to_pylist() == [1] * 1000
        read = scenario(teams["sales"], env, "read", "finance/orders")
    assert read == {"rows": 1000, "tags": [1], "complete": True}


def test_a_bucket_without_versioning_warns_that_there_is_no_history(teams, s3) -> None:
    others = [name for name in ORG["buckets"] if name != ORG["prod_deployment"]]
    if not others:
        pytest.skip("this org has one deployment, whose bucket the suite versions")
    env = in_dagster_plus(s3) | {"DAGSTER_CLOUD_DEPLOYMENT_NAME": others[0]}
    result = run_in_repo(teams["finance"], "uv", "run", "--no-sync", "python", str(SCENARIOS),
                         "finance", "write", "orders", "10", "1", env=env)  # fmt: skip
    assert json.loads(result.stdout.splitlines()[-1])["version"] == "unversioned"
    assert (
        f"Bucket {ORG['buckets'][others[0]]!r} keeps no earlier versions of finance/orders, so "
        "it cannot be rolled back. Ask the platform team to enable versioning on the bucket."
    ) in result.stdout + result.stderr


def shared_storage(repo: Path, env: dict[str, str], *arguments: str, check: bool = True):
    return run_in_repo(repo, "uv", "run", "--no-sync", "shared-storage", *arguments, env=env,
                       check=check)  # fmt: skip


@pytest.fixture(scope="module")
def webserver(teams, tmp_path_factory: pytest.TempPathFactory):
    """A real Dagster webserver for finance's code, whose REST API records the rollbacks."""
    home = tmp_path_factory.mktemp("dagster-home")
    port = free_port()
    command = [teams["finance"] / ".venv/bin/dagster-webserver", "-h", "127.0.0.1", "-p",
               str(port), "-m", "finance.definitions"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    probe = lambda: urllib.request.urlopen(f"{url}/server_info", timeout=5)
    env = repo_env() | {"DAGSTER_HOME": str(home)}
    with running(command, probe, env, timeout=120, cwd=teams["finance"]):
        yield url, home


def recorded_rollbacks(teams, home: Path, key: str, partition: str | None = None) -> list[dict]:
    """The metadata of each materialization the instance has of `key` (or of one partition)."""
    records = (
        f"dg.AssetRecordsFilter(asset_key=dg.AssetKey.from_user_string({key!r}), "
        f"asset_partitions={[partition] if partition else None!r})"
    )
    code = (
        "import json, dagster as dg\n"
        "instance = dg.DagsterInstance.get()\n"
        f"events = instance.fetch_materializations({records}, limit=10)\n"
        "print(json.dumps([{k: str(v.value) for k, v in e.asset_materialization.metadata.items()}"
        " for e in events.records]))\n"
    )
    result = run_in_repo(teams["finance"], "uv", "run", "--no-sync", "python", "-c", code,
                         env={"DAGSTER_HOME": str(home)})  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


def test_v1_v2_v3_then_a_rollback_is_what_another_team_loads(teams, s3, webserver) -> None:
    url, home = webserver
    env = in_dagster_plus(s3) | {"TEST_ASSET": "rollback"}
    name = asset(env)
    written = [scenario(teams["finance"], env, "write", name, str(tag * 10), str(tag))
               for tag in (1, 2, 3)]  # fmt: skip
    v1, v2, v3 = (write["version"] for write in written)
    rolled = shared_storage(teams["finance"], env, "rollback", f"finance/{name}", "--to", v1,
                            "--dagster-url", url)  # fmt: skip
    assert f"Rolled back finance/{name} to version {v1}" in rolled.stdout
    assert scenario(teams["sales"], env, "read", f"finance/{name}") == {
        "rows": 10, "tags": [1], "complete": True
    }  # fmt: skip
    [event] = recorded_rollbacks(teams, home, f"finance/{name}")
    assert event["restored_version"] == v1 and event["version"] not in (v1, v2, v3)
    assert event["uri"] == f"s3://{BUCKET}/{PREFIX}/finance/{name}.parquet"

    previous = shared_storage(teams["finance"], env, "rollback", f"finance/{name}",
                              "--previous", "--dagster-url", url)  # fmt: skip
    assert f"to version {v3}" in previous.stdout  # the one before the rollback
    pinned = scenario(teams["sales"], env, "read", f"finance/{name}", "--version", v2)
    assert pinned == {"rows": 20, "tags": [2], "complete": True}
    assert scenario(teams["sales"], env, "read", f"finance/{name}")["tags"] == [3]


def test_rollback_by_run_id_on_the_local_directory(teams, tmp_path: Path, webserver) -> None:
    url, _ = webserver
    env = {"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)}
    scenario(teams["finance"], env, "write", "orders", "10", "1")
    scenario(teams["finance"], env, "write", "orders", "20", "2")
    history = shared_storage(teams["finance"], env, "history", "finance/orders").stdout
    first_run = history.splitlines()[-1].split()[4]
    shared_storage(teams["finance"], env, "rollback", "finance/orders", "--run", first_run,
                   "--dagster-url", url)  # fmt: skip
    assert scenario(teams["sales"], env, "read", "finance/orders")["tags"] == [1]


def test_one_partition_rolls_back_alone_and_its_event_names_the_partition(
    teams, tmp_path: Path, webserver
) -> None:
    url, home = webserver
    env = {"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)}
    for tag, day in [(1, "2024-01-01"), (2, "2024-01-01"), (3, "2024-01-02")]:
        scenario(teams["finance"], env, "write", "daily", "10", str(tag), "--day", day)
    shared_storage(teams["finance"], env, "rollback", "finance/daily", "--partition",
                   "2024-01-01", "--previous", "--dagster-url", url)  # fmt: skip
    days = tmp_path / PREFIX / "finance" / "daily"
    tags = {day: pq.read_table(days / f"partition={day}/data.parquet").column("tag")[0].as_py()
            for day in ("2024-01-01", "2024-01-02")}  # fmt: skip
    assert tags == {"2024-01-01": 1, "2024-01-02": 3}
    [event] = recorded_rollbacks(teams, home, "finance/daily", partition="2024-01-01")
    assert event["uri"] == str(days / "partition=2024-01-01/data.parquet")


def test_a_branch_deployment_rolls_back_only_its_own_prefix(teams, s3) -> None:
    branch = in_dagster_plus(s3) | {"DAGSTER_CLOUD_DEPLOYMENT_NAME": "pr-7",
                          "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1"}  # fmt: skip
    scenario(teams["finance"], in_dagster_plus(s3), "write", "ledger", "10", "1")
    scenario(teams["finance"], in_dagster_plus(s3), "write", "ledger", "10", "2")
    result = shared_storage(teams["finance"], branch, "rollback", "finance/ledger",
                            "--previous", check=False)  # fmt: skip
    assert result.returncode == 1
    assert (
        f"No stored versions of finance/ledger at {BUCKET}/{PREFIX}-branches/pr-7/" in result.stderr
    )
    assert (
        stored(in_dagster_plus(s3), "ledger").column("tag")[0].as_py() == 2
    )  # production untouched


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["rollback", "sales/orders", "--previous"],
         "ERROR: sales/orders belongs to team 'sales'; this repo may only roll back its own "
         "assets, under finance/. Ask team 'sales' to run this in their repo."),
        (["rollback", "finance/missing", "--previous"],
         "ERROR: No stored versions of finance/missing at {root}/finance/missing.*. Check the "
         "asset key (team/name, as in the UI), the --partition, and DAGSTER_CLOUD_DEPLOYMENT_NAME."),
        (["rollback", "finance/orders", "--to", "nope"],
         "ERROR: finance/orders has no version 'nope'. `shared-storage history` lists the "
         "versions there are."),
        (["rollback", "finance/orders", "--run", "nope"],
         "ERROR: finance/orders has no version written by run 'nope'. `shared-storage history` "
         "lists the versions there are."),
        (["rollback", "finance/orders", "--previous"],
         "ERROR: finance/orders has no version before the current one. `shared-storage "
         "history` lists the versions there are."),
    ],
    ids=["another-team", "no-versions", "unknown-version", "unknown-run", "nothing-before"],
)  # fmt: skip
def test_every_rollback_refusal_says_what_to_do(teams, tmp_path: Path, arguments, message) -> None:
    env = {"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)}
    v1 = scenario(teams["finance"], env, "write", "orders", "10", "1")["version"]
    if "{v1}" in arguments:
        scenario(teams["finance"], env, "write", "orders", "10", "2")
    arguments = [argument.replace("{v1}", v1) for argument in arguments]
    result = shared_storage(teams["finance"], env, *arguments, check=False)
    assert result.returncode == 1
    assert message.format(root=tmp_path / PREFIX) in result.stderr


def test_a_rollback_dagster_cannot_record_is_done_and_exits_apart(teams, tmp_path: Path) -> None:
    """Exit 3, not 1: a script tells "rolled back, not recorded" from "nothing rolled back"."""
    env = {"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)}
    v1 = scenario(teams["finance"], env, "write", "orders", "10", "1")["version"]
    scenario(teams["finance"], env, "write", "orders", "10", "2")
    result = shared_storage(teams["finance"], env, "rollback", "finance/orders", "--to", v1,
                            "--dagster-url", "http://127.0.0.1:9", check=False)  # fmt: skip
    assert result.returncode == 3
    assert result.stderr.startswith(
        "WARNING: The rollback is done, but Dagster has no record of it: "
        "http://127.0.0.1:9/report_asset_materialization/ is unreachable ([Errno 111] "
        "Connection refused). Do not run the rollback again: it would roll back once more. To "
        "record it, open the asset's page in the Dagster UI (`dg dev`, or the deployment) and "
        "report a materialization with the metadata"
    )
    assert stored(env, "orders").column("tag").to_pylist() == [1] * 10
    usage = " ".join(shared_storage(teams["finance"], env, "rollback", "--help").stdout.split())
    assert (
        "exit codes: 0 done; 1 refused or failed, nothing was rolled back; 2 the arguments are "
        "wrong; 3 rolled back, but Dagster has no record of it"
    ) in usage


def test_a_pin_to_a_version_that_is_gone_names_it_and_what_to_do(teams, tmp_path: Path) -> None:
    env = {"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)}
    scenario(teams["finance"], env, "write", "orders", "10", "1")
    result = scenario(teams["sales"], env, "read", "finance/orders", "--version", "v0",
                      check=False)  # fmt: skip
    assert result.returncode != 0
    assert (
        f"finance/orders has no version 'v0' at {tmp_path / PREFIX}/finance/orders.parquet: it "
        "never existed, or is older than the org's retention." in result.stdout + result.stderr
    )


def test_a_lazy_reader_fetches_only_the_partitions_it_filters(teams, s3) -> None:
    """Counted in bytes per object by boto3 in the reader: the dataset's schema costs a footer."""
    env = in_dagster_plus(s3)
    for tag, day in enumerate(["2024-01-01", "2024-01-02", "2024-01-03"], start=1):
        scenario(teams["finance"], env, "write", "daily", "100000", str(tag), "--day", day)
    for lazy in ("polars", "dataset"):
        read = scenario(teams["sales"], env | {"COUNT_S3_GETS": "1"}, "read", "finance/daily",
                        "--lazy", lazy, "--day", "2024-01-02")  # fmt: skip
        assert read["rows"] == 100000 and read["tags"] == [2]
        wanted = f"{PREFIX}/finance/daily/partition=2024-01-02/data.parquet"
        size = s3_client(s3).head_object(Bucket=BUCKET, Key=wanted)["ContentLength"]
        others = {key: count for key, count in read["fetched"].items() if key != wanted}
        assert read["fetched"][wanted] >= size * 0.9  # the partition it filtered for, read
        assert all(count <= 64 * 2**10 for count in others.values()), others  # one footer at most

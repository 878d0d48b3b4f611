"""Owner A (finance) and consumer B (sales) in one real `dagster dev` workspace on 127.0.0.1.

B declares finance/orders in its upstreams.yaml only. Its freshness check fails while A's asset
is stale and passes once A materializes; a failed run of A is logged by B's failure sensor; A
dropping a declared column fails B's contract check, which then holds back B's downstream asset;
a second upstream added to B's declarations only appears after a reload.
"""

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from testkit.dagster_webserver import gql, wait_for
from testkit.repos import IN_PROCESS_RUN, bake_template, repo_env, run_in_repo
from testkit.s3_servers import free_port

REPOSITORY = "__repository__"
ORDERS = ["finance", "orders"]
DOWNSTREAM = ["sales", "uses_finance__orders"]
# Team A's own assets, as a team would write them: they record their column schema themselves,
# and read what to do from a control folder so the test can make them fail or change shape.
OWNER_ASSETS = """
import json
import os
from pathlib import Path

import dagster as dg

CONTROL = Path(os.environ["CONTRACT_CONTROL_DIR"])


def rows_with_schema(name: str) -> dg.Output:
    if (CONTROL / "fail").exists():
        raise RuntimeError(f"finance/{name} failed on purpose")
    columns = json.loads((CONTROL / "columns.json").read_text())
    schema = dg.TableSchema(columns=[dg.TableColumn(c, kind) for c, kind in columns.items()])
    return dg.Output([dict.fromkeys(columns, 1)], metadata={"dagster/column_schema": schema})


@dg.asset(key_prefix="finance", group_name="finance")
def orders() -> dg.Output:
    return rows_with_schema("orders")


@dg.asset(key_prefix="finance", group_name="finance")
def customers() -> dg.Output:
    return rows_with_schema("customers")
"""


def declare(repo: Path, *upstreams: dict) -> None:
    """Write B's upstreams.yaml, the only file a consumer edits."""
    path = repo / "src" / "sales" / "defs" / "upstreams.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "upstreams": list(upstreams)}, sort_keys=False))


ORDERS_CONTRACT = {
    "key": "finance/orders",
    "owner": "finance",
    "freshness": {"fail_after": {"count": 1, "period": "day"}},
    "columns": [{"name": "order_id", "type": "int64"}, {"name": "amount", "type": "int64"}],
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("contracts")
    owner = bake_template(root, team_name="Finance", team_slug="finance")
    consumer = bake_template(
        root, team_name="Sales", team_slug="sales", upstream_assets="finance/orders"
    )
    (owner / "src" / "finance" / "defs" / "assets.py").write_text(OWNER_ASSETS)
    declare(consumer, ORDERS_CONTRACT)
    for repo in (owner, consumer):
        run_in_repo(repo, "uv", "sync", "--quiet")
    control = root / "control"
    control.mkdir()
    (control / "columns.json").write_text(json.dumps({"order_id": "int64", "amount": "int64"}))
    home = root / "dagster-home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    workspace_file = root / "workspace.yaml"
    workspace_file.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": f"{repo.name}.definitions",
                            "location_name": repo.name,
                            "working_directory": str(repo / "src"),
                            "executable_path": str(repo / ".venv" / "bin" / "python"),
                        }
                    }
                    for repo in (owner, consumer)
                ]
            }
        )
    )
    port = free_port()
    env = repo_env() | {
        "DAGSTER_HOME": str(home),
        "DAGSTER_SHARED_STORAGE_DIR": str(root / "storage"),
        "CONTRACT_CONTROL_DIR": str(control),
        # Launching a run waits on a code server; on a busy machine that takes over the 60 s default.
        "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
    }
    command = [
        str(consumer / ".venv" / "bin" / "dagster"),
        *("dev", "-w", str(workspace_file), "-h", "127.0.0.1", "-p", str(port)),
    ]
    log = (root / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        server = {
            "url": f"http://127.0.0.1:{port}/graphql",
            "consumer": consumer,
            "control": control,
        }
        wait_for(lambda: locations_loaded(server), "both code locations to load")
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def locations_loaded(server: dict) -> bool:
    data = gql(
        server["url"],
        """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
             locationOrLoadError { __typename ... on PythonError { message } } } } } }""",
    )
    entries = data["workspaceOrError"]["locationEntries"]
    errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
    assert not errors, errors
    return len(entries) == 2 and all(e["loadStatus"] == "LOADED" for e in entries)


def materialize(server: dict, key: list[str]) -> str:
    """Launch a run of A's asset as its team would from the UI; return its final status."""
    data = gql(
        server["url"],
        """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
             __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
        params={
            "selector": {
                "repositoryLocationName": key[0],
                "repositoryName": REPOSITORY,
                "jobName": "__ASSET_JOB",
                "assetSelection": [{"path": key}],
                "assetCheckSelection": [],
            },
            "runConfigData": IN_PROCESS_RUN,
            "mode": "default",
        },
    )
    run_id = data["launchRun"]["run"]["runId"]
    return wait_for(lambda: finished(server, run_id), f"run {run_id} to finish")


def finished(server: dict, run_id: str) -> str | None:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    status = gql(server["url"], query, id=run_id)["runOrError"]["status"]
    return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None


def check_results(server: dict, key: list[str], name: str) -> list[dict]:
    """Completed executions of a check, newest first."""
    data = gql(
        server["url"],
        """query($key: AssetKeyInput!, $name: String!) {
             assetCheckExecutions(assetKey: $key, checkName: $name, limit: 20) {
               runId status timestamp evaluation { success description } } }""",
        key={"path": key},
        name=name,
    )
    return [e for e in data["assetCheckExecutions"] if e["evaluation"]]


def materializations(server: dict, key: list[str]) -> list[dict]:
    data = gql(
        server["url"],
        """query($key: AssetKeyInput!) { assetOrError(assetKey: $key) {
             ... on Asset { assetMaterializations(limit: 50) { runId timestamp } } } }""",
        key={"path": key},
    )
    return data["assetOrError"].get("assetMaterializations", [])


def sensor_selector(name: str) -> dict:
    return {"repositoryLocationName": "sales", "repositoryName": REPOSITORY, "sensorName": name}


def ticks(server: dict, sensor: str) -> list[dict]:
    data = gql(
        server["url"],
        """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
             ... on Sensor { sensorState { ticks(limit: 20) {
               timestamp status logEvents { events { message } } } } } } }""",
        selector=sensor_selector(sensor),
    )
    return data["sensorOrError"]["sensorState"]["ticks"]


def sensor_runs(server: dict, sensor: str) -> list[dict]:
    data = gql(
        server["url"],
        """query($tag: ExecutionTag!) { runsOrError(filter: {tags: [$tag]}) {
             ... on Runs { results { runId status } } } }""",
        tag={"key": "dagster/sensor_name", "value": sensor},
    )
    return data["runsOrError"]["results"]


def test_b_watches_a_through_its_declarations_only(workspace: dict) -> None:
    server = workspace
    gql(
        server["url"],
        """mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector) {
             __typename } }""",
        selector=sensor_selector("default_automation_condition_sensor"),
    )

    # Stale: A has never materialized orders. B's freshness sensor runs the check by itself.
    stale = wait_for(lambda: check_results(server, ORDERS, "sales_freshness"), "a freshness check")
    assert stale[0]["evaluation"]["success"] is False
    assert "finance/orders has never been materialized" in stale[0]["evaluation"]["description"]

    # Fresh: A materializes; B re-checks freshness and its contract, then its downstream runs.
    assert materialize(server, ORDERS) == "SUCCESS"
    fresh = wait_for(
        lambda: [
            r
            for r in check_results(server, ORDERS, "sales_freshness")
            if r["evaluation"]["success"]
        ],
        "the freshness check to pass",
    )
    assert fresh
    assert wait_for(
        lambda: [
            r for r in check_results(server, ORDERS, "sales_contract") if r["evaluation"]["success"]
        ],
        "the contract check to pass",
    )
    wait_for(lambda: materializations(server, DOWNSTREAM), "B's downstream asset to run")

    # A failed run of A is logged in B's deployment by B's failure sensor.
    (server["control"] / "fail").touch()
    assert materialize(server, ORDERS) == "FAILURE"
    (server["control"] / "fail").unlink()
    logged = wait_for(
        lambda: [
            event["message"]
            for tick in ticks(server, "sales_upstream_failures")
            for event in tick["logEvents"]["events"]
            if "Upstream run failed" in event["message"]
        ],
        "B's failure sensor to log A's failed run",
    )
    assert "did not update finance/orders, which sales reads" in logged[0]
    assert "finance/orders failed on purpose" in logged[0]

    # A drops a column B relies on: B's contract check fails and B's downstream does not run.
    (server["control"] / "columns.json").write_text(json.dumps({"order_id": "int64"}))
    downstream_before = len(materializations(server, DOWNSTREAM))
    assert materialize(server, ORDERS) == "SUCCESS"
    broken = wait_for(
        lambda: [
            r
            for r in check_results(server, ORDERS, "sales_contract")
            if not r["evaluation"]["success"]
        ],
        "the contract check to fail",
    )
    assert "column amount is missing" in broken[0]["evaluation"]["description"]
    failed_at = float(broken[0]["timestamp"])
    wait_for(
        lambda: (
            len(
                [
                    t
                    for t in ticks(server, "default_automation_condition_sensor")
                    if float(t["timestamp"]) > failed_at
                ]
            )
            >= 2
        ),
        "two automation ticks after the contract failure",
    )
    assert len(materializations(server, DOWNSTREAM)) == downstream_before

    # B checked freshness before A's first update and once after it: runs never piled up.
    assert len(sensor_runs(server, "sales_upstream_freshness")) == 2


def test_a_new_upstream_needs_only_a_declaration(workspace: dict) -> None:
    server = workspace
    customers = {"key": "finance/customers", "owner": "finance", "columns": [{"name": "order_id"}]}
    declare(server["consumer"], ORDERS_CONTRACT, customers)
    reload = gql(
        server["url"],
        """mutation { reloadRepositoryLocation(repositoryLocationName: "sales") { __typename } }""",
    )
    assert reload["reloadRepositoryLocation"]["__typename"] == "WorkspaceLocationEntry"
    wait_for(lambda: locations_loaded(server), "the consumer to reload")
    data = gql(
        server["url"],
        """{ assetNodes(assetKeys: [{path: ["finance", "customers"]}]) {
             groupName isMaterializable repository { location { name } }
             assetChecksOrError { ... on AssetChecks { checks { name } } } } }""",
    )
    nodes = {node["repository"]["location"]["name"]: node for node in data["assetNodes"]}
    # The owner's definition wins in the merged graph; B's checks are attached to it.
    (node,) = nodes.values()
    assert node["groupName"] == "finance"
    assert {check["name"] for check in node["assetChecksOrError"]["checks"]} == {"sales_contract"}
    assert materialize(server, ["finance", "customers"]) == "SUCCESS"
    assert wait_for(
        lambda: check_results(server, ["finance", "customers"], "sales_contract"),
        "the new upstream's contract check to run",
    )[0]["evaluation"]["success"]

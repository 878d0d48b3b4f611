"""Two team repositories on one laptop, in one dg workspace and one Dagster instance.

docs/quick-start.md's dg.toml and commands run as printed, in a folder holding both clones and
from a fresh terminal (HOME is a temporary folder): each code location loads from its own
repository's venv, a run launched from the other repository shows in the workspace's UI, and
nothing the page has the reader run warns, from start to Ctrl-C.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.dagster_webserver import gql, wait_for
from testkit.repos import TEMPLATE, bake_template, repo_env, run_in_repo
from testkit.s3_servers import free_port

PAGE = (TEMPLATE / "docs" / "quick-start.md").read_text()


def page_block(name: str) -> str:
    """The code block under the page's `<!-- tested: name -->` marker."""
    block = re.search(rf"<!-- tested: {re.escape(name)} -->\n```\w+\n(.*?)```", PAGE, re.DOTALL)
    assert block, f"docs/quick-start.md has no block marked tested: {name}"
    return block.group(1)


DG_TOML = page_block("dg.toml")
COMMANDS = page_block("commands")
LAUNCH = "uv run dg launch --assets finance/orders"  # the page's example, run in finance/
# What a reader should never see: Python's and Dagster's warnings, supersessions, errors, and
# the one config warning Dagster prints bare (outside `dg dev`, with no level name before it).
ALARMING = re.compile(
    r"^.*(?:warn|deprecat|supersed|error|traceback|no dagster instance configuration).*$",
    re.IGNORECASE | re.MULTILINE,
)
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus displayMetadata { key value }
    locationOrLoadError { __typename ... on PythonError { message }
      ... on RepositoryLocation { repositories { assetNodes { assetKey { path } } } } } } } } }"""
ORDERS_MATERIALIZATIONS = """{ assetOrError(assetKey: {path: ["finance", "orders"]}) {
    ... on Asset { assetMaterializations { runId } } } }"""
# Starts a command with Ctrl-C working, also where these tests run with SIGINT ignored (started in
# the background), which the command would inherit.
WITH_CTRL_C = [
    sys.executable, "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])",
]  # fmt: skip
UNFINISHED_RUNS = """{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {
    ... on Runs { results { runId } } } }"""


@pytest.fixture(scope="module")
def laptop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page's folder: finance and the quick start's sales-analytics, synced, and dg.toml."""
    root = tmp_path_factory.mktemp("laptop")
    bake_template(root, team_name="Finance", team_slug="finance")
    bake_template(root, upstream_assets="finance/orders")
    for repo in ("finance", "sales-analytics"):
        run_in_repo(root / repo, "uv", "sync", "--quiet")
    (root / "dg.toml").write_text(DG_TOML)
    return root


@pytest.fixture(scope="module")
def evening(laptop: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The page's commands, its `dg dev` on a free port of 127.0.0.1; a run launched from
    finance/ while it serves; then Ctrl-C, as in a terminal. Returns what was seen."""
    home = tmp_path_factory.mktemp("home")
    port = free_port()
    script, found = re.subn(r"\bdg dev\b", f"dg dev --host 127.0.0.1 --port {port}", COMMANDS)
    assert found == 1, f"The page's commands should start one `dg dev`:\n{COMMANDS}"
    shared = {"DAGSTER_SHARED_STORAGE_DIR": str(laptop / "shared")}  # not the real HOME's
    url = f"http://127.0.0.1:{port}/graphql"
    seen: dict = {"output": {}}
    out, err = laptop / "dg-dev.out", laptop / "dg-dev.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [*WITH_CTRL_C, "bash", "-c", script], cwd=laptop,
            env=repo_env() | shared | {"HOME": str(home)}, stdout=stdout, stderr=stderr,
            start_new_session=True,  # its own process group, stopped as a whole below
        )  # fmt: skip
        try:
            seen["locations"] = wait_for(lambda: loaded(url, server, err), "both code locations")
            instances = [runs.parent.parent for runs in home.rglob("history/runs.db")]
            assert len(instances) == 1, (
                f"The page's commands should keep one instance under HOME: {instances}"
            )
            seen["before"] = materializations(url)
            instance = {"DAGSTER_HOME": str(instances[0])}  # exported in the reader's terminals
            launch = run_in_repo(laptop / "finance", *LAUNCH.split(), env=shared | instance)
            seen["output"][LAUNCH] = launch.stdout + launch.stderr
            seen["launched"] = re.findall(r" - ([0-9a-f-]{36}) - \d+ - RUN_SUCCESS", launch.stderr)
            seen["after"] = materializations(url)
            # A sensor's run may be starting: stopping under it would print its interruption.
            wait_for(lambda: not gql(url, UNFINISHED_RUNS)["runsOrError"]["results"], "no runs")
        finally:
            seen["stopped"] = ctrl_c(server)
    seen["output"]["dg dev: stdout"] = out.read_text()
    seen["output"]["dg dev: stderr"] = err.read_text()
    return seen


def loaded(url: str, server: subprocess.Popen, log: Path) -> dict | None:
    """Each location's assets and Python once all are loaded; fails on a load error."""
    assert server.poll() is None, f"`dg dev` exited with {server.returncode}:\n{log.read_text()}"
    entries = gql(url, LOCATIONS)["workspaceOrError"]["locationEntries"]
    errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
    assert not errors, errors
    if not entries or any(e["loadStatus"] != "LOADED" for e in entries):
        return None
    return {
        entry["name"]: {
            "assets": {
                "/".join(node["assetKey"]["path"])
                for repository in entry["locationOrLoadError"]["repositories"]
                for node in repository["assetNodes"]
            },
            "python": {m["key"]: m["value"] for m in entry["displayMetadata"]}.get(
                "executable_path"
            ),
        }
        for entry in entries
    }


def materializations(url: str) -> list[str]:
    """The runs that materialized finance/orders, as the workspace's UI sees them."""
    asset = gql(url, ORDERS_MATERIALIZATIONS)["assetOrError"]
    return [event["runId"] for event in asset.get("assetMaterializations", [])]


def ctrl_c(server: subprocess.Popen) -> bool:
    """Interrupt the whole process group as a terminal's Ctrl-C does; kill what is left after a
    minute. True if it stopped by itself."""
    try:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)
        stopped = True
    except subprocess.TimeoutExpired:
        stopped = False
    except ProcessLookupError:  # it had already exited; the test says why
        stopped = True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # never leave a code server behind
    server.wait()
    return stopped


def test_both_code_locations_load_from_their_own_venvs(laptop: Path, evening: dict) -> None:
    locations = evening["locations"]
    assert sorted(locations) == ["finance", "sales-analytics"]
    assert "finance/orders" in locations["finance"]["assets"]
    assert "sales_analytics/orders" in locations["sales-analytics"]["assets"]
    assert {name: location["python"] for name, location in locations.items()} == {
        name: str(laptop / name / ".venv" / "bin" / "python") for name in locations
    }


def test_a_run_from_the_other_repository_shows_in_the_workspace(evening: dict) -> None:
    assert LAUNCH in PAGE.replace("\n", " ")
    assert len(evening["launched"]) == 1, evening["output"][LAUNCH]
    assert (evening["before"], evening["after"]) == ([], evening["launched"])


def test_the_commands_print_no_warnings_and_stop_on_ctrl_c(evening: dict) -> None:
    alarming = {
        command: ALARMING.findall(output)
        for command, output in evening["output"].items()
        if ALARMING.search(output)
    }
    assert alarming == {}
    assert evening["stopped"], "dg dev did not stop within 60 s of Ctrl-C"


def test_the_check_catches_the_warning_the_page_avoids(laptop: Path, tmp_path: Path) -> None:
    """Without the page's empty dagster.yaml, Dagster warns; the check above would see it."""
    instance = {"DAGSTER_HOME": str(tmp_path)}
    load = "import dagster as dg; dg.DagsterInstance.get()"
    result = run_in_repo(laptop / "finance", ".venv/bin/python", "-c", load, env=instance)
    assert ALARMING.findall(result.stdout + result.stderr) == [
        f"No dagster instance configuration file (dagster.yaml) found at {tmp_path}. Defaulting to "
        f"loading and storing all metadata with {tmp_path}. If this is the desired behavior, "
        f"create an empty dagster.yaml file in {tmp_path}."
    ]

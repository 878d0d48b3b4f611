"""Teams on different Python, pandas, numpy and polars versions read each other's assets.

Team A writes with Python 3.13, pandas 3 and numpy 2; team B reads with Python 3.11, pandas 2.2
and numpy 1.26; team C reads with polars and no pandas at all. Each repo has its own venv, made
with `uv add` as a team would, and runs in its own process, against SeaweedFS and the local
shared directory. Plain pickle between the same venvs shows the failure this replaces.
"""

import json
import os
import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fleet.org import org_settings
from testkit.repos import IN_PROCESS, TEMPLATE, bake_template, run_in_repo
from testkit.s3_servers import CREDENTIALS, s3_client, seaweedfs

ORG = org_settings()
BUCKET = ORG["buckets"][ORG["prod_deployment"]]
PREFIX = ORG["storage_prefix"]
PYTHONS = {"a": "python3.13", "b": "python3.11", "c": "python3.13"}
LIBRARIES = {
    "a": ["pandas>=3,<4", "numpy>=2,<3"],
    "b": ["pandas==2.2.3", "numpy==1.26.4"],
    "c": ["polars>=1.30"],
}
SLUGS = {"a": "finance", "b": "sales", "c": "marketing"}

WRITER = '''
"""A frame with every column kind other teams rely on, and a partitioned asset."""

import pandas as pd

import dagster as dg

DAYS = dg.StaticPartitionsDefinition(["2024-01-01", "2024-01-02"])


@dg.asset(key_prefix="finance", group_name="finance")
def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["alpha", None, "gamma"],
            "count": [1, 2, 3],
            "price": [1.5, None, 2.25],
            "at": pd.to_datetime(["2024-01-31 12:00", None, "2024-02-01 00:00"], utc=True),
            "nothing": [None, None, None],
        }
    )


@dg.asset(key_prefix="finance", group_name="finance", partitions_def=DAYS)
def daily_orders(context: dg.AssetExecutionContext) -> pd.DataFrame:
    return pd.DataFrame({"day": [context.partition_key], "amount": [len(context.partition_key)]})


@dg.asset(key_prefix="finance", group_name="finance")
def secret() -> list:
    return []
'''

READER = '''
"""What this team sees of finance's assets, as JSON the test compares."""

import importlib.util
import platform
from typing import Any

import dagster as dg
import {library}

ORDERS, SECRET = (dg.AssetSpec(key=["finance", name]) for name in ["orders", "secret"])
DAYS = dg.StaticPartitionsDefinition(["2024-01-01", "2024-01-02"])
DAILY = dg.AssetSpec(key=["finance", "daily_orders"], partitions_def=DAYS)


def versions() -> dict[str, Any]:
    found = {{name: importlib.util.find_spec(name) is not None for name in ["pandas", "polars"]}}
    return {{"python": platform.python_version(), "{library}": {library}.__version__}} | found


@dg.asset(key_prefix="{team}", group_name="{team}", ins={{"frame": dg.AssetIn(key=ORDERS.key)}})
def frame_seen(frame: {frame_type}) -> dict[str, Any]:
    return versions() | {{"rows": {records}}}


@dg.asset(key_prefix="{team}", group_name="{team}", ins={{"daily": dg.AssetIn(key=DAILY.key)}})
def daily_seen(daily: dict[str, {frame_type}]) -> dict[str, Any]:
    return {{day: {daily_records} for day, part in daily.items()}}


@dg.asset(key_prefix="{team}", group_name="{team}", ins={{"secret": dg.AssetIn(key=SECRET.key)}})
def secret_seen(secret: Any) -> int:
    return len(secret)
'''

READERS = {
    "b": {
        "library": "pandas",
        "frame_type": "pandas.DataFrame",
        "records": "frame.astype(object).where(frame.notna(), None).to_dict('records')",
        "daily_records": "part.to_dict('records')",
    },
    "c": {
        "library": "polars",
        "frame_type": "polars.DataFrame",
        "records": "frame.to_dicts()",
        "daily_records": "part.to_dicts()",
    },
}

EXPECTED_ROWS = [
    {"name": "alpha", "count": 1, "price": 1.5, "at": "2024-01-31T12:00:00+00:00", "nothing": None},
    {"name": None, "count": 2, "price": None, "at": None, "nothing": None},
    {
        "name": "gamma",
        "count": 3,
        "price": 2.25,
        "at": "2024-02-01T00:00:00+00:00",
        "nothing": None,
    },
]
EXPECTED_DAILY = {day: [{"day": day, "amount": 10}] for day in ["2024-01-01", "2024-01-02"]}


def interpreter(name: str) -> str:
    """A working `python3.X`: from PATH, or installed by pyenv though not selected there."""
    pyenv_versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in [shutil.which(name), *sorted(pyenv_versions.glob(f"*/bin/{name}"))]:
        if (
            candidate
            and subprocess.run([candidate, "-V"], capture_output=True, check=False).returncode == 0
        ):
            return str(candidate)
    pytest.skip(f"No working {name} on PATH or in pyenv; the cross-version scenario needs one.")


class Team:
    """A generated repo and the Python its venv was made with (every uv call must name it)."""

    def __init__(self, repo: Path, python: str) -> None:
        self.repo, self.env = repo, {"UV_PYTHON": python}

    def run(self, *command: str, env: dict[str, str] | None = None, check: bool = True):
        return run_in_repo(self.repo, "uv", *command, env=self.env | (env or {}), check=check)

    def materialize(self, key: str, env: dict[str, str], partition: str = "", check: bool = True):
        command = ["run", "--no-sync", "dagster", "asset", "materialize",
                   "-m", f"{self.repo.name}.definitions", "--select", key, *IN_PROCESS]  # fmt: skip
        return self.run(*command, *(["--partition", partition] if partition else []), env=env, check=check)  # fmt: skip

    def python(self, code: str, check: bool = True):
        return self.run("run", "--no-sync", "python", "-c", code, check=check)


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Team]:
    """Three team repos, each with its own Python and the libraries it added with `uv add`."""
    pythons = {team: interpreter(name) for team, name in PYTHONS.items()}
    root = tmp_path_factory.mktemp("versions")
    teams = {}
    for team, slug in SLUGS.items():
        repo = bake_template(root / team, team_name=slug.title(), team_slug=slug)
        source = WRITER if team == "a" else READER.format(team=slug, **READERS[team])
        (repo / "src" / slug / "defs" / "assets.py").write_text(source.lstrip())
        teams[team] = Team(repo, pythons[team])
        teams[team].run("add", "--quiet", *LIBRARIES[team])
    return teams


def publish_and_read(teams: dict[str, Team], env: dict[str, str]) -> None:
    """Team A materializes its frame and both partitions; B and C each load them."""
    teams["a"].materialize("finance/orders", env)
    for day in EXPECTED_DAILY:
        teams["a"].materialize("finance/daily_orders", env, day)
    for team in "bc":
        slug = SLUGS[team]
        teams[team].materialize(f"{slug}/frame_seen,{slug}/daily_seen", env)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs"), [BUCKET]) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def in_prod(s3: str) -> dict[str, str]:
    return CREDENTIALS | {"AWS_ENDPOINT_URL": s3, "DAGSTER_CLOUD_DEPLOYMENT_NAME": ORG["prod_deployment"]}  # fmt: skip


@pytest.fixture(scope="module")
def published_on_s3(teams: dict[str, Team], s3: str, in_prod: dict[str, str]) -> str:
    publish_and_read(teams, in_prod)
    return s3


def test_each_team_runs_the_versions_the_scenario_needs(teams) -> None:
    script = "import platform, pandas, numpy; print(platform.python_version(), pandas.__version__, numpy.__version__)"  # fmt: skip
    python, pandas, numpy = teams["a"].python(script).stdout.split()
    assert (python[:5], pandas[0], numpy[0]) == ("3.13.", "3", "2")
    python, pandas, numpy = teams["b"].python(script).stdout.split()
    assert (python[:5], pandas[:4], numpy[:5]) == ("3.11.", "2.2.", "1.26.")
    assert "No module named 'pandas'" in teams["c"].python(script, check=False).stderr


def s3_json(endpoint: str, key: str) -> object:
    return json.loads(s3_client(endpoint).get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_pandas_and_polars_teams_read_a_newer_pandas_teams_assets_from_s3(published_on_s3) -> None:
    for team in "bc":
        folder = f"{PREFIX}/{SLUGS[team]}"
        frame_seen = s3_json(published_on_s3, f"{folder}/frame_seen.json")
        assert frame_seen["rows"] == EXPECTED_ROWS, team
        assert s3_json(published_on_s3, f"{folder}/daily_seen.json") == EXPECTED_DAILY, team
    assert s3_json(published_on_s3, f"{PREFIX}/marketing/frame_seen.json")["pandas"] is False


def test_pandas_and_polars_teams_read_it_from_the_local_shared_directory(teams, tmp_path) -> None:
    publish_and_read(teams, {"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)})
    for team in "bc":
        folder = tmp_path / PREFIX / SLUGS[team]
        assert json.loads((folder / "frame_seen.json").read_text())["rows"] == EXPECTED_ROWS
        assert json.loads((folder / "daily_seen.json").read_text()) == EXPECTED_DAILY


def pyarrow_example() -> str:
    """The pyarrow example of docs/cross-team.md, pointed at this org's bucket and a test server."""
    page = (TEMPLATE / "docs" / "cross-team.md").read_text()
    code = re.search(r"```python\n(import pyarrow.dataset.*?)```", page, re.DOTALL).group(1)
    return re.sub(r'"[^"/]+/[^"/]+/finance/', f'"{BUCKET}/{PREFIX}/finance/', code)


def test_pyarrow_alone_reads_the_documented_paths(published_on_s3, monkeypatch) -> None:
    """The docs' example runs here, in the test venv, which has pyarrow and no Dagster."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    code = pyarrow_example().replace(
        "fs.S3FileSystem(", f"fs.S3FileSystem(endpoint_override={published_on_s3!r}, "
    )
    found = {}
    exec(code, found)  # noqa: S102 -- the docs' own example, run as a reader would
    assert found["orders"].column("name").to_pylist() == ["alpha", None, "gamma"]
    assert sorted(found["daily"].column("partition").to_pylist()) == list(EXPECTED_DAILY)


class Planted:
    """Unpickling this creates a file: proof that a reader ran the writer's code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_planted_under_a_teams_prefix_is_never_run(teams, s3, in_prod, tmp_path) -> None:
    marker = tmp_path / "pickle-code-ran"
    key = f"{PREFIX}/finance/secret.pickle"
    s3_client(s3).put_object(Bucket=BUCKET, Key=key, Body=pickle.dumps(Planted(marker)))
    run = teams["b"].materialize("sales/secret_seen", in_prod, check=False)
    assert run.returncode != 0
    assert "This repo never unpickles another team's objects" in run.stdout + run.stderr
    assert not marker.exists()


def test_plain_pickle_between_the_same_venvs_fails(teams, tmp_path) -> None:
    """What the shared storage did before: team A's pickled frame does not load for team B."""
    pickled = tmp_path / "frame.pickle"
    teams["a"].python(
        "import pickle, pandas as pd; "
        f"open({str(pickled)!r}, 'wb').write(pickle.dumps(pd.DataFrame({{'name': ['alpha', None]}})))"
    )
    run = teams["b"].python(f"import pickle; pickle.loads(open({str(pickled)!r}, 'rb').read())", check=False)  # fmt: skip
    assert run.returncode != 0
    assert "No module named 'numpy._core'" in run.stderr or "StringDtype" in run.stderr

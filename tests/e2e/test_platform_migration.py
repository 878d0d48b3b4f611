"""A team on the last release before the platform package, through its normal weekly update.

The team's repository is generated from that release (LAST_RELEASE, in this repository's history,
with the org's settings), with its own asset and a dependency it added with `uv add`, and pushed
to a bare git remote.
While it is still on that release, it and a team generated from the current template read each
other's assets through a real S3 server (SeaweedFS). Then its own Template update workflow step
runs as GitHub would run it (a fake `gh`: GitHub's API cannot run here), and every `run:` step of
the pull request's CI passes on the branch it pushed.
"""

import json
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleet.org import org_settings
from testkit.repos import (
    bake_template,
    cli,
    commit_template_copy,
    git,
    on_a_runner,
    run_in_repo,
    run_steps,
    write_org,
)
from testkit.s3_servers import seaweedfs
from testkit.team_runs import PROD_BUCKET, in_dagster_plus, materialize, s3_value

#: The template's last commit before the platform package: what teams have until they update.
LAST_RELEASE = "2852005536e8c9d5c5d82358dcedf9d7d4c496b6"
PREFIX = org_settings()["storage_prefix"]
#: What the last release copied into every repository, and the package now brings.
COPIED = [
    *(f"src/finance/{name}.py" for name in ("storage_io_manager", "storage_formats",
      "storage_versions", "storage_history", "upstreams", "upstream_declarations")),
    *(f"tests/test_{name}.py" for name in ("storage", "upstreams", "alert_policies",
      "template_state")),
    *(f".github/scripts/template_{name}.py" for name in ("drift", "state", "update")),
    "deploy/iam-policy.json",  # the team's S3 policy, which the platform's stacks now hold
]  # fmt: skip
REVENUE = '''"""The team's own asset."""

import dagster as dg


@dg.asset(key_prefix="finance", group_name="finance")
def revenue() -> int:
    return 200
'''
TEAM_DEPENDENCY = "tomli-w"
TEAM_OWNED = ["src/finance/defs/revenue.py", "src/finance/defs/assets.py", "README.md"]


@dataclass
class Teams:
    remote: Path
    finance: Path  # on the last release, until its update
    sales: Path  # generated from the current template


def check_out_the_last_release(template: Path) -> None:
    """LAST_RELEASE with the org's settings: what the org's fork had released before the package."""
    found = subprocess.run(["git", "cat-file", "-e", LAST_RELEASE], cwd=template, check=False)
    assert found.returncode == 0, (
        f"This checkout lacks the commit {LAST_RELEASE[:12]}: clone with its history "
        "(actions/checkout: fetch-depth: 0)."
    )
    git("switch", "-q", "--create", "last-release", LAST_RELEASE, cwd=template)
    write_org(template, org_settings())
    git("commit", "-q", "--allow-empty", "-am", "The org's settings", cwd=template)


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Teams:
    root = tmp_path_factory.mktemp("migration")
    template = commit_template_copy(root / "dagster-team-template", history=True)
    check_out_the_last_release(template)
    made = cli(
        "cookiecutter", "--no-input", template, "team_name=Finance", "team_slug=finance",
        "upstream_assets=sales/orders", cwd=root,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    finance = root / "finance"
    git("init", "-q", "-b", "main", cwd=finance)
    run_in_repo(finance, "uv", "sync", "--quiet")
    git("add", "-A", cwd=finance)
    git("commit", "-q", "-m", "Start from dagster-team-template", cwd=finance)
    (finance / "src/finance/defs/revenue.py").write_text(REVENUE)
    run_in_repo(finance, "uv", "add", "--quiet", TEAM_DEPENDENCY)
    git("add", "-A", cwd=finance)
    git("commit", "-q", "-m", "Our asset and dependency", cwd=finance)
    remote = root / "finance.git"  # its GitHub repository
    git("clone", "-q", "--bare", finance, remote, cwd=root)

    git("switch", "-q", "-", cwd=template)  # the current release
    sales = bake_template(
        root / "current", team_name="Sales", team_slug="sales", upstream_assets="finance/orders"
    )
    run_in_repo(sales, "uv", "sync", "--quiet")
    return Teams(remote, finance, sales)


def test_a_team_on_the_last_release_and_one_on_the_package_load_each_others_assets(
    teams: Teams, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs"), [PROD_BUCKET]) as endpoint:
        prod = in_dagster_plus(endpoint)
        materialize(teams.finance, "finance/orders", prod)
        materialize(teams.sales, "sales/uses_finance__orders", prod)
        materialize(teams.sales, "sales/orders", prod)
        materialize(teams.finance, "finance/uses_sales__orders", prod)
        read_by_sales = s3_value(endpoint, f"{PREFIX}/sales/uses_finance__orders.json")
        read_by_finance = s3_value(endpoint, f"{PREFIX}/finance/uses_sales__orders.json")
    assert read_by_sales == {"source": "finance/orders", "rows": 2}
    assert read_by_finance == {"source": "sales/orders", "rows": 2}
    assert not (teams.finance / "vendor").exists()
    assert (teams.sales / "vendor/dagster-team-platform").is_dir()


def test_the_weekly_update_moves_the_repo_onto_the_platform_package(
    teams: Teams, tmp_path: Path
) -> None:
    assert [name for name in COPIED if not (teams.finance / name).is_file()] == []
    before = {name: (teams.finance / name).read_bytes() for name in TEAM_OWNED}
    runner = tmp_path / "runner"
    git("clone", "-q", teams.remote, runner, cwd=tmp_path)
    (step,) = run_steps(runner / ".github/workflows/template-update.yml")
    state = tmp_path / "gh.json"
    update = subprocess.run(
        ["bash", "-c", step], cwd=runner, env=on_a_runner(state, "ghs_app_installation_token"),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert update.returncode == 0, update.stderr
    (pull,) = json.loads(state.read_text())["pulls"]
    assert pull["head"] == "template-update"

    branch = tmp_path / "pull-request"
    git("clone", "-q", "--branch", "template-update", teams.remote, branch, cwd=tmp_path)
    assert [name for name in COPIED if (branch / name).exists()] == []
    assert not (branch / ".github/scripts").exists()
    assert {name: (branch / name).read_bytes() for name in TEAM_OWNED} == before
    pyproject = tomllib.loads((branch / "pyproject.toml").read_text())
    assert "dagster-team-platform" in pyproject["project"]["dependencies"]
    assert any(d.startswith(TEAM_DEPENDENCY) for d in pyproject["project"]["dependencies"])
    platform = tomllib.loads((branch / "vendor/dagster-team-platform/pyproject.toml").read_text())
    locked = tomllib.loads((branch / "uv.lock").read_text())["package"]
    assert {p["name"]: p["version"] for p in locked}["dagster-team-platform"] == (
        platform["project"]["version"]
    )

    for step in run_steps(branch / ".github/workflows/ci.yml"):
        ran = run_in_repo(branch, "bash", "-c", step, check=False)
        assert ran.returncode == 0, f"{step}\n{ran.stdout}\n{ran.stderr}"

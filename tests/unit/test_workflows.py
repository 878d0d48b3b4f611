"""Every combination's workflows pass zizmor, actionlint and the GitHub schemas, and deploy right."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_deploy_triggers import dispatch, plan, push

from fleet.org import org_settings, team_settings
from testkit.options import supported_combinations
from testkit.repos import TEMPLATE, bake_template, git

BIN = Path(sys.executable).parent
PINNED = re.compile(r"uses: [\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
REGISTRIES = [
    pytest.param({"deployment": "hybrid-k8s", "image_repository": repo}, id=f"hybrid-k8s:{kind}")
    for kind, repo in [
        ("ghcr", "ghcr.io/example-org/sales"),
        ("docker", "registry.example.com/example-org/sales"),
    ]
]

COMBINATIONS = supported_combinations() + REGISTRIES


def lint(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    # zizmor goes online when a GitHub token is set; these checks must stay offline.
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"  # actionlint runs shellcheck from here
    return subprocess.run(
        [BIN / command[0], *command[1:]],
        cwd=cwd,
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def every_repo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """All combinations, baked once: each schema check reads them all in one run."""
    return [
        bake_template(tmp_path_factory.mktemp("combination"), **param.values[0])
        for param in COMBINATIONS
    ]


@pytest.fixture(scope="module", params=COMBINATIONS)
def repo(request: pytest.FixtureRequest, every_repo: list[Path]) -> tuple[dict, Path]:
    repo = every_repo[request.param_index]
    git("init", "-q", cwd=repo)  # actionlint looks for the repository root
    return request.param, repo


def workflow_files(repo: Path) -> list[Path]:
    return sorted((repo / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_finds_nothing(repo, persona: str) -> None:
    _, path = repo
    result = lint("zizmor", "--offline", "--persona", persona, ".github", cwd=path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_actionlint_with_shellcheck_finds_nothing(repo) -> None:
    _, path = repo
    result = lint("actionlint", "-shellcheck", BIN / "shellcheck", cwd=path)
    assert (result.returncode, result.stdout) == (0, "")


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-workflows", ".github/workflows/*.yml"),
        ("custom.github-workflows-require-timeout", ".github/workflows/*.yml"),
        ("vendor.dependabot", ".github/dependabot.yml"),
    ],
)
def test_files_match_githubs_schemas(every_repo: list[Path], schema: str, files: str) -> None:
    """Every combination's files, and the template repository's own, in one run per schema."""
    ours = [TEMPLATE] if files.startswith(".github/workflows") else []
    paths = [path for repo in every_repo + ours for path in sorted(repo.glob(files))]
    assert len(paths) >= len(every_repo)
    result = lint("check-jsonschema", "--builtin-schema", schema, *paths, cwd=every_repo[0])
    assert result.returncode == 0, result.stdout


def test_every_action_is_pinned_to_a_commit_with_its_version(repo) -> None:
    _, path = repo
    uses = [
        line.strip()
        for file in workflow_files(path)
        for line in file.read_text().splitlines()
        if "uses:" in line and "uses: $/" not in line  # $/: this repository, this commit
    ]
    assert uses
    assert [line for line in uses if not PINNED.search(line)] == []


def test_workflows_are_locked_down(repo) -> None:
    _, path = repo
    for file in workflow_files(path):
        workflow = yaml.safe_load(file.read_text())
        assert workflow["permissions"] == {}, file.name
        for job in workflow["jobs"].values():
            if "uses" in job:  # a call of CI, whose own jobs are checked as ci.yml
                assert job["permissions"] == {"contents": "read"}
                continue
            assert job["timeout-minutes"] <= 30
            # The template update pushes with its own token: GITHUB_TOKEN cannot push workflows.
            assert job["permissions"]["contents"] == "read"
            checkouts = [
                step for step in job["steps"] if "actions/checkout@" in step.get("uses", "")
            ]
            assert all(step["with"]["persist-credentials"] is False for step in checkouts)
            assert all("${{" not in step.get("run", "") for step in job["steps"])


def test_events_deploy_to_the_right_deployments_with_the_answers(repo) -> None:
    answers, path = repo
    deploy = yaml.safe_load((path / ".github/workflows/deploy.yml").read_text())
    events, job = deploy[True], deploy["jobs"]["deploy"]  # YAML 1.1 reads the key `on` as True
    org = org_settings()
    own = "sales-analytics-" if answers.get("isolation") == "deployment" else ""
    others = list(team_settings(answers)["branch_deployments"])
    assert events["pull_request"]["types"] == ["opened", "synchronize", "reopened", "closed"]
    assert events["push"]["branches"] == ["main", *others]
    assert plan(deploy, push("main"))["deployment"] == own + org["prod_deployment"]
    for branch in others:
        assert plan(deploy, push(branch))["deployment"] == own + branch
    if others:  # a manual run deploys to the first by default
        assert plan(deploy, dispatch("main"))["deployment"] == own + others[0]
    else:
        assert "workflow_dispatch" not in events
    assert deploy["env"]["DAGSTER_CLOUD_ORGANIZATION"] == org["organization"]
    steps = {step["name"]: step for step in job["steps"]}
    assert steps["Start the deploy session"]["with"]["location_names"] == '["sales-analytics"]'
    if answers["deployment"] == "serverless":
        assert deploy["env"]["ENABLE_FAST_DEPLOYS"] == "${{ vars.ENABLE_FAST_DEPLOYS || 'true' }}"
        assert "ci build" in steps["Build"]["with"]["command"]
    else:
        registry = answers["image_repository"] or f"{org['registry']}/sales-analytics"
        assert (
            steps["Build and push the image"]["with"]["tags"] == registry + ":${{ env.IMAGE_TAG }}"
        )
        assert steps["Record the image for the deploy"]["with"]["command"] == (
            "ci set-build-output --location-name=sales-analytics --image-tag=${{ env.IMAGE_TAG }}"
        )
        logins = [name for name in steps if name.startswith("Log in to")]
        assert len(logins) == 1


def test_hybrid_dockerfile_passes_hadolint(repo) -> None:
    answers, path = repo
    if answers["deployment"] == "serverless":
        assert not (path / "Dockerfile").exists()
        return
    result = lint("hadolint", "Dockerfile", cwd=path)
    assert (result.returncode, result.stdout) == (0, "")


def test_the_template_repositorys_own_workflow_passes_the_same_linters() -> None:
    assert (
        lint("zizmor", "--offline", "--persona", "pedantic", ".github", cwd=TEMPLATE).returncode
        == 0
    )
    assert lint("actionlint", "-shellcheck", BIN / "shellcheck", cwd=TEMPLATE).stdout == ""


def test_the_template_repositorys_workflow_uses_the_same_pins_as_team_repos() -> None:
    pins = set(
        re.findall(
            r"[\w./-]+@[0-9a-f]{40} # v[\d.]+",
            (TEMPLATE / "templates" / "actions.jinja").read_text(),
        )
    )
    own = set(
        re.findall(
            r"[\w./-]+@[0-9a-f]{40} # v[\d.]+",
            "".join(path.read_text() for path in workflow_files(TEMPLATE)),
        )
    )
    assert own and own <= pins

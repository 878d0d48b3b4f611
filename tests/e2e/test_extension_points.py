"""Teams change what they legitimately need in team-owned places, and the drift check stays quiet."""

import subprocess
from pathlib import Path

import yaml

from testkit.repos import cli, commit_template_copy, git


def team_checks_step(repo: Path) -> str:
    ci = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())
    return next(s["run"] for s in ci["jobs"]["test"]["steps"] if s["name"] == "Team checks")


def test_each_extension_point_is_used_without_drift(tmp_path: Path) -> None:
    template = commit_template_copy(tmp_path / "template")
    (tmp_path / "team").mkdir()
    hybrid = '{"deployment": "hybrid-k8s"}'
    created = cli(
        "cruft", "create", "--no-input", "--extra-context", hybrid, template, cwd=tmp_path / "team"
    )
    assert created.returncode == 0, created.stderr
    repo = tmp_path / "team" / "sales-analytics"
    git("init", "-q", "-b", "main", cwd=repo)

    with (repo / "ci/team-checks.sh").open("a") as checks:
        checks.write('echo "team check ran"\n')
    with (repo / "deploy/image-setup.sh").open("a") as setup:
        setup.write("apt-get update && apt-get install -y --no-install-recommends libpq5\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "Use the extension points", cwd=repo)

    diff = cli("cruft", "diff", "--exit-code", cwd=repo)
    assert diff.returncode == 0, diff.stdout
    assert "diff --git" not in diff.stdout

    # CI runs the team's checks (`uv run --no-sync` only adds the project's venv; bash is enough).
    step = team_checks_step(repo).removeprefix("uv run --no-sync ")
    ran = subprocess.run(
        ["bash", "-c", step], cwd=repo, capture_output=True, text=True, check=False
    )
    assert (ran.returncode, ran.stdout) == (0, "team check ran\n")
    with (repo / "ci/team-checks.sh").open("a") as checks:
        checks.write("false\n")
    failed = subprocess.run(["bash", "-c", step], cwd=repo, capture_output=True, check=False)
    assert failed.returncode != 0

"""The next steps the generator prints, run verbatim, give a first push that CI passes and deploys.

The commands are read from cookiecutter's own output and run with bash as a person would paste
them; then a fresh clone of the commit runs every `run:` step of ci.yml's test job, in order.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.repos import TEMPLATE, cli, git, repo_env, run_steps

BIN = Path(sys.executable).parent
PERSON = {
    "GIT_AUTHOR_NAME": "A Data Engineer",
    "GIT_AUTHOR_EMAIL": "engineer@example.com",
    "GIT_COMMITTER_NAME": "A Data Engineer",
    "GIT_COMMITTER_EMAIL": "engineer@example.com",
}


def printed_commands(output: str) -> list[str]:
    """The indented command block of the generator's message."""
    return [line.strip() for line in output.splitlines() if line.startswith("    ")]


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess:
    env = repo_env() | PERSON | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    return result


UNPREFIXED = """import dagster as dg


@dg.asset
def revenue_by_order() -> int:
    return 1
"""
UNDECLARED = """import dagster as dg


@dg.asset(key_prefix="{0}", group_name="{0}", ins={{"orders": dg.AssetIn(key=["finance", "orders"])}})
def revenue_by_order(orders: object) -> int:
    return 1
"""
HYBRID = [
    "deployment=hybrid-k8s",
    "isolation=agent_queue",
    "upstream_assets=finance/revenue, marketing/campaign-spend",
]


@pytest.mark.parametrize(
    "answers", [[], HYBRID], ids=["serverless", "hybrid-k8s:agent_queue:upstream"]
)
def test_the_printed_next_steps_give_a_main_branch_that_ci_passes(
    answers: list[str], tmp_path: Path
) -> None:
    generated = cli("cookiecutter", "--no-input", "-o", tmp_path, TEMPLATE, *answers, cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    commands = printed_commands(generated.stdout)
    assert commands[0].startswith("cd ") and "git init -b main" in commands
    shell("\n".join(commands), cwd=tmp_path)

    repo = tmp_path / commands[0].removeprefix("cd ")
    assert git("branch", "--show-current", cwd=repo).strip() == "main"
    assert "uv.lock" in git("ls-files", cwd=repo).split()
    assert git("status", "--porcelain", cwd=repo) == ""

    clone = tmp_path / "ci-checkout"
    git("clone", "-q", repo, clone, cwd=tmp_path)
    steps = run_steps(clone / ".github/workflows/ci.yml", "test")
    assert "uv sync --locked" in steps
    for step in steps:
        shell(step, cwd=clone)
    if not answers:  # the second week: an asset written without the prefix names the fix
        package = next((clone / "src").iterdir()).name
        (clone / "src" / package / "defs" / "revenue.py").write_text(UNPREFIXED)
        tests = subprocess.run(
            ["uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/test_definitions.py::test_every_asset_key_carries_the_team_prefix"],
            cwd=clone, env=repo_env() | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert tests.returncode == 1
        assert (
            f"revenue_by_order outside this team's prefix '{package}': other teams could define "
            f'the same key. Define each with key_prefix="{package}" and group_name="{package}", '
            "as defs/assets.py does."
        ) in " ".join(tests.stdout.split())
        # ...and a read of another team's asset it has not declared names the lines to add.
        (clone / "src" / package / "defs" / "revenue.py").write_text(UNDECLARED.format(package))
        loaded = subprocess.run(
            ["uv", "run", "--no-sync", "dg", "check", "defs"],
            cwd=clone, env=repo_env() | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert loaded.returncode != 0
        assert (
            f"  {package}/revenue_by_order reads finance/orders\n"
            "Declare each under `upstreams:` in defs/upstreams.yaml"
        ) in loaded.stdout + loaded.stderr
        assert "  - key: finance/orders\n    owner: finance" in loaded.stdout + loaded.stderr

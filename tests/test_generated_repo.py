"""A generated repo passes its own gates in a fresh venv: pytest, definitions validate, pre-commit."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from uv import find_uv_bin

pytestmark = pytest.mark.generated

REPRESENTATIVE = [
    pytest.param({}, id="serverless:code_location:defaults"),
    pytest.param(
        {
            "deployment": "hybrid-k8s",
            "isolation": "agent_queue",
            "upstream_assets": "finance/revenue, marketing/campaign-spend",
        },
        id="hybrid-k8s:agent_queue:upstream",
    ),
]


def run(repo: Path, *command: str) -> str:
    """Run a command in the generated repo as its developer would; fail with its output."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    # The repo's .python-version may name a Python this machine lacks: use the running version.
    env["UV_PYTHON"] = "{}.{}".format(*sys.version_info)
    if command[0] == "uv":
        command = (find_uv_bin(), *command[1:])
    result = subprocess.run(command, check=False, cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.mark.parametrize("answers", REPRESENTATIVE)
def test_generated_repo_passes_its_own_gates(bake, answers: dict) -> None:
    repo = bake(**answers)
    run(repo, "git", "init", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "uv", "sync", "--quiet", "--compile-bytecode")
    assert " passed" in run(repo, "uv", "run", "--no-sync", "pytest", "-q")
    assert "All code locations passed validation" in run(
        repo, "uv", "run", "--no-sync", "dagster", "definitions", "validate"
    )
    run(repo, "uv", "run", "--no-sync", "pre-commit", "run", "--all-files")

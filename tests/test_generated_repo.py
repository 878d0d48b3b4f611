"""A generated repo passes its own gates in a fresh venv: pytest, definitions validate, pre-commit."""

import pytest
from conftest import run_in_repo

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


@pytest.mark.parametrize("answers", REPRESENTATIVE)
def test_generated_repo_passes_its_own_gates(bake, answers: dict) -> None:
    repo = bake(**answers)
    run_in_repo(repo, "git", "init", "-q")
    run_in_repo(repo, "git", "add", "-A")
    run_in_repo(repo, "uv", "sync", "--quiet", "--compile-bytecode")
    assert " passed" in run_in_repo(repo, "uv", "run", "--no-sync", "pytest", "-q").stdout
    validate = run_in_repo(repo, "uv", "run", "--no-sync", "dagster", "definitions", "validate")
    assert "All code locations passed validation" in validate.stderr + validate.stdout
    run_in_repo(repo, "uv", "run", "--no-sync", "pre-commit", "run", "--all-files")

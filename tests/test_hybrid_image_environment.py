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
    """The steps of the generated CI workflow, in its order, after the team's first `uv lock`."""
    repo = bake(**answers)
    run_in_repo(repo, "git", "init", "-q")
    run_in_repo(repo, "uv", "lock", "--quiet")
    run_in_repo(repo, "git", "add", "-A")
    run_in_repo(repo, "uv", "sync", "--locked", "--quiet")
    assert " passed" in run_in_repo(repo, "uv", "run", "--no-sync", "pytest", "-q").stdout
    validate = run_in_repo(repo, "uv", "run", "--no-sync", "dagster", "definitions", "validate")
    assert "All code locations passed validation" in validate.stderr + validate.stdout
    run_in_repo(repo, "uv", "run", "--no-sync", "pre-commit", "run", "--all-files")
    check = (
        "dagster-cloud",
        "ci",
        "check",
        "--project-dir",
        ".",
        "--dagster-cloud-connect-check",
        "skip",
    )
    run_in_repo(repo, "uv", "run", "--no-sync", *check)


def test_the_hybrid_image_environment_builds_and_loads(bake, tmp_path_factory) -> None:
    """The Dockerfile's two `uv sync` steps, run here without Docker: locked, no dev, no editable."""
    repo = bake(deployment="hybrid-k8s")
    run_in_repo(repo, "uv", "lock", "--quiet")
    venv = tmp_path_factory.mktemp("image") / "venv"
    image = {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_COMPILE_BYTECODE": "1"}
    run_in_repo(repo, "uv", "sync", "--locked", "--no-dev", "--no-install-project", env=image)
    run_in_repo(repo, "uv", "sync", "--locked", "--no-dev", "--no-editable", env=image)
    assert not (venv / "bin" / "pytest").exists()
    elsewhere = venv.parent  # the image runs from /app, with only the venv: no src/ on the path
    loaded = run_in_repo(
        elsewhere,
        str(venv / "bin" / "dagster"),
        "definitions",
        "validate",
        "-m",
        "sales_analytics.definitions",
    )
    assert "Validation successful" in loaded.stdout + loaded.stderr

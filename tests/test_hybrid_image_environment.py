"""The Hybrid image's environment, built as its Dockerfile builds it, loads the definitions.

The repo's own gates (ci.yml's steps) run in test_first_push.py.
"""

import pytest
from conftest import run_in_repo

pytestmark = pytest.mark.generated


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

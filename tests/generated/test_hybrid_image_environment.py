"""The Hybrid image's environment, built as its Dockerfile builds it, loads the definitions.

The repo's own gates (ci.yml's steps) run in test_first_push.py; the image itself is built with
buildah in test_hybrid_image_build.py (`nox -s image`).
"""

import shlex
import shutil
from pathlib import Path

from testkit.repos import run_in_repo


def build_stage(repo: Path, app: Path, env: dict[str, str]) -> None:
    """The Dockerfile's build stage without Docker: each COPY into `app`, each `uv sync` there.

    So a file the sync needs but no COPY before it brings fails here, as the build would.
    """
    stage = (repo / "Dockerfile").read_text().split("\nFROM ")[1]  # the first: AS build
    app.mkdir()
    for line in stage.splitlines():
        words = shlex.split(line)
        if words[:1] == ["COPY"]:
            *sources, target = words[1:]
            for source in map(repo.joinpath, sources):
                into = app / target / source.name if target.endswith("/") else app / target
                copy = shutil.copytree if source.is_dir() else shutil.copy2
                copy(source, into)
        elif words[:1] == ["RUN"] and "uv" in words and "sync" in words:
            run_in_repo(app, "uv", *words[words.index("uv") + 1 :], env=env)


def test_the_hybrid_image_environment_builds_and_loads(bake, tmp_path_factory) -> None:
    """Locked, no dev tools, no editable installs: the platform package and the team's code."""
    repo = bake(deployment="hybrid-k8s")
    run_in_repo(repo, "uv", "lock", "--quiet")
    root = tmp_path_factory.mktemp("image")
    venv = root / "venv"
    build_stage(
        repo, root / "app", {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_COMPILE_BYTECODE": "1"}
    )
    assert not (venv / "bin" / "pytest").exists()
    # The image runs from /app with only the venv: no src/ or vendor/ on the path.
    shutil.rmtree(root / "app")
    loaded = run_in_repo(
        root,
        str(venv / "bin" / "dagster"),
        "definitions",
        "validate",
        "-m",
        "sales_analytics.definitions",
    )
    assert "Validation successful" in loaded.stdout + loaded.stderr

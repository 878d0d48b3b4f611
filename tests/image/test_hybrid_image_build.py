"""The Hybrid image, built with buildah from the Dockerfile a team gets, loads the definitions.

test_hybrid_image_environment.py runs the Dockerfile's `uv sync` steps without a container;
this builds the image itself, so COPY, .dockerignore, the non-root user and the stages count.
It needs root, buildah, debootstrap and Debian's and PyPI's mirrors, and takes minutes: it runs
only in `nox -s image`. Registries of base images may be out of reach, so the Dockerfile's two
FROM images are stand-ins under their exact names, built from a Debian bookworm root file
system: the Dockerfile itself is built unmodified.
"""

import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from uv import find_uv_bin

from testkit.repos import run_in_repo

pytestmark = pytest.mark.skipif(
    not (shutil.which("buildah") and shutil.which("debootstrap")),
    reason="needs buildah and debootstrap on PATH (apt-get install buildah debootstrap)",
)

PYTHON = "3.11"  # Debian bookworm's python3: the stand-ins use it instead of their own build
MIRROR = "http://deb.debian.org/debian"
Buildah = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def buildah(tmp_path: Path) -> Iterator[Buildah]:
    """buildah with its own store in the test's folder, removed at the end: none in the system's.

    Builds run niced, to leave a busy machine usable.
    """
    store = tmp_path / "buildah"
    (store / "tmp").mkdir(parents=True)
    options = ["--root", store / "root", "--runroot", store / "run", "--storage-driver", "overlay"]
    # RUN --mount=type=cache keeps its files under $TMPDIR (/var/tmp if unset).
    env = os.environ | {"TMPDIR": str(store / "tmp")}

    def run(*args: str | Path, cwd: Path | None = None, check: bool = True):
        command = ["nice", "-n", "10", "buildah", *options, *args]
        result = subprocess.run(
            list(map(str, command)), cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0 or not check, (
            f"buildah {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
        )
        return result

    yield run
    run("rm", "--all", check=False)  # unmounts the containers' file systems
    shutil.rmtree(store)


def make_base_images(buildah: Buildah, uv_image: str, python_image: str) -> None:
    """The two FROM images, from one debootstrapped root file system, laid out like the real ones.

    The Python image has python3 at /usr/local/bin; the uv image is that plus uv at
    /usr/local/bin/uv (the test venv's, the Dockerfile's version).
    """
    container = buildah("from", "scratch").stdout.strip()
    root = Path(buildah("mount", container).stdout.strip())
    bootstrap = subprocess.run(
        ["nice", "-n", "10", "debootstrap", "--variant=minbase", "--include=python3"]
        + ["bookworm", str(root), MIRROR],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bootstrap.returncode == 0, f"debootstrap failed:\n{bootstrap.stdout}\n{bootstrap.stderr}"
    links = {f"python{PYTHON}": f"/usr/bin/python{PYTHON}", "python3": f"python{PYTHON}"}
    for name, target in (links | {"python": "python3"}).items():
        (root / "usr/local/bin" / name).symlink_to(target)
    path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    buildah("config", "--env", path, "--env", "LANG=C.UTF-8", "--cmd", "python3", container)
    buildah("commit", "--rm", container, python_image)

    container = buildah("from", "--pull=never", python_image).stdout.strip()
    buildah("copy", "--chmod", "0755", container, find_uv_bin(), "/usr/local/bin/uv")
    # This machine's trust, for uv behind a TLS-inspecting proxy; uv ignores the system store.
    if os.environ.get("SSL_CERT_FILE"):
        buildah("copy", container, os.environ["SSL_CERT_FILE"], "/usr/local/share/host-ca.pem")
        buildah("config", "--env", "SSL_CERT_FILE=/usr/local/share/host-ca.pem", container)
    buildah("commit", "--rm", container, uv_image)


def test_the_hybrid_image_builds_and_loads_the_definitions_as_its_user(bake, buildah) -> None:
    """Built as the deploy builds it, the image runs as uid 10001 with the locked Dagster.

    `buildah run` takes the image's USER and WORKDIR, as the agent's container does.
    """
    repo = bake(deployment="hybrid-k8s", python_version=PYTHON)
    run_in_repo(repo, "uv", "lock", "--quiet")
    python = (repo / ".python-version").read_text().strip()
    froms = re.findall(r"^FROM (\S+)", (repo / "Dockerfile").read_text(), flags=re.MULTILINE)
    uv_image, python_image = (name.replace("${PYTHON_VERSION}", python) for name in froms)
    uv_version = run_in_repo(repo, "uv", "--version").stdout.split()[1]
    assert f":{uv_version}-" in uv_image, "the test venv's uv must be the Dockerfile's uv image's"
    make_base_images(buildah, uv_image, python_image)

    build = ("bud", "--isolation", "chroot", "--pull=never", "--build-arg")
    buildah(*build, f"PYTHON_VERSION={python}", "-t", "team-image", ".", cwd=repo)
    container = buildah("from", "--pull=never", "team-image").stdout.strip()

    def run(*command: str) -> str:
        result = buildah("run", "--isolation", "chroot", container, "--", *command)
        return result.stdout + result.stderr

    assert run("id", "-u").strip() == "10001"
    validated = run("dagster", "definitions", "validate", "-m", "sales_analytics.definitions")
    assert "Validation successful" in validated
    assert "pytest" not in run("ls", "/app/.venv/bin").split()  # no dev group
    lock = tomllib.loads((repo / "uv.lock").read_text())
    locked = {package["name"]: package["version"] for package in lock["package"]}
    assert run("dagster", "--version").split()[-1] == locked["dagster"]

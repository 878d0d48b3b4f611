"""The Serverless deploy ships exactly uv.lock's versions, and Dagster+ can serve what it builds.

Built here the way the deploy workflow builds it: the workflow's own `uv export` step, then
dagster-cloud-cli's PEX builder (`serverless build-python-executable` runs the same
`build_locations` as `ci build --build-strategy=python-executable`, minus the upload), with pex
pinned like the registry here needs. Served the way Dagster+'s PEX server (dagster_cloud.pex)
does: each PEX unpacked into a venv with `pex-tools ... venv`, then `dagster api grpc` run from
the source venv with both venvs' site-packages on PYTHONPATH. Only the upload, Dagster+'s deps
cache and its agent cannot run here.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from uv import find_uv_bin

from testkit.repos import bake_template, run_in_repo

BIN = Path(sys.executable).parent
PEX_VERSION = "2.103.5"  # the test dependencies' pin: newer pex wants a pip the registry lacks
SERVE_TIMEOUT = 600  # a loaded machine needs minutes to import dagster from the venvs


def workflow_step(repo: Path, name: str) -> dict:
    deploy = yaml.safe_load((repo / ".github/workflows/deploy.yml").read_text())
    return next(step for step in deploy["jobs"]["deploy"]["steps"] if step["name"] == name)


def python_for(version: str, folder: Path) -> tuple[dict[str, str], Path]:
    """PATH with `python<version>` on it, as setup-python leaves it: the builder calls it by name.

    pyenv's shims fail for versions that are installed but not selected, so look behind them too.
    """
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}"), *pyenv.glob(f"{version}.*/bin/python{version}")]
    works = [
        path
        for path in candidates
        if path
        and subprocess.run([path, "-c", ""], check=False, capture_output=True).returncode == 0
    ]
    if not works:
        pytest.fail(f"Python {version} is not installed. Install it to build the executable")
    folder.mkdir(exist_ok=True)
    (folder / f"python{version}").symlink_to(works[0])
    return {
        "PATH": os.pathsep.join([str(folder), str(BIN), os.environ["PATH"]])
    }, folder / f"python{version}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The Serverless default, locked, exported by the workflow's step, built into two PEX files."""
    root = tmp_path_factory.mktemp("serverless")
    repo = bake_template(root)
    version = (repo / ".python-version").read_text().strip()
    path, python = python_for(version, root / "python")
    run_in_repo(repo, "uv", "lock", "--quiet")
    export = workflow_step(repo, "Pin the build to uv.lock")["run"]
    run_in_repo(repo, "bash", "-c", export, env=path)
    build = workflow_step(repo, "Build")["with"]["command"]
    assert "'pex-deploy' && 'python-executable'" in build
    assert "--pex-deps-cache-from=" in build and "--pex-deps-cache-to=" in build
    out = root / "build"
    started = time.monotonic()
    run_in_repo(
        repo,
        str(BIN / "dagster-cloud"),
        "serverless",
        "build-python-executable",
        ".",
        str(out),
        f"--python-version={version}",
        "--build-method=local",
        # Required options, unused: nothing is uploaded.
        "--api-token=unused",
        "--organization=unused",
        "--deployment=unused",
        env=path,
    )
    seconds = time.monotonic() - started
    (deps,) = out.glob("deps-*.pex")
    (source,) = out.glob("source-*.pex")
    sizes = ", ".join(f"{pex.name} {pex.stat().st_size / 1e6:.1f} MB" for pex in (deps, source))
    print(f"Built in {seconds:.0f} s: {sizes}")
    return {
        "repo": repo,
        "deps": deps,
        "source": source,
        "path": path,
        "version": version,
        "python": python,
    }


def unpack(pex: Path, venv: Path, path: dict[str, str], python: Path) -> Path:
    """What dagster_cloud.pex's registry does with each PEX file; returns site-packages.

    pex-tools makes the venv with the Python it runs on: the target's, as on Dagster+.
    """
    subprocess.run(
        [
            find_uv_bin(),
            "tool",
            "run",
            "--python",
            python,
            "--from",
            f"pex=={PEX_VERSION}",
            "pex-tools",
            pex,
            "venv",
            "--collisions-ok",
            "--non-hermetic-scripts",
            venv,
            "--pip",
        ],
        check=True,
        capture_output=True,
        env=os.environ | path,
    )
    site = subprocess.run(
        [venv / "bin/python3", "-c", "import site; print(site.getsitepackages()[0])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(site.stdout.strip())


def locked_versions(repo: Path, python: str) -> dict[str, str]:
    """Every package uv.lock pins for the deployed code on Linux: what the deps executable must
    ship. Local packages (`./vendor/...`) go into the source executable, with the team's code."""
    lock = tomllib.loads((repo / "uv.lock").read_text())
    pins = {package["name"]: package["version"] for package in lock["package"]}
    exported = (repo / "requirements.txt").read_text().splitlines()
    requirements = [Requirement(line) for line in exported if line and line[0] not in "# ."]
    target = {"python_version": python, "python_full_version": f"{python}.0"}
    names = [r.name for r in requirements if not r.marker or r.marker.evaluate(target)]
    return {canonicalize_name(name): pins[canonicalize_name(name)] for name in names}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_executable_holds_exactly_the_locked_versions(built, tmp_path: Path) -> None:
    unpack(built["deps"], tmp_path / "deps", built["path"], built["python"])
    listed = subprocess.run(
        [
            tmp_path / "deps/bin/python3",
            "-c",
            "import importlib.metadata as m, json;"
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    installed = {canonicalize_name(k): v for k, v in json.loads(listed.stdout).items()}
    locked = locked_versions(built["repo"], built["version"])
    assert len(locked) > 50, "the export lists the whole locked tree, not the direct pins"
    assert {name: installed.get(name) for name in locked} == locked
    assert set(installed) - set(locked) - {"pip"} == set(), "only pex-tools' pip is extra"


def test_dagster_plus_can_serve_it(built, tmp_path: Path) -> None:
    """Health check, list_repositories and loading the definitions, from the served venvs."""
    source_site = unpack(built["source"], tmp_path / "source", built["path"], built["python"])
    deps_site = unpack(built["deps"], tmp_path / "deps", built["path"], built["python"])
    working_dir = source_site / "working_directory" / "root"
    assert (working_dir / "dagster_cloud.yaml").is_file()
    location = yaml.safe_load((working_dir / "dagster_cloud.yaml").read_text())["locations"][0]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {
        "PATH": os.pathsep.join(
            [str(tmp_path / "source/bin"), str(tmp_path / "deps/bin"), os.environ["PATH"]]
        ),
        "PYTHONPATH": os.pathsep.join([str(source_site), str(deps_site)]),
        # What the agent sets (dagster_cloud's get_grpc_server_env), bound to loopback here.
        "DAGSTER_LOCATION_NAME": location["location_name"],
        "DAGSTER_CLI_API_GRPC_LAZY_LOAD_USER_CODE": "1",
        "DAGSTER_CLI_API_GRPC_HOST": "127.0.0.1",
        "DAGSTER_CLI_API_GRPC_PORT": str(port),
        "DAGSTER_CLI_API_GRPC_MODULE_NAME": location["code_source"]["module_name"],
        "DAGSTER_CLI_API_GRPC_WORKING_DIRECTORY": ".",
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    entrypoint = tmp_path / "source" / "pex"
    server = subprocess.Popen(
        [entrypoint, "-m", "dagster", "api", "grpc"],
        cwd=working_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    probe = f"""
import time
from dagster._grpc.client import DagsterGrpcClient
from dagster._serdes import deserialize_value
client = DagsterGrpcClient(port={port}, host="127.0.0.1")
deadline = time.monotonic() + {SERVE_TIMEOUT}
while (health := client.health_check_query()) != "SERVING" and time.monotonic() < deadline:
    time.sleep(1)
listed = deserialize_value(client.list_repositories())
print(health, type(listed).__name__, *[s.repository_name for s in listed.repository_symbols])
"""
    try:
        result = subprocess.run(
            [entrypoint, "-c", probe],
            check=False,
            cwd=working_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=SERVE_TIMEOUT + 60,
        )
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert result.returncode == 0, result.stderr + output
    # The client prints each refused connection while the server starts: the answer is last.
    answer = result.stdout.splitlines()[-1].split()
    assert answer == ["SERVING", "ListRepositoriesResponse", "__repository__"], (
        result.stdout + output
    )
    module = location["code_source"]["module_name"]
    validate = subprocess.run(
        [entrypoint, "-m", "dagster", "definitions", "validate", "-m", module],
        check=False,
        cwd=working_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr

"""Print timings of the template next to create-dagster, measured side by side in one run.

Run with `nox -s bench`; the shared storage's figures come from bench_storage.py. Figures are
medians of several runs; ratios are against the baseline
measured in the same run, on the same machine, with the same bytecode state.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bench_storage
from uv import find_uv_bin

from testkit.repos import TOOLS_PATH, commit_template_copy, fake_gh, git, repo_env

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
UV = find_uv_bin()
ENV = repo_env() | {"DAGSTER_DG_UPDATE_CHECK_ENABLED": "0"}


def run(*command: str | Path, cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)


def median_seconds(action: Callable[[Path], None], repeats: int) -> float:
    """Median wall time of `action` run in a fresh temporary directory each time."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            action(Path(folder))
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bake(folder: Path) -> Path:
    run(BIN / "cookiecutter", "--no-input", "-o", folder, TEMPLATE, cwd=folder)
    return folder / "sales-analytics"


def create_dagster(folder: Path) -> Path:
    run(BIN / "create-dagster", "project", "bare-project", "--no-uv-sync", cwd=folder)
    return folder / "bare-project"


def bake_to_green(folder: Path) -> None:
    repo = bake(folder)
    run(UV, "sync", "--quiet", cwd=repo)
    run(UV, "run", "--no-sync", "pytest", "-q", cwd=repo)


def team_repo_behind_a_pin_bump(root: Path) -> Path:
    """A cruft team repo with a lock, pushed to a bare remote; the template then bumps Dagster."""
    template = commit_template_copy(root / "template")
    run(BIN / "cruft", "create", "--no-input", template, cwd=root)
    team = root / "sales-analytics"
    run(UV, "lock", "--quiet", cwd=team)
    git("init", "-q", "-b", "main", cwd=team)
    git("add", "-A", cwd=team)
    git("commit", "-q", "-m", "Start", cwd=team)
    remote = root / "remote.git"
    git("clone", "-q", "--bare", team, remote, cwd=root)
    pyproject = next(template.glob("{{*/pyproject.toml"))
    pyproject.write_text(
        pyproject.read_text().replace("==1.13.27", "==1.13.26").replace("==0.29.27", "==0.29.26")
    )
    git("commit", "-q", "-am", "Dagster 1.13.26", cwd=template)
    return remote


def update_seconds(remote: Path, repeats: int) -> float:
    """Median wall time of the update script (cruft update, uv lock, commit, push, fake gh)."""
    gh = fake_gh(remote.parent / "bin")
    times = []
    for attempt in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            shutil.copytree(remote, work / "remote.git")
            git("clone", "-q", work / "remote.git", work / "runner", cwd=work)
            env = ENV | {
                "PATH": f"{gh}:{BIN}:{os.environ['PATH']}",
                "GITHUB_ACTIONS": "true",
                "GH_TOKEN": "bench-token",
                "FAKE_GH_STATE": str(work / "gh.json"),
            }
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "template_tools.update"],
                           cwd=work / "runner", env=env | TOOLS_PATH, check=True,
                           capture_output=True)  # fmt: skip
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name: str, value: float, baseline_name: str, baseline: float) -> None:
    ratio = value / baseline
    print(f"{name:<44} {value:7.2f} s   {baseline_name:<30} {baseline:7.2f} s   x{ratio:.2f}")


def main(repeats: int = 5) -> None:
    bake_time = median_seconds(bake, repeats)
    create_time = median_seconds(create_dagster, repeats)
    report(
        "bake (cookiecutter CLI, defaults)", bake_time, "create-dagster --no-uv-sync", create_time
    )

    green = median_seconds(bake_to_green, 3)
    report("bake -> uv sync -> green pytest (warm cache)", green, "bake alone", bake_time)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "a").mkdir()
        (root / "b").mkdir()
        ours, bare = bake(root / "a"), create_dagster(root / "b")
        venv = root / "venv"
        run(UV, "venv", "--quiet", venv, cwd=root)
        python = venv / "bin" / "python"
        run(UV, "pip", "install", "--quiet", "--python", python, "--compile-bytecode",
            "-e", ours, "-e", bare, cwd=root)  # fmt: skip
        dagster = venv / "bin" / "dagster"

        def validate(project: Path) -> Callable[[Path], None]:
            return lambda _: run(dagster, "definitions", "validate", cwd=project)

        validate(ours)(root)  # warm the file cache and write any lazy bytecode for both
        validate(bare)(root)
        ours_time = median_seconds(validate(ours), repeats)
        bare_time = median_seconds(validate(bare), repeats)
    report(
        "dagster definitions validate (generated)",
        ours_time,
        "bare create-dagster project",
        bare_time,
    )

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "a").mkdir()
        (root / "b").mkdir()
        ours, bare = bake(root / "a"), create_dagster(root / "b")
        for project in (ours, bare):
            run(UV, "sync", "--quiet", cwd=project)

        def in_project(project: Path, *command: str) -> Callable[[Path], None]:
            return lambda _: run(UV, "run", "--no-sync", *command, cwd=project)

        tests = in_project(ours, "pytest", "-q", "-p", "no:cacheprovider")
        check = in_project(bare, "dg", "check", "defs")
        tests(root)  # warm, as above
        check(root)
        tests_time, check_time = median_seconds(tests, repeats), median_seconds(check, repeats)
    report("uv run pytest (generated)", tests_time, "create-dagster: dg check defs", check_time)

    with tempfile.TemporaryDirectory() as folder:
        remote = team_repo_behind_a_pin_bump(Path(folder))
        update_time = update_seconds(remote, 3)
    report("template update (script, lock refresh)", update_time, "bake alone", bake_time)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the storage table")
    parser.add_argument("--only", choices=["template", "storage"])
    parser.add_argument("--baseline", help="also time the storage of the template at this git ref")
    arguments = parser.parse_args()
    if arguments.only != "storage":
        main(arguments.repeats)
    if arguments.only != "template":
        bench_storage.main(arguments.rows, arguments.baseline)

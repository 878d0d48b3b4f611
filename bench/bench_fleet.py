"""Time the fleet audit over 100 team repositories with their asset keys known, and over 5 new.

Run with `nox -s bench` (after the other figures) or `python bench/bench_fleet.py` in the test
venv. One repository is made with cruft and locked; the other 99 are its copies with another slug
(what cruft and uv would write for that slug, without a render each), each reading the previous
team's asset. They, and the asset keys the audit loaded from them, are kept in
~/.cache/dagster-fleet-bench between runs: the first run loads all 100 (minutes).
"""

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testkit.repos import commit_template_copy, git, run_in_repo

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SIZE, LOADED = 100, 5


def renamed(source: Path, target: Path, number: int) -> None:
    """A copy of team-000's repository as team-<number>'s."""
    names = {"team-000": f"team-{number:03}", "team_000": f"team_{number:03}",
             "Team 000": f"Team {number:03}"}  # fmt: skip
    for path in sorted(source.rglob("*")):
        if ".git" in path.parts or not path.is_file():
            continue
        relative = path.relative_to(source).as_posix()
        text = path.read_text()
        for old, new in names.items():
            relative, text = relative.replace(old, new), text.replace(old, new)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    if number:
        upstream = f"team_{number - 1:03}/orders"
        (target / f"src/team_{number:03}/defs/upstreams.yaml").write_text(
            f"version: 1\nupstreams:\n  - key: {upstream}\n    owner: team-{number - 1:03}\n"
        )


def fleet(root: Path) -> tuple[Path, list[Path]]:
    """The template checkout and the team repositories, made once per template version."""
    tree = git("rev-parse", "HEAD^{tree}", cwd=TEMPLATE).strip() or "worktree"
    digest = hashlib.sha256((tree + (TEMPLATE / "fleet/facts.py").read_text()).encode())
    root = root / digest.hexdigest()[:12]
    repos = [root / "repos" / f"team-{n:03}" for n in range(SIZE)]
    if not (root / "done").is_file():
        shutil.rmtree(root, ignore_errors=True)
        (root / "repos").mkdir(parents=True)
        template = commit_template_copy(root / "template")
        made = subprocess.run(
            [BIN / "cruft", "create", "--no-input", "--extra-context",
             '{"team_name": "Team 000"}', template],
            cwd=root / "repos", capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        run_in_repo(repos[0], "uv", "lock", "--quiet")
        for number, repo in enumerate(repos[1:], start=1):
            renamed(repos[0], repo, number)
        (root / "done").touch()
    return root / "template", repos


def audit_seconds(template: Path, repos: list[Path], *options: str) -> tuple[float, float]:
    """Wall and CPU seconds of one audit (CPU too: this machine is shared, wall time varies)."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "fleet", "audit", "--template", template, *options, *repos],
        cwd=TEMPLATE, capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return elapsed, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime


def report(name: str, seconds: tuple[float, float]) -> None:
    print(f"{name:<52} {seconds[0]:7.2f} s wall {seconds[1]:7.2f} s CPU")


def main() -> None:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dagster-fleet-bench"
    template, repos = fleet(cache)
    audit = ("--cache", cache / "audit")
    audit_seconds(template, repos, "--no-drift", *audit)  # loads any repo not loaded before
    report(
        "fleet audit, 100 repos, asset keys known (--no-drift)",
        audit_seconds(template, repos, "--no-drift", *audit),
    )
    report("fleet audit, 5 repos, with drift", audit_seconds(template, repos[:LOADED], *audit))
    with tempfile.TemporaryDirectory() as empty:
        report(
            "fleet audit, 5 new repos: loads their definitions",
            audit_seconds(template, repos[:LOADED], "--no-drift", "--cache", empty),
        )


if __name__ == "__main__":
    main()

"""Each repository's asset keys, asked of its own code in its own locked environment.

Teams add, rename and remove assets by editing code alone, so no file lists them: the audit
loads the definitions the way a deploy does (`uv run --locked`). Loading takes seconds per
repository, so answers are kept by the content of what decides them: the lock, the project
file and the package's source.
"""

import hashlib
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROBE = Path(__file__).with_name("asset_probe.py")
DECIDING = ("uv.lock", "pyproject.toml", ".python-version")


class AssetsUnknown(Exception):
    """The keys cannot be learned; the message says why and what to do."""


def fingerprint(repo: Path) -> str:
    """A digest of every file that decides the keys (not caches, not the venv)."""
    digest = hashlib.sha256()
    files = [repo / name for name in DECIDING]
    files += sorted(p for p in (repo / "src").rglob("*") if "__pycache__" not in p.parts)
    for path in (file for file in files if file.is_file()):
        digest.update(f"{path.relative_to(repo).as_posix()}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:24]


def asset_keys(name: str, repo: Path, package: str, cache: Path) -> dict[str, int | None]:
    """The repository's asset keys with their fail windows; AssetsUnknown when they cannot be loaded."""
    answer = cache / "assets" / f"{fingerprint(repo)}.json"
    if answer.is_file():
        return json.loads(answer.read_text())
    if not (repo / "uv.lock").is_file():
        raise AssetsUnknown(
            "has no uv.lock, so its definitions cannot be loaded as CI and the deploy load them. "
            "Run `uv lock` in it and commit uv.lock."
        )
    environment = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    environment["UV_PROJECT_ENVIRONMENT"] = str(cache / "venvs" / re.sub(r"[^\w.-]", "_", name))
    command = ["uv", "run", "--locked", "--no-dev", "--quiet", "--project", str(repo),
               "python", str(PROBE), package]  # fmt: skip
    try:
        result = subprocess.run(
            command, cwd=repo, env=environment, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise AssetsUnknown(
            "cannot be loaded: uv is not on PATH, and the audit loads each repository's "
            "definitions with it to learn their asset keys. Install uv "
            "(https://docs.astral.sh/uv/getting-started/installation/) and run the audit again."
        )
    if result.returncode != 0:
        reason = " ".join(result.stderr.strip().splitlines()[-1:]) or f"exit {result.returncode}"
        if "--locked" in result.stderr:
            raise AssetsUnknown(
                f"uv.lock does not match pyproject.toml ({reason}). Run `uv lock` in it and "
                "commit uv.lock; its CI fails the same way."
            )
        raise AssetsUnknown(
            f"its definitions do not load, so its asset keys are unknown ({reason}). "
            "`uv run dg check defs` in the repository shows why."
        )
    keys = json.loads(result.stdout.strip().splitlines()[-1])
    answer.parent.mkdir(parents=True, exist_ok=True)
    answer.write_text(json.dumps(keys))
    return keys


def load_all(repos: list, cache: Path) -> list[dict | AssetsUnknown]:
    """Each repository's keys (or why not), in order, loaded a few at a time."""

    def load(repo) -> dict | AssetsUnknown:
        try:
            return asset_keys(repo.name, repo.path, repo.package, cache)
        except AssetsUnknown as error:
            return error

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(load, repos))

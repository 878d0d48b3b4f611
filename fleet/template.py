"""The org's template as it is now: the storage settings it gives a team, and its history."""

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from template_tools import drift

from fleet.facts import storage_constants
from fleet.org import context, environment, template_folder


def expected_storage(template: Path, answers: dict) -> dict:
    """The storage constants the current template renders for a team with these answers."""
    folder = template_folder(template)
    source = next(folder.glob("src/*/storage.py")).relative_to(folder).as_posix()
    storage = environment(template).get_template(source)
    return storage_constants(storage.render(**context(answers, template)))


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def head(template: Path) -> str:
    return git("rev-parse", "HEAD", cwd=template)


#: What teams' files are rendered from, besides the team folder: a template commit touching none
#: of these (the fleet list, docs, the template's own tests) changes no team repository.
RENDERED_FROM = [
    "cookiecutter.json",
    "hooks",
    "templates",
    "dagster-team-platform/pyproject.toml",
    "dagster-team-platform/src",
    "template-tools/pyproject.toml",
    "template-tools/src",
]


@functools.cache
def commits_behind(template: Path, commit: str) -> int | None:
    """Template commits since `commit` that touch what teams' files are rendered from; None when
    the template's history does not have `commit`."""
    if not git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", cwd=template):
        return None
    paths = [template_folder(template).name, *RENDERED_FROM]
    return int(git("rev-list", "--count", f"{commit}..HEAD", "--", *paths, cwd=template))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what subprocesses print to stderr, keeping stdout for the report (and --json)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def rendered(template: Path, commit: str, answers: dict, cache: Path) -> Path:
    """The team folder the template at `commit` renders for these answers.

    A render takes seconds, so renders are kept in `cache` between runs, once per commit and
    answers.
    """
    cache = cache / _digest(str(template.resolve()))  # one template's history never answers
    cache.mkdir(parents=True, exist_ok=True)  # for another's
    folder = cache / _digest([commit, answers])
    if not (folder / "done").is_file():
        clone = cache / "template"
        if not clone.is_dir():
            git("clone", "--quiet", str(template), str(clone), cwd=cache)
        git("fetch", "--quiet", str(template), cwd=clone)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        with stdout_to_stderr():  # the post-generation hook may print its "Next:" steps
            render = drift.render(clone, commit, answers, folder)
        (folder / "done").write_text(render.relative_to(folder).as_posix())
    return folder / (folder / "done").read_text()


def drifted_files(template: Path, repo: Path, commit: str, answers: dict, cache: Path) -> list[str]:
    """Template-owned files the repository changed, by the team repos' own drift rules."""
    return drift.drift(repo, rendered(template, commit, answers, cache))


def changes_nothing(template: Path, commit: str, answers: dict, cache: Path) -> bool:
    """Whether the template's HEAD renders the template-owned files exactly as `commit` did for
    these answers: then an update would change nothing but the commit cruft records."""
    before, after = (rendered(template, c, answers, cache) for c in (commit, head(template)))
    team_owned = drift.skip_list(after, {})
    return owned_files(before, team_owned) == owned_files(after, team_owned)


def owned_files(folder: Path, team_owned: list[str]) -> dict[str, bytes]:
    return {
        name: (folder / name).read_bytes()
        for name in drift.files(folder)
        if not drift.skipped(name, team_owned)
    }


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]

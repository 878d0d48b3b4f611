"""The org's template as it is now: the storage settings it gives a team, and its history."""

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from jinja2 import FileSystemLoader

from fleet.facts import storage_constants

TEMPLATE = Path(__file__).resolve().parents[1]


def template_folder(template: Path) -> Path:
    """The folder a team gets: the one whose name starts with `{{cookiecutter.team_slug`."""
    return next(template.glob("{{cookiecutter.team_slug*"))


def context(template: Path, answers: dict) -> dict:
    """cookiecutter's context for these answers, with the derived private values rendered."""
    team = {key: value for key, value in answers.items() if not key.startswith("_")}
    raw = generate_context(str(template / "cookiecutter.json"), extra_context=team)
    return {"cookiecutter": prompt_for_config(raw, no_input=True)}


def expected_storage(template: Path, answers: dict) -> dict:
    """The storage constants the current template renders for a team with these answers."""
    folder = template_folder(template)
    team = context(template, answers)
    env = StrictEnvironment(
        context=team,
        keep_trailing_newline=True,
        loader=FileSystemLoader([str(folder), str(template / "templates")]),
    )
    rendered = env.get_template("src/{{cookiecutter.__package}}/storage.py").render(**team)
    return storage_constants(rendered)


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def head(template: Path) -> str:
    return git("rev-parse", "HEAD", cwd=template)


def commits_behind(template: Path, commit: str) -> int | None:
    """Template commits since `commit`; None when the template's history does not have it."""
    count = git("rev-list", "--count", f"{commit}..HEAD", cwd=template)
    return int(count) if count else None


@functools.cache
def drift_script(template: Path) -> ModuleType:
    """The team repos' own drift check (template-owned, plain Python), imported from the template."""
    path = template_folder(template) / ".github/scripts/template_drift.py"
    spec = importlib.util.spec_from_file_location("template_drift", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def drifted_files(template: Path, repo: Path, commit: str, answers: dict, cache: Path) -> list[str]:
    """Template-owned files the repository changed, by the team repos' own drift rules.

    Renders the template at the repository's recorded commit, once per commit and answers: a
    render takes seconds, so renders are kept in `cache` between runs.
    """
    script = drift_script(template)
    key = hashlib.sha256(json.dumps([commit, answers], sort_keys=True).encode()).hexdigest()
    folder = cache / key[:16]
    if not (folder / "done").is_file():
        clone = cache / "template"
        if not clone.is_dir():
            git("clone", "--quiet", str(template), str(clone), cwd=cache)
        git("fetch", "--quiet", str(template), cwd=clone)
        shutil.rmtree(folder, ignore_errors=True)
        with stdout_to_stderr():  # the post-generation hook prints its "Next:" steps
            script.render(clone, commit, answers, folder)
        (folder / "done").touch()
    rendered = next((folder / commit).iterdir())
    return script.drift(repo, rendered)

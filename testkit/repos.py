"""Bake the template the way a team does, run what its repos run, and load its hooks as modules."""

import functools
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import yaml
from cookiecutter.environment import StrictEnvironment
from cookiecutter.main import cookiecutter
from uv import find_uv_bin

from fleet.org import ORG_FILE, TEMPLATE

CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text())
TEMPLATE_DIR = (
    "{{cookiecutter.team_slug|slugify(max_length=64) or 'invalid-team-slug'}}"  # what a team gets
)


#: How a team's workflows run the template tools: from their folder in the repository, before
#: anything is installed.
TOOLS_PATH = {"PYTHONPATH": "vendor/template-tools/src"}

#: What a template checkout holds besides the template: git, environments, caches, bakes.
NOT_THE_TEMPLATE = shutil.ignore_patterns(
    ".git", ".nox", ".venv*", "baked", "__pycache__", "*_cache"
)


def template_tool(name: str) -> tuple[str, str, str]:
    """The command that runs one of the template tools (`state`, `drift`, `update`), with TOOLS_PATH."""
    return (sys.executable, "-m", f"template_tools.{name}")


Bake = Callable[..., Path]
# Runs in one process: the default gives each step its own, which imports
# Dagster again (seconds per step on a busy 2-core machine) and tests nothing of ours.
IN_PROCESS_RUN = {"execution": {"config": {"in_process": {}}}}
IN_PROCESS = ("--config-json", json.dumps(IN_PROCESS_RUN))


def render_hook(name: str, answers: dict, folder: Path) -> Path:
    """Render a hook into `folder` as cookiecutter does before running it."""
    source = (TEMPLATE / "hooks" / f"{name}.py").read_text()
    rendered = folder / f"{name}.py"
    rendered.write_text(
        StrictEnvironment(context={}).from_string(source).render(cookiecutter=answers)
    )
    return rendered


@functools.cache
def load_hook(name: str) -> ModuleType:
    """Import a rendered hook as a module (its main() does not run), to test its rules directly."""
    with tempfile.TemporaryDirectory(prefix="hook-") as folder:
        rendered = render_hook(name, {}, Path(folder))
        spec = importlib.util.spec_from_file_location(name, rendered)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def bake_template(
    output_dir: Path,
    overwrite_if_exists: bool = False,
    template: Path = TEMPLATE,
    **answers: object,
) -> Path:
    """Generate a team repo with cookiecutter's API, no prompts, and return its path."""
    return Path(
        cookiecutter(
            str(template),
            no_input=True,
            extra_context=answers,
            output_dir=str(output_dir),
            overwrite_if_exists=overwrite_if_exists,
            default_config=True,
        )
    )


def fake_gh(folder: Path) -> Path:
    """A folder holding `gh`, the stand-in for GitHub's CLI (testkit/fake_gh.py), to put on PATH."""
    folder.mkdir(exist_ok=True)
    gh = folder / "gh"
    gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{TEMPLATE / "testkit/fake_gh.py"}" "$@"\n')
    gh.chmod(0o755)
    return folder


def on_a_runner(gh_state: Path, token: str) -> dict[str, str]:
    """A workflow step's environment on a GitHub runner; the fake `gh` keeps its state in
    `gh_state` and is installed next to it."""
    gh = fake_gh(gh_state.parent / "bin")
    return repo_env() | {
        "PATH": f"{gh}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GH_TOKEN": token,
        "FAKE_GH_STATE": str(gh_state),
    }


def typed(step: dict) -> str:
    """A workflow step's `run:` as a person types it, with the step's own `env:` first."""
    env = " ".join(f"{name}={shlex.quote(value)}" for name, value in step.get("env", {}).items())
    return f"{env} {step['run']}".strip()


def run_steps(workflow: Path, job: str | None = None) -> list[str]:
    """The `run:` steps of a workflow file (or of one of its jobs), as a person types them."""
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    return [
        typed(step)
        for name, steps in jobs.items()
        if job in (None, name)
        for step in steps["steps"]
        if "run" in step
    ]


def snapshot(repo: Path) -> dict[str, bytes]:
    """Every file under `repo` with its bytes, keyed by relative path."""
    return {
        path.relative_to(repo).as_posix(): path.read_bytes()
        for path in repo.rglob("*")
        if path.is_file()
    }


def git(*args: str | Path, cwd: Path) -> str:
    """Run git with a fixed identity, as a clean CI machine would."""
    identity = ["-c", "user.name=Template Tests", "-c", "user.email=tests@example.com"]
    result = subprocess.run(
        ["git", *identity, *map(str, args)], cwd=cwd, check=True, capture_output=True, text=True
    )
    return result.stdout


def commit_template_copy(repo: Path, history: bool = False) -> Path:
    """The working tree committed to a fresh git repo: cruft and git URLs read only commits.

    With `history`, committed on top of a clone of this repository, as a fork has it.
    """
    repo.parent.mkdir(parents=True, exist_ok=True)
    if history:
        git("clone", "-q", "--no-tags", TEMPLATE, repo, cwd=repo.parent)
        git("rm", "-rq", ".", cwd=repo)
    else:
        git("init", "-q", "-b", "main", repo, cwd=repo.parent)
    shutil.copytree(TEMPLATE, repo, ignore=NOT_THE_TEMPLATE, dirs_exist_ok=True, symlinks=True)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "v1", cwd=repo)
    return repo


def link_as_documented(repo: Path, template: Path) -> subprocess.CompletedProcess:
    """The docs' `cruft link` command for a plain-cookiecutter repo, run with bash, on `template`."""
    docs = [TEMPLATE / "docs/quick-start.md", TEMPLATE / "docs/updating.md"]
    commands = {
        command
        for page in docs
        for command in re.findall(r"^uvx cruft@2.16.0 link .*$", page.read_text(), re.MULTILINE)
    }
    assert len(commands) == 1, f"The docs give different link commands: {commands}"
    command = (
        commands.pop()
        .replace("https://github.com/<your-org>/dagster-team-template.git", str(template))
        .replace("uvx cruft@2.16.0", str(Path(sys.executable).parent / "cruft"))
    )
    return subprocess.run(
        ["bash", "-c", command], cwd=repo, capture_output=True, text=True, check=False
    )


def write_org(template: Path, org: dict) -> None:
    """Replace a template checkout's org settings, as a platform team does after forking."""
    settings = f"{{%- set org = {json.dumps(org, indent=4)} -%}}"
    edit(template / ORG_FILE, r"\{%- set org = .*?-%\}", settings)


def add_a_prompt_with_a_default(template: Path) -> None:
    """A template release's new question, with a default, and a file that uses it."""
    support = '"staging": true,\n  "support_channel": "#data-{{ cookiecutter.team_slug }}",'
    edit(template / "cookiecutter.json", '"staging": true,', support)
    (template / TEMPLATE_DIR / "SUPPORT.md").write_text(
        "Ask in {{ cookiecutter.support_channel }}.\n"
    )


def edit(path: Path, pattern: str, replacement: str) -> None:
    """Replace the one match of `pattern` in a file; fail if there is none."""
    text, count = re.subn(pattern, lambda _: replacement, path.read_text(), flags=re.DOTALL)
    assert count == 1, f"{pattern!r} matched {count} times in {path}"
    path.write_text(text)


def repo_env() -> dict[str, str]:
    """This environment minus the test venv, so uv in a generated repo uses the repo's own."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    # The repo's .python-version may name a Python this machine lacks: use the running version.
    return env | {"UV_PYTHON": "{}.{}".format(*sys.version_info)}


def run_in_repo(repo: Path, *command: str, env: dict[str, str] | None = None, check: bool = True):
    """Run a command in a generated repo as its developer would, with the repo's own uv project.

    Fails the test with the command's output unless `check` is false.
    """
    if command[0] == "uv":
        command = (find_uv_bin(), *command[1:])
    result = subprocess.run(
        command, cwd=repo, env=repo_env() | (env or {}), check=False, capture_output=True, text=True
    )
    if check:
        assert result.returncode == 0, (
            f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


def org_check(template: Path = TEMPLATE) -> subprocess.CompletedProcess:
    """The org check as the platform team runs it in a checkout: `python -m fleet.org`."""
    return subprocess.run(
        [sys.executable, "-m", "fleet.org"],
        cwd=template,
        capture_output=True,
        text=True,
        check=False,
    )


def cli(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run one of the test venv's command-line tools (cookiecutter, cruft) as a user would."""
    tool = Path(sys.executable).parent / str(command[0])
    return subprocess.run(
        [tool, *map(str, command[1:])], cwd=cwd, check=False, capture_output=True, text=True
    )

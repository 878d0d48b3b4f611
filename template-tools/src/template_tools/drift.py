"""Fail when template-owned files differ from the org's template.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

Renders the template with this repository's answers, at the commit it was last updated to and
at the template's current commit, and compares. Unlike `cruft diff` it also sees deleted files,
template-owned paths added to `[tool.cruft] skip`, the template's entries in pyproject.toml, and
storage settings the org has changed since. CI runs it; run it locally from the repository's root
with `uv run --no-project --with ./vendor/template-tools python -m template_tools.drift`.
"""

import fnmatch
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from cookiecutter import main as cookiecutter_main

#: Lists in pyproject.toml where the team adds entries next to the template's.
TEAM_EXTENDED = ("project.dependencies", "dependency-groups.")
SECRET_HELP = (
    "Give the job a token that can read it: the TEMPLATE_UPDATE_TOKEN secret (Contents: read "
    "on the template repository), also as a Dependabot secret for Dependabot's pull requests."
)


class TemplateUnreadable(Exception):
    """The template repository cannot be cloned with the credentials at hand."""


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TemplateUnreadable(" ".join(result.stderr.strip().splitlines()[-1:]))
    return result.stdout.strip()


def render(template: Path, commit: str, answers: dict, into: Path) -> Path:
    """The repository the template generates at `commit` for these answers (its own privates).

    cookiecutter leaves a copy of each hook script in the temp folder; they go to `into` instead.
    """
    git("checkout", "--quiet", "--force", commit, cwd=template)
    team_answers = {key: value for key, value in answers.items() if not key.startswith("_")}
    temp, tempfile.tempdir = tempfile.tempdir, str(into)
    try:
        return Path(
            cookiecutter_main.cookiecutter(
                str(template),
                no_input=True,
                extra_context=team_answers,
                # A fresh tmpXXXXXXXX folder: post_gen stays quiet for comparison renders.
                output_dir=tempfile.mkdtemp(dir=into),
                default_config=True,
            )
        )
    finally:
        tempfile.tempdir = temp


def skip_list(repo: Path, cruft_state: dict) -> list[str]:
    pyproject = repo / "pyproject.toml"
    settings = tomllib.loads(pyproject.read_text()) if pyproject.is_file() else {}
    return [
        *settings.get("tool", {}).get("cruft", {}).get("skip", []),
        *cruft_state.get("skip", []),
    ]


def skipped(name: str, skip: list[str]) -> bool:
    """cruft's rule: entries are paths or globs from the repository root."""
    return any(
        fnmatch.fnmatch(name, entry)
        if "*" in entry
        else name == entry or name.startswith(entry.rstrip("/") + "/")
        for entry in skip
    )


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def pyproject_differences(template: object, repo: object, key: str = "") -> list[str]:
    """Template-owned keys whose values the repository changed; teams may add to some lists."""
    if isinstance(template, dict) and isinstance(repo, dict):
        return [
            difference
            for name, value in template.items()
            for difference in (
                pyproject_differences(value, repo[name], f"{key}{name}.")
                if name in repo
                else [f"{key}{name} is missing"]
            )
        ]
    key = key.rstrip(".")
    if isinstance(template, list) and isinstance(repo, list) and key.startswith(TEAM_EXTENDED):
        return [f"{key} lost {entry!r}" for entry in template if entry not in repo]
    return [] if template == repo else [f"{key} changed"]


def drift(repo: Path, rendered: Path) -> list[str]:
    """Problems of the repository against the template rendered at its recorded commit."""
    cruft_state = json.loads((repo / ".cruft.json").read_text())
    template_skip = skip_list(rendered, {})
    owned = [name for name in files(rendered) if not skipped(name, template_skip)]
    problems = [
        f"[tool.cruft] skip lists the template-owned path {entry!r}"
        for entry in skip_list(repo, cruft_state)
        if entry not in template_skip and any(skipped(name, [entry]) for name in owned)
    ]
    for name in owned:
        ours, theirs = repo / name, rendered / name
        if not ours.is_file():
            problems.append(f"{name} was deleted")
        elif name == "pyproject.toml":
            problems += [
                f"pyproject.toml: {difference}"
                for difference in pyproject_differences(
                    tomllib.loads(theirs.read_text()), tomllib.loads(ours.read_text())
                )
            ]
        elif ours.read_bytes() != theirs.read_bytes():
            problems.append(f"{name} was edited")
    return problems


def storage_changes(repo: Path, current: Path) -> list[str]:
    """Storage files that differ from the org's current template."""
    return [
        name
        for name in files(current)
        if name.endswith("/storage.py")
        and (repo / name).is_file()
        and (repo / name).read_bytes() != (current / name).read_bytes()
    ]


def main() -> int:
    root = Path.cwd()
    state_file = root / ".cruft.json"
    if not state_file.is_file():
        print(
            "ERROR: .cruft.json is missing, so this repository is not linked to the template. "
            "Link it with the `cruft link` command in the template's docs (Template updates).",
            file=sys.stderr,
        )
        return 1
    state = json.loads(state_file.read_text())
    answers, recorded = state["context"]["cookiecutter"], state["commit"]
    if os.environ.get("GITHUB_ACTIONS") == "true" and os.environ.get("GH_TOKEN"):
        subprocess.run(["gh", "auth", "setup-git"], check=True)  # git reads a private template
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            git("clone", "--quiet", state["template"], str(work / "template"), cwd=work)
            latest = git("rev-parse", "HEAD", cwd=work / "template")
            rendered = render(work / "template", recorded, answers, work)
            current = (
                rendered if latest == recorded else render(work / "template", latest, answers, work)
            )
        except TemplateUnreadable as error:
            message = f"Cannot read the template repository {state['template']} ({error})."
            if os.environ.get("GITHUB_ACTOR") == "dependabot[bot]":
                print(
                    f"::warning::{message} Not compared on this Dependabot pull request: "
                    "Dependabot changes only team-owned dependencies, and the check runs again "
                    f"on main. {SECRET_HELP}"
                )
                return 0
            print(f"ERROR: {message} {SECRET_HELP}", file=sys.stderr)
            return 2
        problems = drift(root, rendered)
        outdated = storage_changes(root, current)
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    if problems:
        print(
            f"Template-owned files differ from the template at {recorded[:12]}. Revert them "
            "(`git checkout <file>` or restore the entry), or ask the platform team to change "
            "the template; team changes have their own places (docs: Template updates).",
            file=sys.stderr,
        )
    for name in outdated:
        print(
            f"ERROR: {name} differs from the org's current template ({latest[:12]}): the shared "
            "storage settings changed since this repository's last update "
            f"({recorded[:12]}). Merge the open template-update pull request, or run "
            "`PYTHONPATH=vendor/template-tools/src python3 -m template_tools.update`.",
            file=sys.stderr,
        )
    if problems or outdated:
        return 1
    platform = root / "vendor/dagster-team-platform/pyproject.toml"
    version = (
        tomllib.loads(platform.read_text())["project"]["version"] if platform.is_file() else "-"
    )
    print(
        f"Template-owned files match the template ({recorded[:12]}); storage is current; "
        f"platform package {version}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

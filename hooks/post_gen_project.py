"""Put a person's new repo under cruft; tell them what to do next.

cruft's update and diff, and the drift check, render the template into a fresh temporary folder
to compare it with the repo, so the state file would be compared and the message would land in
every update and CI log: do neither there. pre_gen checked the answers; this fails only when the
template checkout lost its symbolic links, before anything is half-made.
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

answers = json.loads(
    r"""
{{ cookiecutter | tojson }}
"""
)

#: cookiecutter's abbreviations, which cruft and git do not understand.
ABBREVIATIONS = {
    "gh:": "https://github.com/{}.git",
    "gl:": "https://gitlab.com/{}.git",
    "bb:": "https://bitbucket.org/{}",
}
#: What cookiecutter adds to the answers for this run only; cruft's state does not keep them.
RUN_ONLY = ("_output_dir", "_repo_dir", "_checkout")
#: The folders the template links from its top level. Git without symbolic links (Windows'
#: default) checks a link out as a small text file holding its target instead.
LINKED = ("vendor/dagster-team-platform/src", "vendor/template-tools/src")


def lost_links() -> list[str]:
    return [folder for folder in LINKED if not Path(folder).is_dir()]


def template_folder() -> Path | None:
    """The template checkout rendered: cookiecutter gives it as the user typed it, relative to
    where they ran it, or as the folder it cloned a URL into."""
    folder = Path(answers.get("_repo_dir") or answers["_template"])
    for base in (Path(os.environ.get("PWD", ".")), Path(answers.get("_output_dir") or ".")):
        if (base / folder / "cookiecutter.json").is_file():
            return Path(os.path.normpath(base / folder))
    return None


def template_commit(folder: Path | None) -> str | None:
    """The commit rendered: cruft passes it; under cookiecutter, ask the template's git."""
    if answers.get("_commit"):
        return answers["_commit"]
    if folder is None:
        return None
    found = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--show-toplevel", "HEAD"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    top, _, head = found.stdout.strip().partition("\n")
    # A folder without history inside another repository would report that repository's commit.
    return head if found.returncode == 0 and Path(top).resolve() == folder.resolve() else None


def template_url(folder: Path | None) -> str:
    """Where cruft finds the template again, spelled as cruft and git need it."""
    typed = answers["_template"]
    for abbreviation, url in ABBREVIATIONS.items():
        if typed.startswith(abbreviation):
            return url.format(typed.removeprefix(abbreviation))
    typed = typed.removeprefix("git+")
    if "://" in typed or typed.startswith("git@") or folder is None:
        return typed
    return str(folder)  # a local checkout, as cruft records one: absolute


def cruft_state(commit: str, url: str, folder: Path | None) -> dict:
    """What `cruft create` writes, so `cruft check`, `cruft update` and the CI accept the repo.

    The answers in the questions' order, as cruft writes them: the first update's diff of this
    file is then its commit alone.
    """
    order = json.loads((folder / "cookiecutter.json").read_text()) if folder else {}
    ordered = {key: answers[key] for key in order if key in answers} | answers
    context = {k: v for k, v in ordered.items() if k not in RUN_ONLY}
    return {
        "template": url,
        "commit": commit,
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": context | {"_template": url, "_commit": commit}},
        "directory": None,
    }


def rendered_for_comparison(project_dir: Path) -> bool:
    """cruft and the drift check render into a fresh tmpXXXXXXXX folder; people name theirs."""
    return re.fullmatch(r"tmp[a-z0-9_]{8}", project_dir.parent.name) is not None


if lost_links():
    print(
        f"ERROR: {lost_links()[0]} is a file, not a folder: the template checkout holds its "
        "symbolic links as plain files, as git does on Windows unless core.symlinks is on. "
        "Generate from a checkout with links: WSL, macOS or Linux, or clone the template with "
        "`git clone -c core.symlinks=true` (on Windows, with Developer Mode on).",
        file=sys.stderr,
    )
    sys.exit(1)

# A folder's name cannot be conditional: a Serverless team's deploy/ is left empty, so remove it.
with contextlib.suppress(OSError):  # kept when it holds anything
    Path("deploy").rmdir()

if not rendered_for_comparison(Path.cwd().resolve()):
    folder = template_folder()
    commit = template_commit(folder)
    if commit:
        state = cruft_state(commit, template_url(folder), folder)
        Path(".cruft.json").write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n")
        updates = "linked to its template for updates (.cruft.json)."
    else:
        updates = (
            "not linked for updates: the template was not a git checkout. For updates, "
            "generate it again from the template's git URL."
        )
    created = f"Created {answers['team_slug']}/ for {answers['team_name']}, {updates}"
    print(
        f"""
{textwrap.fill(created, 79)}
Next, make the first commit on main, with the uv.lock that CI and the deploy
install from:

    cd {answers["team_slug"]}
    git init -b main
    uv sync
    git add -A
    git commit -m "Start from dagster-team-template"

`uv run dg dev` runs it locally. Create the GitHub repository, set what the
README's Deploy section lists, then push main: it deploys once CI passes.
"""
    )

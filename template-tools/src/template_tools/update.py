"""Bring the org template's latest changes into a pull request; stdlib only.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

The weekly Template update workflow runs this; run it locally from the repository's root with
`PYTHONPATH=vendor/template-tools/src python3 -m template_tools.update` (needs git, gh, uv;
uses your own gh login), or with `--dry-run` to print the change it would propose without
touching the branch, the remote or GitHub (needs git and uv).
It continues the update branch instead of recreating it, so hand-merged conflicts and commits
people pushed there are never lost, refreshes uv.lock with the update, and fails loudly when
GitHub refuses the pull request instead of going green without one. A release that would change
nothing here but the template commit recorded in .cruft.json proposes nothing: that commit
catches up with the next update that changes a file.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from template_tools import state

#: One entry of a TOML list of strings on its own line, like `    "dagster",` in dependencies.
ENTRY = re.compile(r'^\s+"[^"\n]+",?\s*$')
HUNK = re.compile(r"^@@.*\n", re.MULTILINE)
CONFLICT = re.compile(r"^<{7}[^\n]*\n(.*?)^={7}\n(.*?)^>{7}[^\n]*\n", re.MULTILINE | re.DOTALL)
BRANCH = os.environ.get("TEMPLATE_UPDATE_BRANCH", "template-update")
TITLE = "Update from the org's dagster-team-template"
CRUFT = ["uvx", "cruft@2.16.0"]
BOT = ["-c", "user.name=github-actions[bot]",
       "-c", "user.email=41898282+github-actions[bot]@users.noreply.github.com"]  # fmt: skip
TOKEN_HELP = (
    "Set the TEMPLATE_UPDATE_TOKEN secret to a GitHub App or fine-grained token with, on this "
    "repository, Contents, Pull requests and Workflows: read and write, and on the template "
    "repository, Contents: read. GITHUB_TOKEN cannot do it: it may not push workflow files, "
    "GitHub refuses its pull requests by default, and those it opens start no CI."
)


INSTALL = {
    "git": "Install git.",
    "gh": (
        "The update opens its pull request with GitHub's CLI: install it "
        "(https://cli.github.com) and log in with `gh auth login`, or see the change with "
        "--dry-run."
    ),
    "uv": "Install uv (https://docs.astral.sh/uv/): the update runs cruft and `uv lock` with it.",
    "uvx": "Install uv (https://docs.astral.sh/uv/): the update runs cruft with its uvx.",
}


NOTHING_NEW = "The template's newer commits change nothing here: no pull request."


class UpdateFailed(Exception):
    """A step failed; the message says what to do."""


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    if shutil.which(command[0]) is None:
        raise UpdateFailed(f"{command[0]} is not on PATH. {INSTALL[command[0]]}")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise UpdateFailed(f"`{' '.join(command)}` failed: {output}")
    return result


def in_ci() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("git", *(BOT if in_ci() else []), *args, check=check)


def open_pull_request() -> str | None:
    """The URL of the open update pull request, if there is one; any other gh error fails."""
    listed = run("gh", "pr", "list", "--head", BRANCH, "--state", "open", "--json", "url")
    pulls = json.loads(listed.stdout or "[]")
    return pulls[0]["url"] if pulls else None


def check_out_update_branch(base: str) -> None:
    """Continue the remote update branch with `base` merged in, or start it from `base`."""
    git("fetch", "--quiet", "origin", base)
    if git("ls-remote", "--exit-code", "--heads", "origin", BRANCH, check=False).returncode:
        git("switch", "--quiet", "--create", BRANCH, f"origin/{base}")
        return
    git("fetch", "--quiet", "origin", BRANCH)
    git("switch", "--quiet", "--force-create", BRANCH, f"origin/{BRANCH}")
    if git("merge", "--quiet", "--no-edit", f"origin/{base}", check=False).returncode:
        git("merge", "--abort", check=False)
        raise UpdateFailed(
            f"The {BRANCH} branch conflicts with {base}. Nothing was changed. Merge by hand, then "
            f"run this again: git switch {BRANCH} && git merge origin/{base}, resolve, commit, push."
        )


def apply_template() -> list[str]:
    """Run cruft update, refresh uv.lock when the result parses; return what is left half-merged."""
    run(*CRUFT, "update", "--skip-apply-ask", "--allow-untracked-files")
    merge_list_entries(Path("pyproject.toml"))
    if "pyproject.toml" in git("diff", "--name-only", "--diff-filter=U").stdout.split():
        git("add", "pyproject.toml")  # resolved above, or still marked for the state check
    problems = state.problems(Path.cwd())
    if not problems:
        run("uv", "lock")
    return problems


def merge_list_entries(path: Path) -> None:
    """Merge what the template and the team both changed in lists such as `dependencies`.

    A team's `uv add` line next to an entry the template adds makes cruft leave a conflict or
    reject the hunk, though the two never change the same entry. Where both sides only add or
    remove entries, they are merged: a conflict keeps both sides' entries, and a rejected entry
    goes after the one before it in the template (or before the one after it). Anything else
    stays for a person to merge.
    """
    text = CONFLICT.sub(entries_of_both, path.read_text())
    path.write_text(text)
    rejected = path.with_name(path.name + ".rej")
    if rejected.is_file() and place_rejected_entries(path, rejected.read_text()):
        rejected.unlink()


def package(entry: str) -> str:
    """The name an entry such as `    "pytest==9.2.0",` is about."""
    return re.split(r"[\s\"=<>!~;\[@]", entry.strip().strip('",'), maxsplit=1)[0].lower()


def entries_of_both(conflict: re.Match) -> str:
    """Both sides' entries, unless they disagree about one package (a version: a person's call)."""
    ours, theirs = (side.splitlines(keepends=True) for side in conflict.group(1, 2))
    if not all(ENTRY.match(line) for line in ours + theirs):
        return conflict.group(0)
    added = [line for line in theirs if line not in ours]
    if {package(line) for line in added} & {package(line) for line in ours}:
        return conflict.group(0)
    return "".join(ours + added)


def place_rejected_entries(path: Path, rejected: str) -> bool:
    """Apply hunks that only add or remove list entries; False (nothing written) otherwise."""
    hunks = [hunk.splitlines(keepends=True) for hunk in HUNK.split(rejected)[1:]]
    changes = [line for hunk in hunks for line in hunk if line[:1] in "+-"]
    if not changes or not all(ENTRY.match(line[1:]) for line in changes):
        return False
    lines = path.read_text().splitlines(keepends=True)
    for hunk in hunks:
        entries = [line for line in hunk if ENTRY.match(line[1:])]
        for number, line in enumerate(entries):
            if line[0] == "-" and line[1:] in lines:
                lines.remove(line[1:])
            elif line[0] == "+" and line[1:] not in lines:
                if any(
                    ENTRY.match(other) and package(other) == package(line[1:]) for other in lines
                ):
                    return False  # the team changed that package's entry: a person decides
                before = [e[1:] for e in entries[:number] if e[0] != "-" and e[1:] in lines]
                after = [e[1:] for e in entries[number + 1 :] if e[0] == " " and e[1:] in lines]
                if not before and not after:
                    return False  # nothing to place it by
                at = lines.index(before[-1]) + 1 if before else lines.index(after[0])
                lines.insert(at, line[1:])
    path.write_text("".join(lines))
    return True


def changelog() -> str:
    """Where the team reads what changed and why: the template's CHANGELOG at the new commit."""
    linked = json.loads(Path(".cruft.json").read_text())
    url, commit = linked["template"].removesuffix(".git"), linked["commit"]
    if url.startswith("https://"):
        return f" What changed and why: {url}/blob/{commit}/CHANGELOG.md"
    return f" What changed and why: CHANGELOG.md in {url} at {commit}"


def pull_request_body(problems: list[str]) -> str:
    body = "Applied with `cruft update`; `uv.lock` refreshed to match." + changelog()
    if problems:
        listed = "\n".join(f"- {problem}" for problem in problems)
        body += (
            f"\n\nNot applied cleanly:\n\n{listed}\n\n{state.HOW_TO_FIX} Commit your "
            f"merge to this branch: the next run continues from it. Then run `uv lock`."
        )
    return body


def only_the_recorded_commit_changed() -> bool:
    """Whether the staged update changes nothing but the template commit .cruft.json records."""
    if git("diff", "--cached", "--name-only").stdout.split() != [".cruft.json"]:
        return False
    before = without_commit(git("show", "HEAD:.cruft.json").stdout)
    return before == without_commit(Path(".cruft.json").read_text())


def without_commit(cruft_state: str) -> dict:
    """cruft's state with the template commit left out (it is kept twice)."""
    state = json.loads(cruft_state)
    state.pop("commit", None)
    state.get("context", {}).get("cookiecutter", {}).pop("_commit", None)
    return state


def check_ready() -> None:
    """What the update needs before it changes anything, each named with its fix."""
    if in_ci() and not os.environ.get("GH_TOKEN"):
        raise UpdateFailed(f"No token for the template update. {TOKEN_HELP}")
    if git("remote", "get-url", "origin", check=False).returncode:
        raise UpdateFailed(
            "This repository has no `origin` remote, where the update pushes its branch. Add it: "
            "`git remote add origin <this repository's GitHub URL>`, or see the change with "
            "--dry-run."
        )
    if not in_ci() and run("gh", "auth", "status", check=False).returncode:
        raise UpdateFailed("gh is not logged in to GitHub. Run `gh auth login`, or set GH_TOKEN.")
    if git("status", "--porcelain", "--untracked-files=no").stdout.strip():
        raise UpdateFailed("The working tree has uncommitted changes. Commit or stash them first.")


def dry_run() -> int:
    """Apply the update to a copy of HEAD and print what it would propose; change nothing."""
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="template-update-") as copy:
        git("worktree", "add", "--quiet", "--detach", copy, "HEAD")
        try:
            os.chdir(copy)
            problems = apply_template()
            git("add", "--all")
            if only_the_recorded_commit_changed() or not git("diff", "--cached").stdout:
                print(NOTHING_NEW)
                return 0
            print(git("diff", "--cached", "--stat").stdout + git("diff", "--cached").stdout, end="")
            if problems:
                print("It would not apply cleanly:\n" + "\n".join(f"- {p}" for p in problems))
        finally:
            os.chdir(here)
            git("worktree", "remove", "--force", copy)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="template_tools.update", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the change it would propose; touch nothing"
    )
    if parser.parse_args(argv).dry_run:
        return dry_run()
    check_ready()
    if in_ci():
        run("gh", "auth", "setup-git")
    base = git("rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    pull_request = open_pull_request()
    check_out_update_branch(base)
    problems = apply_template()
    git("add", "--all")
    if only_the_recorded_commit_changed():
        git("reset", "--quiet", "--hard", "HEAD")  # nothing for the team to review
    if git("diff", "--cached", "--quiet", check=False).returncode == 0:
        ahead = git("rev-list", "--count", f"origin/{base}..HEAD").stdout.strip() != "0"
        if not ahead:
            print(
                f"{NOTHING_NEW} The recorded template commit catches up with the next update "
                "that changes a file."
            )
            git("switch", "--quiet", base)
            return 0
    else:
        git("commit", "--quiet", "--message", TITLE, "--message", pull_request_body(problems))
    git("push", "--quiet", "origin", f"{BRANCH}:{BRANCH}")
    if pull_request:
        print(f"Updated the open pull request {pull_request}.")
    else:
        created = run("gh", "pr", "create", "--base", base, "--head", BRANCH, "--title", TITLE,
                      "--body", pull_request_body(problems), check=False)  # fmt: skip
        if created.returncode:
            raise UpdateFailed(
                f"GitHub refused to open the pull request: {created.stderr.strip()}. {TOKEN_HELP}"
            )
        print(f"Opened {created.stdout.strip()}.")
    if problems:
        print(
            f"The update did not apply cleanly ({len(problems)} files): CI fails on the pull request until it is merged by hand."
        )
    git("switch", "--quiet", base)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UpdateFailed as error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(1)

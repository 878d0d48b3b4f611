"""Record the template commit; tell a person who just generated a repo what to do next.

cruft's update and diff, and the drift check, render the template into a fresh temporary folder
to compare it with the repo, so the message would land in every update and CI log: stay quiet
there. Never fails: pre_gen checked the answers.
"""

import json
import os
import re
import subprocess
from pathlib import Path

answers = json.loads(
    r"""
{{ cookiecutter | tojson }}
"""
)


def template_commit() -> str | None:
    """The template commit rendered: cruft passes it; under cookiecutter, ask the template's git.

    cookiecutter gives the template folder as the user typed it, relative to where they ran it.
    """
    if answers.get("_commit"):
        return answers["_commit"]
    folder = Path(answers.get("_repo_dir") or ".")
    for base in (Path(os.environ.get("PWD", ".")), Path(answers.get("_output_dir") or ".")):
        candidate = base / folder
        if (candidate / "cookiecutter.json").is_file():
            head = subprocess.run(
                ["git", "-C", str(candidate), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                check=False,
            )
            return head.stdout.strip() if head.returncode == 0 else None
    return None


def record_template_commit() -> None:
    """Keep the commit next to the answers, so `cruft link --checkout` can find it later."""
    commit = template_commit()
    if commit:
        path = Path(".template-answers.json")
        answers_file = json.loads(path.read_text()) | {"_commit": commit}
        path.write_text(json.dumps(answers_file, indent=2) + "\n")


def rendered_for_comparison(project_dir: Path) -> bool:
    """cruft and the drift check render into a fresh tmpXXXXXXXX folder; people name theirs."""
    return re.fullmatch(r"tmp[a-z0-9_]{8}", project_dir.parent.name) is not None


record_template_commit()
if not rendered_for_comparison(Path.cwd().resolve()):
    print(
        f"""
Created {answers["team_slug"]}/ for {answers["team_name"]}. Next, make the first commit on
main, with the uv.lock that CI and the deploy install from:

    cd {answers["team_slug"]}
    git init -b main
    uv sync
    git add -A
    git commit -m "Start from dagster-team-template"

`uv run dg dev` runs it locally. Create the GitHub repository, set what the README's Deploy
section lists, then push main: it deploys once CI passes.
"""
    )

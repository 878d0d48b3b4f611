"""Tell a person who just generated a repo what to do next; stay quiet when cruft re-renders.

cruft's update and diff render the template into a fresh temporary directory to compare it with
the repo, so the message would land in every update log. Never fails: pre_gen checked the answers.
"""

import json
import re
import tempfile
from pathlib import Path

answers = json.loads(
    r"""
{{ cookiecutter | tojson }}
"""
)


def rendered_by_cruft_for_comparison(project_dir: Path) -> bool:
    """cookiecutter records an output directory; cruft's comparisons use a fresh tmpXXXXXXXX one."""
    parent = project_dir.parent
    return (
        "_output_dir" not in answers
        and parent.parent == Path(tempfile.gettempdir()).resolve()
        and re.fullmatch(r"tmp[a-z0-9_]{8}", parent.name) is not None
    )


if not rendered_by_cruft_for_comparison(Path.cwd().resolve()):
    print(
        f"""
Created {answers["team_slug"]}/ for {answers["team_name"]}. Next:

    cd {answers["team_slug"]}
    git init && git add -A && git commit -m "Start from dagster-team-template"
    uv sync && uv run pytest
    uv run dg dev

Then push it to GitHub and add the secrets its README lists.
"""
    )

"""Tell the team what to do next. Never fails on answers: pre_gen_project checked them all."""

import json

answers = json.loads(
    r"""
{{ cookiecutter | tojson }}
"""
)

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

"""Tell the team what to do next. Never fails on answers: pre_gen_project checked them all."""

import json

answers = json.loads(
    r"""
{{ cookiecutter | tojson }}
"""
)

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

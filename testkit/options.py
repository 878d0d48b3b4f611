"""The option matrix, derived from cookiecutter.json and filtered by the hook's own rule."""

from itertools import cycle, product

import pytest

from testkit.repos import CONTEXT, load_hook

UPSTREAM_EXAMPLES = ("", "finance/revenue, marketing/campaign-spend")


def supported_combinations() -> list[pytest.param]:
    """Product over interacting choices, cycling the independent ones; only what the hook accepts."""
    combination_problems = load_hook("pre_gen_project").combination_problems
    python_versions = cycle(CONTEXT["python_version"])
    staging = cycle([True, False])
    upstream = cycle(UPSTREAM_EXAMPLES)
    params = []
    for deployment, isolation in product(CONTEXT["deployment"], CONTEXT["isolation"]):
        answers = {"deployment": deployment, "isolation": isolation, "image_repository": ""}
        if combination_problems(answers):
            continue
        answers |= {
            "python_version": next(python_versions),
            "staging": next(staging),
            "upstream_assets": next(upstream),
        }
        label = f"{deployment}:{isolation}:py{answers['python_version']}"
        label += "" if answers["staging"] else ":no-staging"
        params.append(
            pytest.param(answers, id=label + (":upstream" if answers["upstream_assets"] else ""))
        )
    return params


def unsupported_combinations() -> list[pytest.param]:
    """Every choice product the hook refuses."""
    combination_problems = load_hook("pre_gen_project").combination_problems
    return [
        pytest.param(answers, id=f"{answers['deployment']}:{answers['isolation']}")
        for deployment, isolation in product(CONTEXT["deployment"], CONTEXT["isolation"])
        if combination_problems(
            answers := {"deployment": deployment, "isolation": isolation, "image_repository": ""}
        )
    ]

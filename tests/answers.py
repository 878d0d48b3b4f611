"""Answers as the pre_gen hook receives them: the template's defaults, with derived names recomputed."""

from conftest import CONTEXT
from cookiecutter.prompt import prompt_for_config

# Rendered by cookiecutter itself, so they follow cookiecutter.json (and a fork's owner default).
DEFAULTS = {
    name: value
    for name, value in prompt_for_config({"cookiecutter": CONTEXT}, no_input=True).items()
    if not name.startswith("__")
}


def answers(**changes: object) -> dict[str, object]:
    """Default answers with `changes` applied, derived names following them like cookiecutter's."""
    result = DEFAULTS | changes
    return {
        "__package": result["team_slug"].replace("-", "_"),
        "__agent_platform": result["deployment"].partition("-")[2],
    } | result

"""Answers as the pre_gen hook receives them: the template's defaults, with `changes` applied."""

from cookiecutter.prompt import prompt_for_config

from testkit.repos import CONTEXT

# Rendered by cookiecutter itself, so they follow cookiecutter.json (and a fork's owner default).
# A copy: cookiecutter pops `__prompts__` from the context it is given.
DEFAULTS = dict(prompt_for_config({"cookiecutter": dict(CONTEXT)}, no_input=True))


def answers(**changes: object) -> dict[str, object]:
    """Default answers with `changes` applied."""
    return DEFAULTS | changes

"""The default run's parts (noxfile.py's PARTS) hold every test exactly once, and the template's
CI runs every part: a test in none would never run on a pull request.
"""

import ast
import itertools
import tomllib

import yaml
from _pytest.mark.expression import Expression
from conftest import TEMPLATE

MARKERS = [
    line.split(":")[0]
    for line in tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"
    ]["markers"]
]
LEFT_OUT = {"slow", "image"}  # by the default run, for their own sessions


def parts() -> dict[str, str]:
    for node in ast.parse((TEMPLATE / "noxfile.py").read_text()).body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["PARTS"]:
            return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py no longer defines PARTS")


def test_every_combination_of_markers_is_in_exactly_one_part_of_the_default_run() -> None:
    expressions = {name: Expression.compile(source) for name, source in parts().items()}
    for size in range(len(MARKERS) + 1):
        for marked in map(set, itertools.combinations(MARKERS, size)):
            inside = [
                name
                for name, expression in expressions.items()
                if expression.evaluate(lambda marker, marked=marked, **_: marker in marked)
            ]
            assert len(inside) == (0 if marked & LEFT_OUT else 1), (marked, inside)


def test_the_template_ci_runs_every_part() -> None:
    workflow = yaml.safe_load((TEMPLATE / ".github/workflows/tests.yml").read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "uvx nox -s fast" in runs
    assert 'uvx nox -s "part($PART)"' in runs
    matrix = workflow["jobs"]["part"]["strategy"]["matrix"]["part"]
    assert sorted(matrix) == sorted(set(parts()) - {"fast"})

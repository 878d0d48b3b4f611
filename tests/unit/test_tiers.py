"""The default run's parts (noxfile.py's PARTS, by folder) hold every test file exactly once, and
the template's CI runs every part: a test in none would never run on a pull request.
"""

import ast
from pathlib import Path

import yaml

from testkit.repos import TEMPLATE

OWN_SESSION = {"tests/image"}  # needs root and Debian tools: `nox -s image`


def parts() -> dict[str, list[str]]:
    for node in ast.parse((TEMPLATE / "noxfile.py").read_text()).body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["PARTS"]:
            return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py no longer defines PARTS")


def test_every_test_file_is_in_exactly_one_part_of_the_default_run() -> None:
    folders = [folder for part in parts().values() for folder in part]
    files = [*(TEMPLATE / "tests").rglob("test_*.py"), *(TEMPLATE / "dagster-team-platform").rglob("test_*.py")]  # fmt: skip
    for file in files:
        relative = file.relative_to(TEMPLATE).as_posix()
        holding = [
            folder for folder in [*folders, *OWN_SESSION] if relative.startswith(f"{folder}/")
        ]
        assert len(holding) == 1, (relative, holding)


def test_the_tests_folder_holds_only_tier_folders_and_fixtures() -> None:
    tiers = {
        Path(folder).name
        for part in parts().values()
        for folder in part
        if folder.startswith("tests/")
    }
    found = {path.name for path in (TEMPLATE / "tests").iterdir() if path.name != "__pycache__"}
    assert found == tiers | {Path(folder).name for folder in OWN_SESSION} | {"conftest.py"}


def test_the_template_ci_runs_every_part() -> None:
    workflow = yaml.safe_load((TEMPLATE / ".github/workflows/tests.yml").read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "uvx nox -s fast" in runs
    assert 'uvx nox -s "part($PART)"' in runs
    matrix = workflow["jobs"]["part"]["strategy"]["matrix"]["part"]
    assert sorted(matrix) == sorted(set(parts()) - {"fast"})


def imported(file: Path) -> set[str]:
    """The top-level names a Python file imports."""
    names = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_product_code_or_session_imports_tests_or_their_kit() -> None:
    tests = {file.stem for file in (TEMPLATE / "tests").rglob("*.py")}
    product = [
        TEMPLATE / "noxfile.py",
        *(TEMPLATE / "hooks").glob("*.py"),
        *(TEMPLATE / "fleet").glob("*.py"),
        *(TEMPLATE / "dagster-team-platform/src").rglob("*.py"),
        *(TEMPLATE / "template-tools/src").rglob("*.py"),
    ]
    assert len(product) > 20
    for file in product:
        assert not imported(file) & (tests | {"testkit"}), file
    for file in (TEMPLATE / "bench").glob("*.py"):  # benchmarks share the kit, not the tests
        assert not imported(file) & tests, file

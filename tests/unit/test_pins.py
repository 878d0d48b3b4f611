"""The template's pins live in one place per team repo, and no bot in a team repo bumps them."""

import fnmatch
import re
import tomllib

import yaml

from testkit.repos import TEMPLATE


def test_template_pins_are_constraints_that_dependabot_leaves_alone(bake) -> None:
    repo = bake()
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    constraints = project["tool"]["uv"]["constraint-dependencies"]
    pins = {re.split(r"[=<>!~]", pin, maxsplit=1)[0] for pin in constraints}
    template_entries = project["project"]["dependencies"] + project["dependency-groups"]["dev"]
    vendored = list(project["tool"]["uv"]["sources"])  # installed from the repo's own vendor/
    assert vendored == ["dagster-team-platform"]
    # Each unversioned entry has its pin.
    assert sorted(pins) == sorted(entry for entry in template_entries if entry not in vendored)
    (update,) = yaml.safe_load((repo / ".github/dependabot.yml").read_text())["updates"]
    assert update["package-ecosystem"] == "uv"
    ignored = [rule["dependency-name"] for rule in update["ignore"]]
    assert [pin for pin in pins if not any(fnmatch.fnmatch(pin, rule) for rule in ignored)] == []


def test_the_template_tests_with_the_dagster_version_it_pins(bake) -> None:
    project = tomllib.loads((bake() / "pyproject.toml").read_text())
    constraints = project["tool"]["uv"]["constraint-dependencies"]
    pinned = dict(pin.split("==") for pin in constraints if "==" in pin)
    ours = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["dependency-groups"]["test"]
    (cli,) = [re.fullmatch(r"dagster-cloud-cli==(.+)", pin) for pin in ours if "cloud-cli" in pin]
    assert f"dagster=={pinned['dagster']}" in ours  # the platform package's in-process tests
    assert cli.group(1) == pinned["dagster-cloud"], (
        "Bump the Dagster pins in the template folder's pyproject.toml together with "
        "dagster-cloud-cli in the template's own test dependencies."
    )

"""Every supported combination bakes into exactly the expected, fully rendered, valid files."""

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from dagster_cloud_cli.config.models import load_dagster_cloud_yaml

from fleet.org import org_settings
from testkit.options import supported_combinations

UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\{#|cookiecutter\.")


def expected_files(answers: dict, package: str = "sales_analytics") -> set[str]:
    """The file set a team gets for these answers: nothing missing, nothing extra."""
    files = {
        ".cruft.json",
        ".github/CODEOWNERS",
        ".github/dependabot.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/deploy.yml",
        ".github/workflows/template-update.yml",
        ".gitignore",
        ".pre-commit-config.yaml",
        ".python-version",
        "README.md",
        "alert_policies.yaml",
        "ci/team-checks.sh",
        "dagster_cloud.yaml",
        "pyproject.toml",
        f"src/{package}/__init__.py",
        f"src/{package}/definitions.py",
        f"src/{package}/defs/__init__.py",
        f"src/{package}/defs/assets.py",
        f"src/{package}/defs/upstreams.yaml",
        f"src/{package}/storage.py",
        f"src/{package}/upstreams.schema.json",
        "tests/test_definitions.py",
        "tests/test_platform.py",
        "vendor/dagster-team-platform/pyproject.toml",
        "vendor/dagster-team-platform/src/dagster_team_platform/__init__.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/alert_policies.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/declarations.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/upstreams.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/formats.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/history.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/io_manager.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/layout.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/settings.py",
        "vendor/dagster-team-platform/src/dagster_team_platform/store.py",
        "vendor/template-tools/pyproject.toml",
        "vendor/template-tools/src/template_tools/__init__.py",
        "vendor/template-tools/src/template_tools/cloud_config.py",
        "vendor/template-tools/src/template_tools/drift.py",
        "vendor/template-tools/src/template_tools/state.py",
        "vendor/template-tools/src/template_tools/update.py",
    }
    if answers["deployment"] != "serverless":
        files |= {"Dockerfile", ".dockerignore", "deploy/image-setup.sh"}
    return files


def repo_files(repo: Path) -> dict[str, Path]:
    return {path.relative_to(repo).as_posix(): path for path in repo.rglob("*") if path.is_file()}


@pytest.fixture(params=supported_combinations())
def baked(request: pytest.FixtureRequest, bake) -> tuple[dict, Path]:
    return request.param, bake(**request.param)


def test_bakes_exactly_the_expected_files(baked) -> None:
    answers, repo = baked
    assert sorted(repo_files(repo)) == sorted(expected_files(answers))


def test_nothing_is_left_unrendered(baked) -> None:
    _, repo = baked
    leftovers = {
        name: match.group()
        for name, path in repo_files(repo).items()
        if (match := UNRENDERED.search(path.read_text()))
    }
    assert leftovers == {}


def test_every_yaml_toml_json_and_python_file_parses(baked) -> None:
    answers, repo = baked
    for name, path in repo_files(repo).items():
        if name.endswith((".yaml", ".yml")):
            assert yaml.safe_load(path.read_text()) is not None, name
        elif name.endswith(".toml"):
            assert tomllib.loads(path.read_text()), name
        elif name.endswith(".json"):
            assert json.loads(path.read_text()), name
        elif name.endswith(".py"):
            compile(path.read_text(), name, "exec")
    assert (repo / ".python-version").read_text() == f"{answers['python_version']}\n"


def test_dagster_cloud_yaml_is_valid_for_the_answers(baked) -> None:
    answers, repo = baked
    config = load_dagster_cloud_yaml((repo / "dagster_cloud.yaml").read_text())
    (location,) = config.locations
    assert location.location_name == "sales-analytics"
    assert location.code_source.module_name == "sales_analytics.definitions"
    assert location.build.directory == "."
    hybrid = answers["deployment"] != "serverless"
    platform = answers["deployment"].removeprefix("hybrid-")
    expected_registry = f"{org_settings()['registry']}/sales-analytics"
    assert location.build.registry == (expected_registry if hybrid else None)
    assert location.container_context == (
        {platform: {"env_vars": ["DAGSTER_TEAM=sales-analytics"]}} if hybrid else None
    )
    queue = "sales-analytics" if answers["isolation"] == "agent_queue" else None
    assert location.agent_queue == queue


def test_pyproject_names_the_location_for_dg(baked) -> None:
    _, repo = baked
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    assert project["tool"]["dg"]["project"]["code_location_name"] == "sales-analytics"
    assert project["tool"]["dg"]["project"]["root_module"] == "sales_analytics"
    assert project["project"]["name"] == "sales_analytics"

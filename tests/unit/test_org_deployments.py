"""Every deployment in the org settings reaches a team's storage, its tests, its identities and
its deploy workflow; a removed one leaves them. Checked on template copies with changed org
settings.
"""

import ast
import json
import shutil
from pathlib import Path

import pytest
import yaml
from test_deploy_triggers import dispatch, plan, push, triggers

from fleet.infra import team_stack
from fleet.org import org_settings, team_settings
from testkit.repos import NOT_THE_TEMPLATE, TEMPLATE, bake_template, write_org


def template_with(tmp_path: Path, **changes: object) -> Path:
    copy = tmp_path / "template"
    shutil.copytree(TEMPLATE, copy, ignore=NOT_THE_TEMPLATE, symlinks=True)
    write_org(copy, org_settings() | changes)
    return copy


def assigned(path: Path, name: str) -> object:
    """The literal value a module assigns to `name`."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned in {path}")


@pytest.fixture(scope="module")
def with_qa(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    org = org_settings()
    buckets = org["buckets"] | {"qa": org["buckets"][org["prod_deployment"]] + "-qa"}
    return buckets, template_with(tmp_path_factory.mktemp("qa"), buckets=buckets)


@pytest.mark.parametrize(
    ("answers", "prefix"),
    [({}, ""), ({"isolation": "deployment"}, "sales-analytics-")],
    ids=["shared-deployments", "own-deployments"],
)
def test_a_new_deployment_reaches_storage_tests_iam_and_deploys(with_qa, tmp_path, answers, prefix):
    buckets, template = with_qa
    org = org_settings()
    repo = bake_template(tmp_path, template=template, **answers)

    expected = {f"{prefix}{name}": bucket for name, bucket in buckets.items()}
    actual = assigned(repo / "src/sales_analytics/storage.py", "BUCKETS")
    assert actual == expected
    assert next(iter(actual)) == prefix + org["prod_deployment"]  # branch deployments' base
    assert assigned(repo / "tests/test_platform.py", "ORG_STORAGE")["BUCKETS"] == expected
    assert team_settings(answers, template)["buckets"] == expected  # as Python reads team.jinja
    # Each of the team's full deployments gets an identity that lists its bucket alone.
    resources = team_stack(org_settings(template), team_settings(answers, template))["Resources"]
    listed = [
        body["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
        for name, body in resources.items()
        if name.endswith("Storage") and name != "BranchesStorage"
    ]
    assert listed == [[f"arn:aws:s3:::{bucket}"] for bucket in buckets.values()]

    # The branch named after it deploys there, and a manual run can pick it.
    deploy = yaml.safe_load((repo / ".github/workflows/deploy.yml").read_text())
    assert triggers(deploy, push("qa"))
    assert plan(deploy, push("qa"))["deployment"] == f"{prefix}qa"
    assert plan(deploy, dispatch("main", deployment=f"{prefix}qa"))["deployment"] == f"{prefix}qa"
    assert plan(deploy, push("main"))["deployment"] == f"{prefix}{org['prod_deployment']}"
    choices = deploy[True]["workflow_dispatch"]["inputs"]["deployment"]["options"]
    assert choices == list(expected)[1:]


def test_a_team_without_staging_gets_no_staging_bucket(with_qa, tmp_path) -> None:
    buckets, template = with_qa
    org = org_settings()
    repo = bake_template(tmp_path, template=template, staging=False)

    expected = {name: b for name, b in buckets.items() if name != org["staging_deployment"]}
    assert assigned(repo / "src/sales_analytics/storage.py", "BUCKETS") == expected
    assert team_settings({"staging": False}, template)["buckets"] == expected


def test_a_removed_deployment_leaves_storage_and_iam(tmp_path: Path) -> None:
    org = org_settings()
    prod = org["prod_deployment"]
    template = template_with(tmp_path, staging_deployment="", buckets={prod: org["buckets"][prod]})
    repo = bake_template(tmp_path / "out", template=template)

    assert assigned(repo / "src/sales_analytics/storage.py", "BUCKETS") == {
        prod: org["buckets"][prod]
    }
    stack = json.dumps(team_stack(org_settings(template), team_settings({}, template)))
    removed = [bucket for name, bucket in org["buckets"].items() if name != prod]
    assert removed and [bucket for bucket in removed if bucket in stack] == []

"""A team's upstreams.yaml: what the prompt seeds, and the message for every mistake in it.

Runs the generated repo's own reader (it needs only PyYAML) and the JSON Schema shipped next to it.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest
import yaml

from testkit.repos import bake_template

PACKAGE = "sales"
DECLARATIONS_MODULE = "vendor/dagster-team-platform/src/dagster_team_platform/declarations.py"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bake_template(
        tmp_path_factory.mktemp("declarations"),
        team_name="Sales",
        team_slug=PACKAGE,
        upstream_assets="finance/revenue, marketing_ops/campaign-spend",
    )


@pytest.fixture(scope="module")
def declarations(repo: Path) -> ModuleType:
    path = repo / DECLARATIONS_MODULE
    spec = importlib.util.spec_from_file_location("upstream_declarations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def schema(repo: Path) -> jsonschema.Draft202012Validator:
    document = json.loads((repo / "src" / PACKAGE / "upstreams.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def entry(**fields: object) -> dict:
    return {"key": "finance/revenue", "owner": "finance"} | fields


def document(*entries: dict) -> dict:
    return {"version": 1, "upstreams": list(entries)}


def test_the_prompt_seeds_one_entry_per_key(repo: Path, declarations, schema) -> None:
    text = (repo / "src" / PACKAGE / "defs" / "upstreams.yaml").read_text()
    schema.validate(yaml.safe_load(text))
    upstreams = declarations.load(PACKAGE, repo / "src" / PACKAGE / "defs" / "upstreams.yaml")
    assert [(u.key, u.owner, u.freshness.fail_after.days) for u in upstreams] == [
        ("finance/revenue", "finance", 1),
        ("marketing_ops/campaign-spend", "marketing-ops", 1),
    ]


def test_no_upstreams_seed_an_empty_list(tmp_path: Path, declarations, schema) -> None:
    repo = bake_template(tmp_path, team_name="Sales", team_slug=PACKAGE)
    data = yaml.safe_load((repo / "src" / PACKAGE / "defs" / "upstreams.yaml").read_text())
    assert data == {"version": 1, "upstreams": []}
    schema.validate(data)


def test_a_missing_file_declares_nothing(tmp_path: Path, declarations) -> None:
    assert declarations.load(PACKAGE, tmp_path / "upstreams.yaml") == []


def test_every_field_is_read(declarations, schema) -> None:
    full = entry(
        description="Booked revenue",
        freshness={
            "warn_after": {"count": 12, "period": "hour"},
            "fail_after": {"count": 26, "period": "hour"},
        },
        columns=[{"name": "order_id", "type": "int64"}, {"name": "amount"}],
    )
    schema.validate(document(full))
    (upstream,) = declarations.parse(document(full), PACKAGE)
    assert upstream.path == ["finance", "revenue"]
    assert upstream.description == "Booked revenue"
    assert upstream.freshness.warn_after.total_seconds() == 12 * 3600
    assert upstream.freshness.fail_after.total_seconds() == 26 * 3600
    assert [(c.name, c.type) for c in upstream.columns] == [("order_id", "int64"), ("amount", None)]


# (document, message, does the JSON Schema reject it too?)
BAD = {
    "bad-key": (
        document(entry(key="Finance/revenue")),
        "Entry 1 (Finance/revenue): key 'Finance/revenue' is not a team/asset key. Write it like "
        "finance/revenue: the owning team's package name, '/', then the asset name",
        True,
    ),
    "slug-key": (
        document(entry(key="marketing-ops/spend")),
        "Entry 1 (marketing-ops/spend): key 'marketing-ops/spend' is not a team/asset key. Write "
        "it like finance/revenue: the owning team's package name (here marketing_ops, with '_' "
        "for '-'), '/', then the asset name",
        True,
    ),
    "one-part-key": (
        document(entry(key="revenue")),
        "Entry 1 (revenue): key 'revenue' is not a team/asset key. Write it like finance/revenue: "
        "the owning team's package name, '/', then the asset name",
        True,
    ),
    "no-key": (
        document({"owner": "finance"}),
        "Entry 1 has no key. Add key: team/asset, e.g. key: finance/revenue",
        True,
    ),
    "own-asset": (
        document(entry(key="sales/orders", owner="sales")),
        "Entry 1 (sales/orders): sales/orders belongs to this team. List only other teams' assets",
        False,
    ),
    "duplicate": (
        document(entry(), entry()),
        "Entry 2: finance/revenue is declared twice. Keep one entry",
        False,
    ),
    "unknown-field": (
        document(entry(freshnes={})),
        "Entry 1 (finance/revenue) has an unknown field 'freshnes' (did you mean freshness?). "
        "Use only key, owner, description, freshness, columns",
        True,
    ),
    "unknown-top-field": (
        {"upstream": []},
        "The file has an unknown field 'upstream' (did you mean upstreams?). Use only version, "
        "upstreams",
        True,
    ),
    "no-owner": (
        document({"key": "finance/revenue"}),
        "Entry 1 (finance/revenue) names no owner. Add owner: finance",
        True,
    ),
    "wrong-owner": (
        document(entry(key="marketing_ops/spend", owner="marketing")),
        "Entry 1 (marketing_ops/spend) names owner 'marketing', but keys under marketing_ops/ "
        "belong to code location marketing-ops. Write owner: marketing-ops",
        False,
    ),
    "bad-period": (
        document(entry(freshness={"fail_after": {"count": 1, "period": "week"}})),
        "Entry 1 (finance/revenue): freshness.fail_after {'count': 1, 'period': 'week'} is not a "
        "duration. Write it like {count: 26, period: hour}: a whole count above 0, period "
        "minute, hour or day",
        True,
    ),
    "zero-count": (
        document(entry(freshness={"fail_after": {"count": 0, "period": "hour"}})),
        "Entry 1 (finance/revenue): freshness.fail_after {'count': 0, 'period': 'hour'} is not a "
        "duration. Write it like {count: 26, period: hour}: a whole count above 0, period "
        "minute, hour or day",
        True,
    ),
    "plain-string-duration": (
        document(entry(freshness={"fail_after": "26h"})),
        "Entry 1 (finance/revenue): freshness.fail_after '26h' is not a duration. Write it like "
        "{count: 26, period: hour}: a whole count above 0, period minute, hour or day",
        True,
    ),
    "no-fail-after": (
        document(entry(freshness={"warn_after": {"count": 1, "period": "hour"}})),
        "Entry 1 (finance/revenue): freshness has no fail_after. Add one. Write it like "
        "{count: 26, period: hour}: a whole count above 0, period minute, hour or day",
        True,
    ),
    "warn-not-before-fail": (
        document(
            entry(
                freshness={
                    "warn_after": {"count": 2, "period": "day"},
                    "fail_after": {"count": 1, "period": "day"},
                }
            )
        ),
        "Entry 1 (finance/revenue): freshness.warn_after is not shorter than fail_after. Warn "
        "earlier than you fail, or drop warn_after",
        False,
    ),
    "column-without-name": (
        document(entry(columns=[{"type": "int64"}])),
        "Entry 1 (finance/revenue): column {'type': 'int64'} has no name. Write it as "
        "`- name: amount` (and optionally `type: double`)",
        True,
    ),
    "duplicate-column": (
        document(entry(columns=[{"name": "amount"}, {"name": "amount"}])),
        "Entry 1 (finance/revenue): column amount is listed twice. List each column once",
        False,
    ),
    "unknown-column-field": (
        document(entry(columns=[{"name": "amount", "data_type": "double"}])),
        "Entry 1 (finance/revenue): column amount has an unknown field 'data_type' (did you mean "
        "type?). Use only name, type",
        True,
    ),
    "not-a-list": (
        {"upstreams": {"key": "finance/revenue"}},
        "upstreams is not a list. Write one `- key: ...` entry per asset",
        True,
    ),
    "bad-version": (
        {"version": 2, "upstreams": []},
        "version 2 is not one this repo reads. Write version: 1",
        True,
    ),
}


@pytest.mark.parametrize(("data", "message", "in_schema"), BAD.values(), ids=BAD.keys())
def test_each_mistake_is_named_with_its_fix(declarations, schema, data, message, in_schema) -> None:
    with pytest.raises(declarations.UpstreamDeclarationError) as raised:
        declarations.parse(data, PACKAGE)
    assert raised.value.problems == [message]
    assert f"\n  - {message}." in str(raised.value)
    assert schema.is_valid(data) is not in_schema


def test_every_mistake_in_a_file_is_reported_at_once(declarations) -> None:
    data = document(entry(key="sales/x", owner="sales"), entry(freshness={"fail_after": "1d"}))
    with pytest.raises(declarations.UpstreamDeclarationError) as raised:
        declarations.parse(data, PACKAGE)
    assert [problem.split(" (")[0] for problem in raised.value.problems] == ["Entry 1", "Entry 2"]


def test_broken_yaml_names_the_line(tmp_path: Path, declarations) -> None:
    path = tmp_path / "upstreams.yaml"
    path.write_text("version: 1\nupstreams:\n  - key: finance/revenue\n   owner: finance\n")
    with pytest.raises(declarations.UpstreamDeclarationError) as raised:
        declarations.load(PACKAGE, path)
    assert raised.value.problems == [
        "It is not valid YAML at line 4 (expected <block end>, but found '<block mapping start>')."
        " Fix the syntax there"
    ]


@pytest.mark.parametrize(
    ("declared", "recorded", "problems"),
    [
        ({"amount": "double"}, {"amount": "double", "id": "int64"}, []),
        ({"amount": None}, {"amount": "int32"}, []),
        ({"name": "string"}, {"name": "large_string"}, []),
        ({"id": "int64"}, {"id": "int32"}, []),
        ({"id": "int32"}, {"id": "int64"}, ["column id is int64, not int32"]),
        ({"amount": "double"}, {"id": "int64"}, ["column amount is missing"]),
        ({"amount": "double"}, {"amount": "string"}, ["column amount is string, not double"]),
    ],
)
def test_schema_problems_name_missing_and_changed_columns(
    declarations, declared, recorded, problems
) -> None:
    columns = [{"name": name} | ({"type": kind} if kind else {}) for name, kind in declared.items()]
    (upstream,) = declarations.parse(document(entry(columns=columns)), PACKAGE)
    assert upstream.schema_problems(recorded) == problems


def test_fleet_tools_read_declarations_as_json_with_pyyaml_only(repo: Path) -> None:
    """The reader runs as a script on any repo's file, without installing that repo."""
    script = repo / DECLARATIONS_MODULE
    shown = subprocess.run(
        [sys.executable, script, repo / "src" / PACKAGE / "defs" / "upstreams.yaml"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(shown.stdout)[0] == {
        "key": "finance/revenue",
        "owner": "finance",
        "description": "",
        "freshness": {"fail_after_seconds": 86400, "warn_after_seconds": None},
        "columns": [],
    }


def test_the_script_names_the_problems_and_fails(tmp_path: Path, repo: Path) -> None:
    bad = tmp_path / "src" / PACKAGE / "defs" / "upstreams.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("upstreams:\n  - key: sales/orders\n    owner: sales\n")
    script = repo / DECLARATIONS_MODULE
    shown = subprocess.run(
        [sys.executable, script, bad], check=False, capture_output=True, text=True
    )
    assert shown.returncode == 1
    assert "sales/orders belongs to this team. List only other teams' assets." in shown.stderr


def test_the_hook_and_the_platform_accept_the_same_asset_keys(pre_gen: ModuleType) -> None:
    """The hook cannot import the platform package, so the pattern has two copies: kept equal."""
    from dagster_team_platform import declarations

    assert pre_gen.ASSET_KEY.pattern == declarations.KEY.pattern

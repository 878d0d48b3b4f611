"""Each fleet check alone, on repositories described in memory (the real fleet: test_fleet.py)."""

import dataclasses
from pathlib import Path

import pytest
from dagster_team_platform.settings import StorageSettings

from fleet import checks
from fleet.asset_keys import AssetsUnknown, asset_keys
from fleet.facts import STORAGE_CONSTANTS, Repo, read_repo, storage_constants
from fleet.sources import SourceError, read_manifest


def repo(name: str, assets=(), upstreams=(), queue="", location="", policies=()) -> Repo:
    """A team repository's facts: its assets by key, its upstreams as (key, owner, seconds)."""
    locations = [{"location_name": location or name} | ({"agent_queue": queue} if queue else {})]
    return Repo(
        name=name, path=Path(name), package=name, answers={}, locations=locations,
        template_commit="c0ffee", storage={}, assets=dict(assets),
        upstreams=[{"key": k, "owner": o, "fail_after_seconds": s} for k, o, s in upstreams],
        alert_policies=[{"name": policy} for policy in policies],
    )  # fmt: skip


def pairs(findings) -> set[tuple[str, str]]:
    return {(finding.repo, finding.check) for finding in findings}


def test_location_names_quote_dagster_cloud_clis_model() -> None:
    found = checks.location_names([repo("a"), repo("b", location="a"), repo("c")])
    assert pairs(found) == {("a", "location-name"), ("b", "location-name")}
    assert "duplicate location name" in found[0].message
    assert checks.location_names([repo("a"), repo("b")]) == []


def test_agent_queues() -> None:
    assert pairs(checks.agent_queues([repo("a", queue="q"), repo("b", queue="q")])) == {
        ("a", "agent-queue"), ("b", "agent-queue"),
    }  # fmt: skip
    assert checks.agent_queues([repo("a", queue="a"), repo("b")]) == []


def test_storage_compares_every_constant() -> None:
    team = repo("a")
    team.storage = storage_constants('BUCKETS = {"prod": "x"}\nPREFIX = "p"\n')
    found = checks.storage([team], lambda _: {"BUCKETS": {"prod": "y"}, "PREFIX": "p"}, lambda _: 0)
    assert [f.message.split(",")[0] for f in found] == ["storage.py sets BUCKETS = {'prod': 'x'}"]
    assert found[0].message.endswith(
        "so the file was edited here: undo the edit (`cruft diff` shows it)."
    )
    pending = checks.storage([team], lambda _: {"BUCKETS": {"prod": "y"}}, lambda _: 1)
    assert pending[0].message.endswith(
        "Merge its template-update pull request, which brings the org's value."
    )


def test_storage_compares_the_retention_too() -> None:
    team = repo("a")
    team.storage = storage_constants('PREFIX = "p"\nHISTORY_DAYS = 7\n')
    found = checks.storage([team], lambda _: {"PREFIX": "p", "HISTORY_DAYS": 30}, lambda _: 0)
    assert [f.message.split(",")[0] for f in found] == ["storage.py sets HISTORY_DAYS = 7"]


def test_every_setting_the_platform_takes_is_a_checked_constant() -> None:
    """What storage.py passes to StorageSettings, the fleet compares: nothing slips past it."""
    settings = {field.name.upper() for field in dataclasses.fields(StorageSettings)}
    assert settings - {"TEAM"} == set(STORAGE_CONSTANTS)  # the team's own name differs by design


def test_template_version() -> None:
    behind = lambda team: {"a": 2}.get(team.name)
    assert "2 template commits behind" in checks.template_version([repo("a")], behind)[0].message
    assert checks.template_version([repo("a")], lambda _: 0) == []
    assert "does not have" in checks.template_version([repo("a")], lambda _: None)[0].message


def test_upstreams_need_exactly_one_other_definer_with_the_declared_owner() -> None:
    fleet = [
        repo("finance", assets={"finance/revenue": None}),
        repo("sales", upstreams=[("finance/revenue", "finance", None)]),
        repo("hr", upstreams=[("crm/accounts", "crm", None), ("finance/revenue", "fin", None)]),
    ]
    found = checks.upstreams(fleet)
    assert pairs(found) == {("hr", "upstream")}
    assert ["no other repository" in f.message for f in found] == [True, False]
    assert "owner 'fin', but finance (location finance) defines it" in found[1].message


def test_a_key_collision_is_blamed_on_the_repo_outside_its_prefix() -> None:
    fleet = [repo("a", assets={"a/x": None}), repo("b", assets={"a/x": None, "b/y": None})]
    assert [str(f) for f in checks.key_collisions(fleet)] == [
        "b: key-collision: defines asset a/x, outside its own prefix, and a defines it too. Keep "
        'every key under this team\'s prefix (key_prefix="b").'
    ]
    strays = [repo("a", assets={"z/x": None}), repo("b", assets={"z/x": None})]
    assert pairs(checks.key_collisions(strays)) == {("a", "key-collision"), ("b", "key-collision")}


def test_an_upstream_of_a_repo_whose_definitions_do_not_load_is_not_called_dangling() -> None:
    broken = dataclasses.replace(repo("billing"), assets=None)
    reader = repo("sales", upstreams=[("billing/orders", "billing", None)])
    assert checks.upstreams([broken, reader]) == []
    assert pairs(checks.upstreams([repo("billing"), reader])) == {("sales", "upstream")}


def test_cycles_and_deploy_order() -> None:
    owner = repo("a", assets={"a/x": None})
    reader = repo("b", assets={"b/y": None}, upstreams=[("a/x", "a", None)])
    assert checks.cycles([owner, reader]) == []
    assert checks.deploy_order([reader, owner]) == ["a", "b"]
    third = repo("c", upstreams=[("b/y", "b", None)])
    assert checks.downstream([owner, reader, third]) == {"a": ["b", "c"], "b": ["c"], "c": []}
    owner.upstreams = [{"key": "b/y", "owner": "b", "fail_after_seconds": None}]
    assert pairs(checks.cycles([owner, reader])) == {("a", "cycle"), ("b", "cycle")}
    assert checks.deploy_order([owner, reader]) is None


def test_freshness_the_owner_overrides() -> None:
    owner = repo("fin", assets={"fin/rev": 93600})
    late = repo("sales", upstreams=[("fin/rev", "fin", 86400)])
    agreed = repo("support", upstreams=[("fin/rev", "fin", 93600)])
    found = checks.freshness([owner, late, agreed])
    assert [str(f) for f in found] == [
        "sales: freshness: expects fin/rev at least every 1 day, but fin's own policy (every "
        "26 hours) overrides it in Dagster+. Agree one window with fin and declare that."
    ]


def test_alert_policy_names_and_the_merged_document() -> None:
    fleet = [repo("a", policies=["a-x", "shared"]), repo("b", policies=["shared"])]
    assert pairs(checks.alert_policy_names(fleet)) == {("a", "alert-policy"), ("b", "alert-policy")}
    assert checks.merged_alert_policies(fleet) == {
        "alert_policies": [{"name": "a-x"}, {"name": "shared"}, {"name": "shared"}]
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("repos = [", "is not valid TOML"),
        ('repo = ["x"]', "must have exactly one key, `repos`"),
        ("repos = [1]", "must have exactly one key, `repos`"),
    ],
)
def test_manifest_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    manifest = tmp_path / "fleet.toml"
    manifest.write_text(text)
    with pytest.raises(SourceError, match=message):
        read_manifest(manifest)


def test_manifest_paths_are_relative_to_it_and_urls_named_by_repo(tmp_path: Path) -> None:
    manifest = tmp_path / "fleet.toml"
    manifest.write_text('repos = ["teams/sales", "https://github.com/o/finance.git"]')
    assert [(s.name, s.location) for s in read_manifest(manifest)] == [
        ("sales", str(tmp_path / "teams/sales")),
        ("finance", "https://github.com/o/finance.git"),
    ]


def test_loading_asset_keys_without_uv_names_what_to_install(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "uv.lock").touch()
    monkeypatch.setenv("PATH", str(tmp_path))  # no uv there
    with pytest.raises(AssetsUnknown, match="uv is not on PATH, and the audit loads each"):
        asset_keys("finance", tmp_path, "finance", tmp_path / "cache")


def test_a_repo_without_a_lock_is_not_loaded(tmp_path: Path) -> None:
    with pytest.raises(
        AssetsUnknown, match="has no uv.lock.*Run `uv lock` in it and commit uv.lock"
    ):
        asset_keys("finance", tmp_path, "finance", tmp_path / "cache")


def test_an_unreadable_file_is_named_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "dagster_cloud.yaml").write_text("locations: []\n")
    (tmp_path / "pyproject.toml").write_text('[tool.dg.project]\nroot_module = "finance"\n')
    (tmp_path / ".cruft.json").write_text('{"commit": "c0ffee", "context": {"cookiecutter": {}}}')
    (tmp_path / "src/finance").mkdir(parents=True)
    (tmp_path / "src/finance/storage.py").write_bytes(b"PREFIX = '\xff'\n")
    with pytest.raises(SourceError, match=r"finance cannot be read \(UnicodeDecodeError: "):
        read_repo("finance", tmp_path)


def test_a_registered_team_without_a_current_stack_is_named(tmp_path: Path) -> None:
    """Once the platform team keeps its stacks in the template's infra/, each team needs one."""
    teams = [dataclasses.replace(repo(name), answers={"team_slug": name}) for name in "abc"]
    stacks = tmp_path / "infra"
    stacks.mkdir()
    (stacks / "team-a.json").write_text("current\n")
    (stacks / "team-b.json").write_text("before the team moved to ECR\n")
    found = checks.stacks(teams, stacks, lambda team: "current\n")
    assert [str(finding) for finding in found] == [
        "b: infra: infra/team-b.json is not what the org settings and the team's answers give "
        "now, so its identities may not match its deployments. The platform team runs `uvx nox "
        "-s fleet -- infra --out infra`, commits the stacks after review and deploys "
        "team-b.json.",
        "c: infra: has no stack in infra/. The platform team runs `uvx nox -s fleet -- infra "
        "--out infra`, commits the stacks after review and deploys team-c.json.",
    ]

"""The platform package's upstream monitoring, in-process: a team's declarations become stubs,
checks and sensors named for it, and the freshness sensor runs a check only when its result would
change. Also its offline check of a team's alert policies.
"""

import re
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
from dagster_team_platform import alert_policies
from dagster_team_platform.declarations import Freshness, Upstream, load
from dagster_team_platform.upstreams import (
    SENSOR_NAME_TAG,
    Reader,
    freshness_check,
    freshness_sensor,
    lateness,
    upstream_definitions,
)

PACKAGE = "sales_analytics"
READER = Reader(PACKAGE)
FRESHNESS_CHECK, CONTRACT_CHECK = READER.freshness_check, READER.contract_check
DECLARATIONS = """\
version: 1
upstreams:
  - key: finance/revenue
    owner: finance
    freshness: {fail_after: {count: 26, period: hour}}
    columns: [{name: amount, type: float64}]
  - key: marketing_ops/campaign-spend
    owner: marketing-ops
"""


@pytest.fixture
def declared(tmp_path: Path) -> tuple[dg.Definitions, list[Upstream]]:
    path = tmp_path / "src" / PACKAGE / "defs" / "upstreams.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(DECLARATIONS)
    return upstream_definitions(PACKAGE, path), load(PACKAGE, path)


def test_every_upstream_is_a_stub_labelled_with_its_owner(declared) -> None:
    definitions, upstreams = declared
    graph = definitions.resolve_asset_graph()
    for upstream in upstreams:
        node = graph.get(dg.AssetKey(upstream.path))
        assert not node.is_materializable, upstream.key
        assert node.owners == [f"team:{upstream.owner}"], upstream.key
        assert node.group_name == upstream.owner.replace("-", "_"), upstream.key
        assert f"`sales-analytics` reads it (declared in `src/{PACKAGE}/" in node.description


def test_every_upstream_gets_the_checks_its_declaration_asks_for(declared) -> None:
    definitions, _ = declared
    checks = {
        (c.asset_key.to_user_string(), c.name)
        for c in definitions.resolve_asset_graph().asset_check_keys
    }
    assert checks == {("finance/revenue", FRESHNESS_CHECK), ("finance/revenue", CONTRACT_CHECK)}


def test_the_upstream_sensors_are_named_for_the_team_and_run_by_default(declared) -> None:
    definitions, _ = declared
    sensors = {sensor.name: sensor.default_status for sensor in definitions.sensors}
    assert sensors == {
        f"{PACKAGE}_upstream_{kind}": dg.DefaultSensorStatus.RUNNING
        for kind in ("failures", "freshness", "contracts")
    }


def test_no_declarations_define_nothing(tmp_path: Path) -> None:
    assert upstream_definitions(PACKAGE, tmp_path / "upstreams.yaml") == dg.Definitions()


def test_lateness_follows_the_declared_windows() -> None:
    hour = 3600
    upstream = Upstream(
        "other/orders", "other", freshness=Freshness(timedelta(hours=26), timedelta(hours=12))
    )
    assert lateness(upstream, None, 0) == dg.AssetCheckSeverity.ERROR  # never materialized
    assert lateness(upstream, 0, 12 * hour) is None
    assert lateness(upstream, 0, 13 * hour) == dg.AssetCheckSeverity.WARN
    assert lateness(upstream, 0, 27 * hour) == dg.AssetCheckSeverity.ERROR


def test_the_freshness_sensor_runs_the_check_only_when_its_result_would_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upstream = Upstream("other/orders", "other", freshness=Freshness(timedelta(hours=1)))
    check = freshness_check(READER, upstream)
    sensor = freshness_sensor(READER, [upstream], [check])
    key = dg.AssetCheckKey(dg.AssetKey(upstream.path), FRESHNESS_CHECK)
    with dg.instance_for_test() as instance:

        def requested() -> list[dg.AssetCheckKey]:
            result = sensor(dg.build_sensor_context(instance=instance))
            return [checked for run in result.run_requests for checked in run.asset_check_keys]

        def run_check() -> dg.AssetCheckResult:
            """Evaluate the check and record its result, as the run the sensor requests does."""
            result = check(dg.build_asset_check_context(instance=instance))
            evaluation = dg.AssetCheckEvaluation(
                key.asset_key, FRESHNESS_CHECK, passed=result.passed, severity=result.severity
            )
            instance.report_runless_asset_event(evaluation)
            return result

        assert requested() == [key]  # never checked
        assert "other/orders has never been materialized" in run_check().description
        assert requested() == []
        instance.report_runless_asset_event(dg.AssetMaterialization(upstream.path))
        assert requested() == [key]  # the owner updated it
        assert run_check().passed
        assert requested() == []
        two_hours_later = time.time() + 7200
        monkeypatch.setattr(
            "dagster_team_platform.upstreams.time", SimpleNamespace(time=lambda: two_hours_later)
        )
        assert requested() == [key]  # past fail_after
        late = run_check()
        assert (late.passed, late.severity) == (False, dg.AssetCheckSeverity.ERROR)
        assert re.fullmatch(
            r"other/orders was last updated 7\d{3} s ago\. Ask other\.", late.description
        )
        assert requested() == []

        going = dg.DagsterRun(
            "__ASSET_JOB",
            status=dg.DagsterRunStatus.STARTED,
            tags={SENSOR_NAME_TAG: sensor.name},
        )
        instance.add_run(going)
        instance.report_runless_asset_event(dg.AssetMaterialization(upstream.path))
        assert isinstance(sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)


POLICY = {
    "name": "sales-analytics-upstreams",
    "enabled": True,
    "event_types": ["ASSET_MATERIALIZATION_FAILURE", "ASSET_FRESHNESS_FAIL"],
    "alert_targets": [{"asset_key_target": {"asset_key": ["finance", "revenue"]}}],
    "notification_service": {"email": {"email_addresses": ["data@example.com"]}},
}
OWN = POLICY | {
    "name": "sales-analytics-asset-failures",
    "alert_targets": [{"asset_group_target": {"asset_group": PACKAGE}}],
}
KEYS = ["finance/revenue", "marketing_ops/campaign-spend"]


def targets(policy: dict) -> list[list[str]]:
    return [target["asset_key_target"]["asset_key"] for target in policy["alert_targets"]]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({}, None),
        ({"colour": "red"}, "sales-analytics-upstreams: unknown field colour"),
        ({"event_types": ["ASSET_LATE"]}, "sales-analytics-upstreams: unknown event type ASSET_LATE"),
        ({"alert_targets": [{"asset_target": {}}]}, "sales-analytics-upstreams: unknown target asset_target"),
        ({"notification_service": {"pager": {}}}, "sales-analytics-upstreams: notification service pager"),
        ({"notification_service": None}, "sales-analytics-upstreams: no notification_service says whom"),
        ({"name": "upstreams"}, "upstreams: start the name with sales-analytics- (names are org-wide)"),
    ],
)  # fmt: skip
def test_alert_policies_are_checked_against_dagster_plus_models(change, problem) -> None:
    found = alert_policies.problems([POLICY | change], "sales-analytics")
    if problem is None:
        assert found == []
    else:
        assert [p for p in found if p.startswith(problem)], found


def test_two_policies_with_one_name_are_refused() -> None:
    found = alert_policies.problems([POLICY, POLICY], "sales-analytics")
    assert found == ["sales-analytics-upstreams: two policies have this name"]


def test_every_declared_upstream_gets_an_alert_without_editing_the_policies() -> None:
    synced = alert_policies.with_upstreams([OWN], "sales-analytics", KEYS)
    assert synced[0] == OWN
    assert synced[1]["name"] == "sales-analytics-upstreams"
    assert targets(synced[1]) == [["finance", "revenue"], ["marketing_ops", "campaign-spend"]]
    assert synced[1]["notification_service"] == OWN["notification_service"]
    assert alert_policies.problems(synced, "sales-analytics") == []
    assert alert_policies.with_upstreams([OWN], "sales-analytics", []) == [OWN]


def test_the_upstreams_policy_mails_this_team_not_the_upstreams_owners() -> None:
    owners = {"email_owners": {"default_email_addresses": ["sales@example.com"]}}
    synced = alert_policies.with_upstreams(
        [OWN | {"notification_service": owners}], "sales-analytics", KEYS
    )
    assert synced[1]["notification_service"] == {
        "email": {"email_addresses": ["sales@example.com"]}
    }
    assert alert_policies.problems(synced, "sales-analytics") == []
    nobody = {"email_owners": {"default_email_addresses": []}}  # as generated: stays as it is
    synced = alert_policies.with_upstreams(
        [OWN | {"notification_service": nobody}], "sales-analytics", KEYS
    )
    assert synced[1]["notification_service"] == nobody


def test_a_written_upstreams_policy_keeps_its_settings_and_gains_the_declared_targets() -> None:
    """Repositories generated before the derivation wrote the policy out: it stays theirs."""
    synced = alert_policies.with_upstreams([OWN, POLICY], "sales-analytics", KEYS)
    assert [policy["name"] for policy in synced] == [OWN["name"], POLICY["name"]]
    assert synced[1] == POLICY | {"alert_targets": synced[1]["alert_targets"]}
    assert targets(synced[1]) == [["finance", "revenue"], ["marketing_ops", "campaign-spend"]]
    assert POLICY["alert_targets"] == [{"asset_key_target": {"asset_key": ["finance", "revenue"]}}]


def test_upstreams_with_nobody_to_notify_say_how_to_name_them() -> None:
    synced = alert_policies.with_upstreams([], "sales-analytics", KEYS)
    assert alert_policies.problems(synced, "sales-analytics") == [
        "sales-analytics-upstreams: no notification_service says whom to alert. Add one to the "
        "policy in alert_policies.yaml; for the upstreams' policy, a policy of that name with a "
        "notification_service is enough (its targets come from upstreams.yaml)."
    ]


def test_a_read_of_an_undeclared_upstream_names_the_lines_to_declare(tmp_path: Path) -> None:
    declarations = tmp_path / "upstreams.yaml"
    declarations.write_text(DECLARATIONS)

    @dg.asset(key_prefix=PACKAGE, ins={"orders": dg.AssetIn(key=["finance", "orders"])})
    def revenue_by_order(orders: object) -> int:
        return 1

    @dg.asset(
        key_prefix=PACKAGE, deps=[dg.AssetKey(["finance", "revenue"]), dg.AssetKey([PACKAGE, "x"])]
    )
    def declared_read() -> int:  # finance/revenue is declared; own keys need no declaration
        return 1

    own = dg.Definitions(assets=[revenue_by_order, declared_read])
    with pytest.raises(dg.DagsterInvalidDefinitionError) as refused:
        upstream_definitions(PACKAGE, declarations, own)
    assert str(refused.value) == (
        "Assets read other teams' assets that defs/upstreams.yaml does not declare:\n"
        "  sales_analytics/revenue_by_order reads finance/orders\n"
        "Declare each under `upstreams:` in defs/upstreams.yaml (the owner is the code location "
        "that publishes it; by the naming rule, its key's first part):\n"
        "  - key: finance/orders\n"
        "    owner: finance"
    )
    assert upstream_definitions(PACKAGE, declarations, dg.Definitions(assets=[declared_read]))
    # A repo from before upstreams.yaml gives the key as an asset spec of its own: still loads.
    older = dg.Definitions(assets=[revenue_by_order, dg.AssetSpec(["finance", "orders"])])
    assert upstream_definitions(PACKAGE, declarations, older)

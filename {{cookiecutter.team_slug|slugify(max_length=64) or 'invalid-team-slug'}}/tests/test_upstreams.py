{%- import "team.jinja" as team with context -%}
"""defs/upstreams.yaml is valid, and each upstream it declares is stubbed, checked and watched.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

A failure here quotes the problem in the declarations and how to fix it.
"""

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import dagster as dg
import pytest
from dagster_team_platform.declarations import Freshness, Upstream, load
from dagster_team_platform.upstreams import (
    SENSOR_NAME_TAG,
    Reader,
    freshness_check,
    freshness_sensor,
    lateness,
)

from {{ team.package }}.definitions import UPSTREAMS, defs

PACKAGE = "{{ team.package }}"
READER = Reader(PACKAGE)
FRESHNESS_CHECK, CONTRACT_CHECK = READER.freshness_check, READER.contract_check


def test_the_declarations_are_valid() -> None:
    load(PACKAGE, UPSTREAMS)


def test_every_upstream_is_a_stub_labelled_with_its_owner() -> None:
    graph = defs().resolve_asset_graph()
    for upstream in load(PACKAGE, UPSTREAMS):
        node = graph.get(dg.AssetKey(upstream.path))
        assert not node.is_materializable, upstream.key
        assert node.owners == [f"team:{upstream.owner}"], upstream.key
        assert node.group_name == upstream.owner.replace("-", "_"), upstream.key


def test_every_upstream_gets_the_checks_its_declaration_asks_for() -> None:
    checks = defs().resolve_asset_graph().asset_check_keys
    for upstream in load(PACKAGE, UPSTREAMS):
        key = dg.AssetKey(upstream.path)
        expected = {FRESHNESS_CHECK} if upstream.freshness else set()
        expected |= {CONTRACT_CHECK} if upstream.columns else set()
        assert {check.name for check in checks if check.asset_key == key} == expected, upstream.key


def test_the_upstream_sensors_run_by_default() -> None:
    sensors = {sensor.name: sensor.default_status for sensor in defs().sensors}
    upstreams = load(PACKAGE, UPSTREAMS)
    expected = {f"{PACKAGE}_upstream_failures"} if upstreams else set()
    expected |= {f"{PACKAGE}_upstream_freshness"} if any(u.freshness for u in upstreams) else set()
    expected |= {f"{PACKAGE}_upstream_contracts"} if any(u.columns for u in upstreams) else set()
    assert {name for name in sensors if name.startswith(f"{PACKAGE}_upstream_")} == expected
    assert {sensors[name] for name in expected} <= {dg.DefaultSensorStatus.RUNNING}


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

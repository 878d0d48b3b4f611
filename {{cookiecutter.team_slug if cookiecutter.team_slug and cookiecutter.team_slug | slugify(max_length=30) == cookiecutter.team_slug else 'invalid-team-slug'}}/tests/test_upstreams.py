{%- import "team.jinja" as team with context -%}
"""defs/upstreams.yaml is valid, and each upstream it declares is stubbed, checked and watched.

Template-owned. A failure here quotes the problem in the declarations and how to fix it.
"""

import dagster as dg

from {{ team.package }}.definitions import defs
from {{ team.package }}.upstream_declarations import load
from {{ team.package }}.upstreams import CONTRACT_CHECK, FRESHNESS_CHECK, PACKAGE


def test_the_declarations_are_valid() -> None:
    load(PACKAGE)


def test_every_upstream_is_a_stub_labelled_with_its_owner() -> None:
    graph = defs().resolve_asset_graph()
    for upstream in load(PACKAGE):
        node = graph.get(dg.AssetKey(upstream.path))
        assert not node.is_materializable, upstream.key
        assert node.owners == [f"team:{upstream.owner}"], upstream.key
        assert node.group_name == upstream.owner.replace("-", "_"), upstream.key


def test_every_upstream_gets_the_checks_its_declaration_asks_for() -> None:
    checks = defs().resolve_asset_graph().asset_check_keys
    for upstream in load(PACKAGE):
        key = dg.AssetKey(upstream.path)
        expected = {FRESHNESS_CHECK} if upstream.freshness else set()
        expected |= {CONTRACT_CHECK} if upstream.columns else set()
        assert {check.name for check in checks if check.asset_key == key} == expected, upstream.key


def test_the_upstream_sensors_run_by_default() -> None:
    sensors = {sensor.name: sensor.default_status for sensor in defs().sensors}
    upstreams = load(PACKAGE)
    expected = {f"{PACKAGE}_upstream_failures"} if upstreams else set()
    expected |= {f"{PACKAGE}_upstream_freshness"} if any(u.freshness for u in upstreams) else set()
    expected |= {f"{PACKAGE}_upstream_contracts"} if any(u.columns for u in upstreams) else set()
    assert {name for name in sensors if name.startswith(f"{PACKAGE}_upstream_")} == expected
    assert {sensors[name] for name in expected} <= {dg.DefaultSensorStatus.RUNNING}

{%- import "team.jinja" as team with context -%}
"""alert_policies.yaml is a document `dagster-cloud deployment alert-policies sync` accepts.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

Checked offline against the event types and notification services the installed Dagster+
client (dagster-dg-cli's API models) knows; Dagster+ itself cannot be reached from here.
"""

from pathlib import Path

import yaml
from dagster_rest_resources.__generated__.enums import AlertPolicyEventType
from dagster_rest_resources.schemas.alert_policy import DgApiNotificationService
from dagster_team_platform.declarations import load
from pydantic import TypeAdapter

from {{ team.package }}.definitions import UPSTREAMS

POLICIES = Path(__file__).resolve().parents[1] / "alert_policies.yaml"
LOCATION = "{{ team.location }}"
FIELDS = {
    "name",
    "description",
    "enabled",
    "tags",
    "event_types",
    "alert_targets",
    "notification_service",
    "policy_options",
}
TARGETS = {"asset_key_target", "asset_group_target"}


def policies() -> list[dict]:
    return yaml.safe_load(POLICIES.read_text())["alert_policies"]


def test_fields_and_event_types_are_known_to_dagster_plus() -> None:
    known = {event.value for event in AlertPolicyEventType}
    for policy in policies():
        assert set(policy) <= FIELDS, f"{policy['name']}: unknown fields {set(policy) - FIELDS}"
        unknown = set(policy["event_types"]) - known
        assert not unknown, (
            f"{policy['name']}: unknown event types {unknown}; known: {sorted(known)}"
        )
        for target in policy.get("alert_targets", []):
            assert set(target) <= TARGETS, f"{policy['name']}: unknown target {target}"


def test_notification_services_are_known_to_dagster_plus() -> None:
    adapter = TypeAdapter(DgApiNotificationService)
    for policy in policies():
        ((kind, settings),) = policy["notification_service"].items()
        adapter.validate_python({"kind": kind, **settings})


def test_names_are_unique_and_carry_the_location() -> None:
    """The platform team merges every team's file into one document: names must not collide."""
    names = [policy["name"] for policy in policies()]
    assert len(names) == len(set(names))
    assert [name for name in names if not name.startswith(f"{LOCATION}-")] == []


def test_every_declared_upstream_is_alerted_on() -> None:
    targeted = {
        "/".join(target["asset_key_target"]["asset_key"])
        for policy in policies()
        for target in policy.get("alert_targets", [])
        if "asset_key_target" in target
    }
    missing = [u.key for u in load("{{ team.package }}", UPSTREAMS) if u.key not in targeted]
    assert missing == [], (
        f"alert_policies.yaml alerts on no policy for {missing}, declared in upstreams.yaml. Add "
        f"an asset_key_target for each to the {LOCATION}-upstreams policy"
    )

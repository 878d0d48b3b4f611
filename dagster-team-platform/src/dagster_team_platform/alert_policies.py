"""Problems of a team's alert_policies.yaml, the document `dagster-cloud deployment alert-policies
sync` accepts, checked offline against the event types and notification services the installed
Dagster+ client (dagster-dg-cli's API models) knows; Dagster+ itself is not asked.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
"""

from collections.abc import Iterable

from pydantic import TypeAdapter, ValidationError

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


def problems(policies: list[dict], location: str, upstream_keys: Iterable[str]) -> list[str]:
    """One line per problem: unknown fields, event types, targets or notification services,
    names the merged org document would clash on, declared upstreams no policy alerts on."""
    # dagster-dg-cli's models: a development dependency, so imported only when checking.
    from dagster_rest_resources.__generated__.enums import AlertPolicyEventType
    from dagster_rest_resources.schemas.alert_policy import DgApiNotificationService

    known = {event.value for event in AlertPolicyEventType}
    services = TypeAdapter(DgApiNotificationService)
    found, targeted = [], set()
    for policy in policies:
        name = policy.get("name")
        found += [f"{name}: unknown field {field}" for field in sorted(set(policy) - FIELDS)]
        for event in sorted(set(policy.get("event_types", [])) - known):
            found.append(f"{name}: unknown event type {event}; known: {sorted(known)}")
        for target in policy.get("alert_targets", []):
            found += [f"{name}: unknown target {kind}" for kind in sorted(set(target) - TARGETS)]
            if "asset_key_target" in target:
                targeted.add("/".join(target["asset_key_target"]["asset_key"]))
        ((kind, settings),) = policy["notification_service"].items()
        try:
            services.validate_python({"kind": kind, **settings})
        except ValidationError as error:
            found.append(f"{name}: notification service {kind}: {error.errors()[0]['msg']}")
        if not str(name).startswith(f"{location}-"):
            found.append(f"{name}: start the name with {location}- (names are org-wide)")
    names = [policy.get("name") for policy in policies]
    found += [
        f"{name}: two policies have this name" for name in set(names) if names.count(name) > 1
    ]
    for key in upstream_keys:
        if key not in targeted:
            found.append(
                f"no policy alerts on {key}, declared in upstreams.yaml: add an "
                f"asset_key_target for it to the {location}-upstreams policy"
            )
    return found

"""A team's Dagster+ alert policies: its alert_policies.yaml plus the alerts its upstreams.yaml
implies, and the offline check of them.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

The document is the one `dagster-cloud deployment alert-policies sync` accepts. Every declared
upstream is alerted on by the `<location>-upstreams` policy, derived here so that declaring an
upstream is an edit to upstreams.yaml alone. Nothing here imports Dagster at module level: the
fleet merges every team's policies with PyYAML alone.
"""

from collections.abc import Iterable

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
# An upstream failed to materialize, failed a check (this team's or its owner's), or went stale.
UPSTREAM_EVENTS = [
    "ASSET_MATERIALIZATION_FAILURE",
    "ASSET_CHECK_SEVERITY_ERROR",
    "ASSET_FRESHNESS_FAIL",
]


def with_upstreams(policies: list[dict], location: str, upstream_keys: Iterable[str]) -> list[dict]:
    """The policies Dagster+ gets: the file's, with `<location>-upstreams` alerting on every
    declared upstream. A policy of that name in the file keeps its events and notifications and
    gains the targets it lacks; otherwise the policy is made to notify as the file's first policy
    does, addressed to this team (`this_team`). The file itself is never rewritten."""
    name = f"{location}-upstreams"
    targets = [{"asset_key_target": {"asset_key": key.split("/")}} for key in upstream_keys]
    if not targets:
        return policies
    existing = next((policy for policy in policies if policy.get("name") == name), None)
    if existing is None:
        notify = next(
            (
                this_team(p["notification_service"])
                for p in policies
                if p.get("notification_service")
            ),
            None,
        )
        derived = {
            "name": name,
            "description": f"An asset {location} reads from another team failed, is late or "
            "broke its contract (declared in upstreams.yaml).",
            "enabled": True,
            "event_types": UPSTREAM_EVENTS,
            "alert_targets": targets,
        }
        return [*policies, derived | ({"notification_service": notify} if notify else {})]
    present = existing.get("alert_targets") or []
    missing = [target for target in targets if target not in present]
    return [
        policy | {"alert_targets": present + missing} if policy is existing else policy
        for policy in policies
    ]


def this_team(service: dict) -> dict:
    """The notification service that tells this team of its upstreams. `email_owners` mails an
    alerting asset's owners, who for an upstream are the other team: this team's default
    addresses get plain email instead. With none listed it stays as it is."""
    addresses = (service.get("email_owners") or {}).get("default_email_addresses")
    return {"email": {"email_addresses": addresses}} if addresses else service


def problems(policies: list[dict], location: str) -> list[str]:
    """One line per problem: unknown fields, event types, targets or notification services, and
    names the merged org document would clash on. Checked against the event types and services
    the installed Dagster+ client (dagster-dg-cli's API models) knows; Dagster+ is not asked."""
    # dagster-dg-cli's models: a development dependency, so imported only when checking.
    from dagster_rest_resources.__generated__.enums import AlertPolicyEventType
    from dagster_rest_resources.schemas.alert_policy import DgApiNotificationService
    from pydantic import TypeAdapter, ValidationError

    known = {event.value for event in AlertPolicyEventType}
    services = TypeAdapter(DgApiNotificationService)
    found = []
    for policy in policies:
        name = policy.get("name")
        found += [f"{name}: unknown field {field}" for field in sorted(set(policy) - FIELDS)]
        for event in sorted(set(policy.get("event_types", [])) - known):
            found.append(f"{name}: unknown event type {event}; known: {sorted(known)}")
        for target in policy.get("alert_targets", []):
            found += [f"{name}: unknown target {kind}" for kind in sorted(set(target) - TARGETS)]
        if not str(name).startswith(f"{location}-"):
            found.append(f"{name}: start the name with {location}- (names are org-wide)")
        if not policy.get("notification_service"):
            found.append(
                f"{name}: no notification_service says whom to alert. Add one to the policy in "
                "alert_policies.yaml; for the upstreams' policy, a policy of that name with a "
                "notification_service is enough (its targets come from upstreams.yaml)."
            )
            continue
        ((kind, settings),) = policy["notification_service"].items()
        try:
            services.validate_python({"kind": kind, **settings})
        except ValidationError as error:
            found.append(f"{name}: notification service {kind}: {error.errors()[0]['msg']}")
    names = [policy.get("name") for policy in policies]
    found += [
        f"{name}: two policies have this name" for name in set(names) if names.count(name) > 1
    ]
    return found

"""Everything across the fleet that refers to one team: what renaming or retiring it touches.

`python -m fleet references TEAM [MANIFEST | REPO ...]` reads the listed repositories' files
(their definitions are not loaded) and the template's org settings and stacks.
"""

from pathlib import Path

from fleet import checks, infra
from fleet.facts import Repo
from fleet.org import org_settings, team_settings


class UnknownTeam(Exception):
    """TEAM names no listed repository; the message lists those there are."""


def find(team: str, repos: list[Repo]) -> Repo:
    """The repository TEAM names: by repository, slug, package or code location name."""
    for repo in repos:
        if team in {repo.name, repo.answers.get("team_slug"), repo.package, *repo.location_names}:
            return repo
    listed = ", ".join(repo.name for repo in repos) or "none"
    raise UnknownTeam(f"No listed repository is team {team!r}. Listed: {listed}.")


def owned_keys(repo: Repo, key: str, owner: str) -> bool:
    return owner in repo.location_names or key.split("/")[0] == repo.package


def declared(repos: list[Repo]) -> dict[str, set[str]]:
    """Each repository with the repositories its upstreams.yaml names as owners (definitions
    are not loaded: the declarations say who reads whom)."""
    return {
        reader.name: {
            repo.name
            for upstream in reader.upstreams
            for repo in repos
            if repo is not reader and owned_keys(repo, upstream["key"], upstream["owner"])
        }
        for reader in repos
    }


def alert_targets(policy: dict) -> list[str]:
    """The asset keys an alert policy targets by key, as `team/asset`."""
    return [
        "/".join(target["asset_key_target"]["asset_key"])
        for target in policy.get("alert_targets") or []
        if "asset_key_target" in target
    ]


def references(team: str, repos: list[Repo], template: Path) -> list[str]:
    """One line per thing that refers to TEAM, grouped under headings, in the order a rename or
    retirement must deal with them: its readers first."""
    repo = find(team, repos)
    others = [other for other in repos if other is not repo]
    org, settings = org_settings(template), team_settings(repo.answers, template)
    lines = [
        f"{repo.name}: code location {', '.join(repo.location_names)}, package {repo.package}, "
        f"asset keys {repo.package}/…",
        "Read by (their upstreams.yaml):",
    ]
    readers = [
        f"  {other.name}: {upstream['key']}"
        for other in others
        for upstream in other.upstreams
        if owned_keys(repo, upstream["key"], upstream["owner"])
    ]
    lines += readers or ["  nobody"]
    lines.append("Alert policies:")
    lines += [f"  {repo.name}: {policy.get('name')} (its own)" for policy in repo.alert_policies]
    lines += [
        f"  {other.name}: {policy.get('name')} targets {key}"
        for other in others
        for policy in other.alert_policies
        for key in alert_targets(policy)
        if key.split("/")[0] == repo.package
    ]
    downstream = checks.downstream(repos, declared).get(repo.name, [])
    lines.append(f"Deploy before: {', '.join(downstream) or 'nothing (no repository reads it)'}")
    prefix = org["storage_prefix"]
    lines.append(
        f"Storage (kept {org['storage_history_days']} days after replacement, in .versions/):"
    )
    lines += [
        f"  s3://{bucket}/{prefix}/{repo.package}/ ({deployment})"
        for deployment, bucket in settings["buckets"].items()
    ]
    production = settings["buckets"][settings["prod_deployment"]]
    lines.append(f"  s3://{production}/{prefix}-branches/*/{repo.package}/ (branch deployments)")
    slug = settings["location"]
    identities = [infra.identity(slug, role) for role in infra.runtime_identities(settings)]
    if settings["registry_kind"] == "ecr":
        identities.append(infra.identity(slug, "image-push"))
    stack = infra.stack_file(template / infra.INFRA, slug)
    kept = f"{infra.INFRA}/{stack.name}" if stack.is_file() else f"not in {infra.INFRA}/"
    lines.append(
        f"Identities: {', '.join(identities)} (stack {infra.team_stack_name(org, slug)}, {kept})"
    )
    return lines

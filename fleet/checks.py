"""The org's invariants across repositories, one function each, every one returning findings."""

import graphlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from dagster_cloud_cli.config.models import load_dagster_cloud_yaml
from pydantic import ValidationError

from fleet.facts import Repo
from fleet.infra import stack_file


@dataclass(frozen=True)
class Finding:
    """One violation, against the repository that must change: `<repo>: <check>: <message>`."""

    repo: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.repo}: {self.check}: {self.message}"


def holders(repos: list[Repo], values: Callable[[Repo], list[str]]) -> dict[str, list[str]]:
    """Each value with the repositories that have it."""
    found = defaultdict(list)
    for repo in repos:
        for value in values(repo):
            found[value].append(repo.name)
    return found


def combined_locations_error(repos: list[Repo]) -> str:
    """dagster-cloud-cli's own verdict on every repository's locations in one file."""
    document = yaml.safe_dump({"locations": [loc for repo in repos for loc in repo.locations]})
    try:
        load_dagster_cloud_yaml(document)
    except ValidationError as error:
        return "; ".join(e["msg"] for e in error.errors())
    return ""


def location_names(repos: list[Repo]) -> list[Finding]:
    verdict = combined_locations_error(repos)
    return [
        Finding(
            name,
            "location-name",
            f"code location {location!r} is also deployed by {', '.join(n for n in names if n != name)}"
            f" (dagster-cloud-cli on the combined locations: {verdict or 'no error'}). The last "
            "deploy replaces the other's location in Dagster+: give each team its own name.",
        )
        for location, names in holders(repos, lambda r: r.location_names).items()
        if len(names) > 1
        for name in names
    ]


def agent_queues(repos: list[Repo]) -> list[Finding]:
    return [
        Finding(
            name,
            "agent-queue",
            f"agent queue {queue!r} is also used by {', '.join(n for n in names if n != name)}. "
            "Agent-queue isolation needs one queue per team: use the team slug.",
        )
        for queue, names in holders(repos, lambda r: r.agent_queues).items()
        if len(names) > 1
        for name in names
    ]


def storage(
    repos: list[Repo], expected: Callable[[Repo], dict], behind: Callable[[Repo], int | None]
) -> list[Finding]:
    """Storage settings that differ from what the template renders now, and why: a pending
    update for a repository behind the template, otherwise an edit made in the repository."""
    findings = []
    for repo in repos:
        for constant, value in expected(repo).items():
            if repo.storage.get(constant) == value:
                continue
            if behind(repo):
                fix = "Merge its template-update pull request, which brings the org's value."
            else:
                fix = (
                    "The repository is on the current template, so the file was edited here: "
                    "undo the edit (`cruft diff` shows it)."
                )
            findings.append(
                Finding(
                    repo.name,
                    "storage",
                    f"storage.py sets {constant} = {repo.storage.get(constant)!r}, the org's "
                    f"template gives {value!r}; teams read each other's assets only with "
                    f"identical settings. {fix}",
                )
            )
    return findings


def stacks(repos: list[Repo], folder: Path, expected: Callable[[Repo], str]) -> list[Finding]:
    """Each team's stack, committed where the platform team keeps them, is there and current."""
    findings = []
    for repo in repos:
        path = stack_file(folder, repo.answers.get("team_slug"))
        rerun = (
            f"The platform team runs `uvx nox -s fleet -- infra --out {folder.name}`, commits "
            f"the stacks after review and deploys {path.name}."
        )
        if not path.is_file():
            findings.append(Finding(repo.name, "infra", f"has no stack in {folder.name}/. {rerun}"))
        elif path.read_text() != expected(repo):
            findings.append(
                Finding(
                    repo.name,
                    "infra",
                    f"{folder.name}/{path.name} is not what the org settings and the team's "
                    f"answers give now, so its identities may not match its deployments. {rerun}",
                )
            )
    return findings


def template_version(repos: list[Repo], behind: Callable[[Repo], int | None]) -> list[Finding]:
    findings = []
    for repo in repos:
        if repo.template_commit is None:
            message = (
                "has no .cruft.json, so its template version is unknown. Link it: `cruft link`."
            )
        elif (count := behind(repo)) is None:
            message = (
                f"is on template commit {repo.template_commit[:12]}, which the template's "
                "history does not have, so its drift is not checked. Pull the template checkout "
                "the audit reads (`--template`) if the repository is newer; otherwise link it to "
                "a commit of the org's template."
            )
        elif count:
            message = (
                f"is {count} template commit{'s' * (count > 1)} behind (on "
                f"{repo.template_commit[:12]}). Merge its template-update pull request."
            )
        else:
            continue
        findings.append(Finding(repo.name, "template-version", message))
    return findings


def drift(repos: list[Repo], drifted: Callable[[Repo], list[str]]) -> list[Finding]:
    return [
        Finding(
            repo.name,
            "drift",
            f"template-owned {problem} in this repository, and template updates overwrite it. "
            "Undo it (`cruft diff` shows the edit), or propose the change in the org's template.",
        )
        for repo in repos
        if repo.template_commit
        for problem in drifted(repo)
    ]


def definers(repos: list[Repo]) -> dict[str, list[str]]:
    return holders(repos, lambda r: list(r.assets or {}))


def key_collisions(repos: list[Repo]) -> list[Finding]:
    """A key two repositories define, against each that defines it outside its own prefix: the
    team whose prefix it is keeps it (and hears nothing), or both are told when neither owns it."""
    package = {repo.name: repo.package for repo in repos}
    findings = []
    for key, names in definers(repos).items():
        if len(names) < 2:
            continue
        owners = [name for name in names if key.split("/")[0] == package[name]]
        for name in names:
            if name in owners:
                continue
            others = ", ".join(other for other in names if other != name)
            findings.append(
                Finding(
                    name,
                    "key-collision",
                    f"defines asset {key}, outside its own prefix, and {others} defines it too. "
                    f'Keep every key under this team\'s prefix (key_prefix="{package[name]}").',
                )
            )
    return findings


def upstreams(repos: list[Repo]) -> list[Finding]:
    """Declared upstreams that no repository defines, or whose owner is another; nothing is
    said of an upstream whose owner's definitions did not load (that repository's finding)."""
    defined = definers(repos)
    location = {repo.name: repo.location_names for repo in repos}
    unknown = {name for repo in repos if repo.assets is None for name in repo.location_names}
    findings = []
    for repo in repos:
        for upstream in repo.upstreams:
            key, owner = upstream["key"], upstream["owner"]
            others = [name for name in defined.get(key, []) if name != repo.name]
            if owner in unknown:
                continue
            if not others:
                message = (
                    f"declares upstream {key}, which no other repository defines. Fix the key "
                    "in defs/upstreams.yaml, or ask its owner to publish it."
                )
            elif len(others) == 1 and owner not in location[others[0]]:
                message = (
                    f"declares upstream {key} with owner {owner!r}, but {others[0]} (location "
                    f"{', '.join(location[others[0]])}) defines it. Correct the owner."
                )
            else:
                continue  # two definers are a key collision, reported against them
            findings.append(Finding(repo.name, "upstream", message))
    return findings


def dependencies(repos: list[Repo]) -> dict[str, set[str]]:
    """Each repository with the repositories whose assets it declares as upstreams."""
    defined = definers(repos)
    return {
        repo.name: {
            owner
            for upstream in repo.upstreams
            for owner in defined.get(upstream["key"], [])
            if owner != repo.name
        }
        for repo in repos
    }


def cycles(repos: list[Repo]) -> list[Finding]:
    graph = {name: set(deps) for name, deps in dependencies(repos).items()}
    findings = []
    while True:
        try:
            graphlib.TopologicalSorter(graph).prepare()
            return findings
        except graphlib.CycleError as error:
            cycle = error.args[1]
            for name in dict.fromkeys(cycle):
                findings.append(
                    Finding(
                        name,
                        "cycle",
                        f"repositories depend on each other in a cycle: {' -> '.join(cycle)} "
                        "(each reads the next one's assets). No deploy order works: move the "
                        "shared assets to one of them.",
                    )
                )
            graph[cycle[0]].discard(cycle[1])  # report any further cycle too


def deploy_order(repos: list[Repo]) -> list[str] | None:
    """Repositories in an order where each deploys after the ones it reads; None with a cycle."""
    try:
        return list(graphlib.TopologicalSorter(dependencies(repos)).static_order())
    except graphlib.CycleError:
        return None


def downstream(
    repos: list[Repo], reads: Callable[[list[Repo]], dict[str, set[str]]] = dependencies
) -> dict[str, list[str]]:
    """Each repository with every repository that reads its assets, directly or not."""
    readers = defaultdict(set)
    for name, deps in reads(repos).items():
        for dep in deps:
            readers[dep].add(name)
    result = {}
    for repo in repos:
        seen, todo = set(), [repo.name]
        while todo:
            for reader in readers[todo.pop()] - seen:
                seen.add(reader)
                todo.append(reader)
        result[repo.name] = sorted(seen - {repo.name})
    return result


def freshness(repos: list[Repo]) -> list[Finding]:
    owned = {
        key: (repo.name, window) for repo in repos for key, window in (repo.assets or {}).items()
    }
    findings = []
    for repo in repos:
        for upstream in repo.upstreams:
            owner, window = owned.get(upstream["key"], (None, None))
            expected = upstream["fail_after_seconds"]
            if owner and window is not None and expected is not None and window != expected:
                findings.append(
                    Finding(
                        repo.name,
                        "freshness",
                        f"expects {upstream['key']} at least every {duration(expected)}, but "
                        f"{owner}'s own policy (every {duration(window)}) overrides it in Dagster+. "
                        f"Agree one window with {owner} and declare that.",
                    )
                )
    return findings


def duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' * (count != 1)}"
    return f"{seconds} seconds"


def alert_policy_names(repos: list[Repo]) -> list[Finding]:
    return [
        Finding(
            name,
            "alert-policy",
            f"alert policy {policy!r} is also defined by {', '.join(n for n in names if n != name)}. "
            "Dagster+ keeps one policy per name: prefix names with the team slug.",
        )
        for policy, names in holders(
            repos, lambda r: [p.get("name") for p in r.alert_policies]
        ).items()
        if len(names) > 1
        for name in names
    ]


def merged_alert_policies(repos: list[Repo]) -> dict:
    """Every team's policies in one document, for one `dagster-cloud deployment alert-policies sync`."""
    return {"alert_policies": [policy for repo in repos for policy in repo.alert_policies]}

"""Run every check over the repositories a manifest or the command line lists."""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fleet import checks, infra
from fleet.asset_keys import AssetsUnknown, load_all
from fleet.checks import Finding
from fleet.facts import Repo, read_repo
from fleet.org import org_settings, team_settings
from fleet.sources import Source, SourceError, checkout
from fleet.template import (
    changes_nothing,
    commits_behind,
    drifted_files,
    expected_storage,
    head,
)


@dataclass
class Audit:
    """The fleet's state: the repositories read, what is wrong, and what follows from the graph."""

    template_commit: str
    repos: list[Repo]
    findings: list[Finding]
    deploy_order: list[str] | None
    downstream: dict[str, list[str]]
    alert_policies: dict
    behind: dict[str, int | None] = field(default_factory=dict)


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dagster-fleet"


def audit(
    sources: list[Source],
    template: Path,
    errors: list[Finding] = (),
    drift: bool = True,
    cache: Path | None = None,
) -> Audit:
    """Read every repository that can be read, then check them together."""
    findings = list(errors)
    repos = []
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        for source in sources:
            try:
                repos.append(read_repo(source.name, checkout(source, Path(tmp))))
            except SourceError as error:
                findings.append(Finding(source.name, "source", str(error)))
        cache = cache or default_cache()
        cache.mkdir(parents=True, exist_ok=True)
        behind = {
            repo.name: commits_behind(template, repo.template_commit)
            for repo in repos
            if repo.template_commit
        }
        if drift:  # a repository those commits leave as rendered is current
            for repo in repos:
                if behind.get(repo.name) and changes_nothing(
                    template, repo.template_commit, repo.answers, cache
                ):
                    behind[repo.name] = 0
        findings += checks.location_names(repos)
        findings += checks.agent_queues(repos)
        findings += checks.storage(
            repos, lambda r: expected_storage(template, r.answers), lambda r: behind.get(r.name)
        )
        findings += checks.template_version(repos, lambda repo: behind.get(repo.name))
        stacks = template / infra.INFRA
        if stacks.is_dir():  # the platform team keeps its stacks there
            findings += checks.stacks(repos, stacks, lambda r: stack_text(template, r))
        if drift:  # only against a commit the template has: template_version names the rest
            known = [repo for repo in repos if behind.get(repo.name) is not None]
            findings += checks.drift(
                known, lambda r: drift_or_finding(r, template, cache, findings)
            )
        for repo, keys in zip(repos, load_all(repos, cache), strict=True):
            if isinstance(keys, AssetsUnknown):
                findings.append(Finding(repo.name, "assets", str(keys)))
            else:
                repo.assets = keys
        findings += checks.key_collisions(repos)
        findings += checks.upstreams(repos)
        findings += checks.cycles(repos)
        findings += checks.freshness(repos)
        findings += checks.alert_policy_names(repos)
    return Audit(
        template_commit=head(template),
        repos=repos,
        findings=sorted(findings, key=lambda f: (f.repo, f.check)),
        deploy_order=checks.deploy_order(repos),
        downstream=checks.downstream(repos),
        alert_policies=checks.merged_alert_policies(repos),
        behind=behind,
    )


def stack_text(template: Path, repo: Repo) -> str:
    """The team stack `fleet infra` writes for this repository now."""
    return infra.as_text(
        infra.team_stack(org_settings(template), team_settings(repo.answers, template))
    )


def drift_or_finding(repo: Repo, template: Path, cache: Path, findings: list[Finding]) -> list[str]:
    """The repository's drifted files; when the template cannot be rendered for it, a finding.

    One repository's render (a hook refusing its answers, a broken checkout) never stops the rest.
    """
    try:
        return drifted_files(template, repo.path, repo.template_commit, repo.answers, cache)
    except Exception as error:  # noqa: BLE001 - any render failure is this repository's finding
        findings.append(
            Finding(
                repo.name,
                "drift",
                f"cannot be compared with the template at {repo.template_commit[:12]}: rendering "
                f"it for the answers in .cruft.json failed ({type(error).__name__}: {error}). "
                "Check those answers, or run the repository's drift check "
                "(`uv run --no-project --with ./vendor/template-tools python -m template_tools.drift`) to see the whole error.",
            )
        )
        return []

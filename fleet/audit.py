"""Run every check over the repositories a manifest or the command line lists."""

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fleet import checks
from fleet.checks import Finding
from fleet.facts import Repo, read_repo
from fleet.sources import Source, SourceError, checkout
from fleet.template import commits_behind, drifted_files, expected_storage, head


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
    load: bool = False,
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
            r.name: commits_behind(template, r.template_commit) for r in repos if r.template_commit
        }
        findings += checks.location_names(repos)
        findings += checks.agent_queues(repos)
        findings += checks.storage(repos, lambda r: expected_storage(template, r.answers))
        findings += checks.template_version(repos, lambda c: commits_behind(template, c))
        if drift:  # only against a commit the template has: template_version names the rest
            known = [repo for repo in repos if behind.get(repo.name) is not None]
            findings += checks.drift(
                known,
                lambda r: drifted_files(template, r.path, r.template_commit, r.answers, cache),
            )
        findings += checks.asset_manifests(repos)
        findings += checks.key_collisions(repos)
        findings += checks.upstreams(repos)
        findings += checks.cycles(repos)
        findings += checks.freshness(repos)
        findings += checks.alert_policy_names(repos)
        if load:
            findings += [finding for repo in repos for finding in loaded_manifest(repo)]
    return Audit(
        template_commit=head(template),
        repos=repos,
        findings=sorted(findings, key=lambda f: (f.repo, f.check)),
        deploy_order=checks.deploy_order(repos),
        downstream=checks.downstream(repos),
        alert_policies=checks.merged_alert_policies(repos),
        behind=behind,
    )


def loaded_manifest(repo: Repo) -> list[Finding]:
    """--load: the repository's own test loads its definitions and compares them with its manifest."""
    if not (repo.path / "tests/test_asset_keys.py").is_file():
        return []
    try:
        result = subprocess.run(
            ["uv", "run",
             "pytest", "-q", "-p", "no:cacheprovider", "tests/test_asset_keys.py"],
            cwd=repo.path, capture_output=True, text=True, check=False,
            env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        )  # fmt: skip
    except FileNotFoundError:
        return [Finding(repo.name, "load", "uv is not on PATH; --load runs each repository's "
                        "own test with it. Install uv (`pip install uv`) or leave out --load")]  # fmt: skip
    if result.returncode == 0:
        return []
    return [
        Finding(
            repo.name,
            "load",
            "loading its definitions disagrees with defs/asset_keys.json or fails: "
            f"{(result.stdout + result.stderr).strip().splitlines()[-1:]}. Regenerate the "
            "manifest (`UPDATE_ASSET_KEYS=1 uv run pytest tests/test_asset_keys.py`)",
        )
    ]

"""Refuse answers that break the org's conventions, before any file is written.

Every rule lives here because cookiecutter and cruft run this file alone (it cannot import a
sibling). Each rule returns the problems it finds as `<what is wrong>. <how to fix it>`; main()
prints them all at once and exits 1.

Rules tighten over time, and a tighter rule must never block `cruft update` of a repo created
under a looser one. No answer can carry the version of the rules a repo was created under: an
answer is asked (a team could pick an old version), and `cruft update` passes back only answers,
never private variables. So new repos meet the rules for new repos, while the re-renders that
`cruft update`, `cruft diff` and the team repo's drift check make of an existing repo meet the
loosest rules any repo was created under. Those re-renders go to a fresh tmpXXXXXXXX folder
(the post_gen hook tells them apart the same way); a person names their output folder.
"""

import json
import keyword
import re
import sys
from pathlib import Path

ORG_SETTINGS = "templates/org.jinja"
# Rules that tighten: what new repos must meet, and the loosest any existing repo was created
# under. To tighten one, change only its "new" value.
SLUG_MAX = {"new": 30, "existing": 30}
OWNER = re.compile(
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(/[A-Za-z0-9_.-]+)?|[^@\s]+@[^@\s]+\.[a-z]+"
)
IMAGE_REPOSITORY = re.compile(
    r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+"
)
ASSET_KEY = re.compile(r"[a-z][a-z0-9_]*(/[A-Za-z0-9_][A-Za-z0-9_-]*)+")
# Spelled in pieces so that Jinja, which renders this file, leaves them alone.
TEMPLATE_MARKERS = ("{" + "{", "{" + "%", "{" + "#", "$" + "{" + "{")


def free_text_problems(field: str, value: str, max_length: int = 80) -> list[str]:
    """Free text lands in YAML, TOML, Python and workflow files: keep it plain."""
    if not value.strip():
        return [f"{field} is empty. Give it a value"]
    if len(value) > max_length:
        return [f"{field} is {len(value)} characters long. Keep it to {max_length} or fewer"]
    if any(not char.isprintable() for char in value):
        return [f"{field} contains a control character or line break. Use one line of plain text"]
    if any(marker in value for marker in TEMPLATE_MARKERS):
        markers = " ".join(TEMPLATE_MARKERS)
        return [f"{field} contains a template marker (one of {markers}). Remove it"]
    return []


def slug_problems(slug: str, slug_max: int) -> list[str]:
    """The slug names the repo, code location, agent queue and team deployments."""
    if not slug:
        return ["team_slug is empty. Give the team a slug like sales-analytics"]
    found = []
    others = sorted(set(re.sub(r"[a-z0-9-]", "", slug)), key=slug.index)
    if others:
        shown = " ".join(repr(char) for char in others)
        found.append(
            f"team_slug {slug!r} contains {shown}. Use only lowercase letters, digits and '-'"
        )
    if not slug[0].isalpha() or not slug[0].isascii():
        found.append(
            f"team_slug {slug!r} starts with {slug[0]!r}. Start it with a letter, "
            f"e.g. team-{slug.strip('-')}"
        )
    if slug.endswith("-") or "--" in slug:
        found.append(
            f"team_slug {slug!r} has a '-' at the end or two in a row. Put single '-' between "
            "words only"
        )
    if len(slug) > slug_max:
        found.append(
            f"team_slug {slug!r} is {len(slug)} characters long. Keep it to {slug_max} or fewer so "
            "derived location, queue and deployment names stay within Dagster+ and Kubernetes limits"
        )
    return found


def owner_problems(owner: str) -> list[str]:
    """The owner goes into CODEOWNERS."""
    if not OWNER.fullmatch(owner):
        return free_text_problems("owner", owner) or [
            f"owner {owner!r} is not a GitHub owner. Use @org/team, @user or an email address"
        ]
    return []


def package_problems(package: str) -> list[str]:
    """The package is the Python import name, the asset key prefix and the group name."""
    if not package.isidentifier() or keyword.iskeyword(package):
        return [f"Package name {package!r} is not a valid Python name. Choose another team_slug"]
    if package in sys.stdlib_module_names or package in ("test", "tests"):
        return [
            f"Package name {package!r} shadows a standard-library module. Choose another team_slug"
        ]
    if package == "dagster" or package.startswith("dagster_"):
        return [
            f"Package name {package!r} clashes with Dagster's own packages. Choose another team_slug"
        ]
    return []


def upstream_problems(upstream: str, package: str) -> list[str]:
    """Upstream keys are other teams' assets: `team/asset`, unique, not this team's own."""
    problems, seen = [], set()
    for key in (part.strip() for part in upstream.split(",")):
        if not key:
            continue
        name = key.replace("/", "__").replace("-", "_")
        if not ASSET_KEY.fullmatch(key):
            team = key.split("/")[0]
            hint = f" (here {team.replace('-', '_')}, with '_' for '-')" if "-" in team else ""
            problems.append(
                f"Upstream asset key {key!r} is not a team/asset key. Write it like finance/revenue: "
                f"the owning team's package name{hint}, '/', then the asset name"
            )
        elif key.split("/")[0] == package:
            problems.append(
                f"Upstream asset key {key!r} belongs to this team. List only other teams' assets"
            )
        elif name in seen:
            problems.append(f"Upstream asset key {key!r} is listed twice. List each asset once")
        seen.add(name)
    return problems


def combination_problems(answers: dict) -> list[str]:
    """Options that only make sense together."""
    problems = []
    serverless = answers["deployment"] == "serverless"
    if serverless and answers["isolation"] == "agent_queue":
        problems.append(
            "isolation 'agent_queue' needs a Hybrid deployment: the Serverless agent serves only "
            "the default queue. Choose a hybrid-* deployment or another isolation level"
        )
    if serverless and answers["image_repository"]:
        problems.append(
            "image_repository is set but Serverless builds no image. Leave it blank or choose a "
            "hybrid-* deployment"
        )
    if answers["image_repository"]:
        problems += image_repository_problems(answers["image_repository"])
    return problems


def image_repository_problems(repository: str) -> list[str]:
    """The workflow logs in to the reference's first part, so it must be a registry host."""
    if not IMAGE_REPOSITORY.fullmatch(repository):
        return [
            f"image_repository {repository!r} is not a registry/repository reference. Write it like "
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sales (no tag)"
        ]
    host, _, path = repository.partition("/")
    if not ("." in host or ":" in host or host == "localhost"):
        return [
            f"image_repository {repository!r} does not start with a registry host: Docker would "
            f"read it as Docker Hub's docker.io/{repository}. Write the host first, like "
            f"docker.io/{repository} or ghcr.io/{repository}"
        ]
    if host == "docker.io" and "/" not in path:
        return [
            f"image_repository {repository!r} has no Docker Hub namespace. Write it like "
            f"docker.io/<your Docker Hub organisation>/{path}"
        ]
    return []


def override_problems(answers: dict) -> list[str]:
    """Org settings are never answers, whatever route tried to set them."""
    if answers["_org"] != ORG_SETTINGS:
        return [
            "Storage and other org settings are org-wide and cannot be set per team (_org was "
            f"overridden). Remove the override; the platform team changes them in {ORG_SETTINGS}"
        ]
    return []


def problems(answers: dict, repo: str = "new") -> list[str]:
    """Every problem with a set of answers for a "new" or an "existing" repo, in prompt order."""
    package = answers["team_slug"].replace("-", "_")
    found = free_text_problems("team_name", answers["team_name"])
    found += slug_problems(answers["team_slug"], SLUG_MAX[repo]) or package_problems(package)
    found += owner_problems(answers["owner"])
    if not isinstance(answers["staging"], bool):
        found.append(f"staging {answers['staging']!r} is not yes or no. Answer yes or no")
    found += combination_problems(answers)
    found += upstream_problems(answers["upstream_assets"], package)
    found += override_problems(answers)
    return found


def rendered_for_comparison(project_dir: Path) -> bool:
    """cruft and the drift check render into a fresh tmpXXXXXXXX folder; people name theirs."""
    return re.fullmatch(r"tmp[a-z0-9_]{8}", project_dir.parent.name) is not None


def main(answers: dict) -> int:
    existing = rendered_for_comparison(Path.cwd().resolve())
    found = problems(answers, "existing" if existing else "new")
    if found:
        print("\nThe answers break the org's rules; nothing was written:", file=sys.stderr)
        print("".join(f"ERROR: {problem}.\n" for problem in found), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(
        main(
            json.loads(r"""
{{ cookiecutter | tojson }}
""")
        )
    )

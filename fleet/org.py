"""The org settings, what they give each team, and the rules they must follow.

The platform team edits templates/org.jinja once after forking; templates/team.jinja derives
every team's deployments, buckets and names from them and the team's answers. Both stay Jinja,
not a local Jinja extension in Python: `cruft update` renders the recorded and the new template
commit in one process, and Python keeps the module it imported first, so a changed extension
would silently not reach the team (tried with cruft 2.16: the update reported success with the
old output). Python (this check, the fleet, the tests) reads them through Jinja, as the
generator does, and derives nothing again.

The org settings are not answers, so no hook can check them: this module does, with messages
in the hook's style, one per problem. Run it after an edit (`uvx nox -s org`, or
`python -m fleet.org`); the template's tests also refuse to start while a rule is broken.
"""

import functools
import json
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

from cookiecutter.environment import StrictEnvironment
from jinja2 import FileSystemLoader, Template

TEMPLATE = Path(__file__).resolve().parents[1]
ORG_FILE = "templates/org.jinja"
KEYS = (
    "organization",
    "github_organization",
    "prod_deployment",
    "staging_deployment",
    "buckets",
    "storage_prefix",
    "region",
    "local_storage_dir",
    "storage_history_days",
    "registry",
)

ORGANIZATION = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
GITHUB_ORGANIZATION = re.compile(r"[A-Za-z0-9](-?[A-Za-z0-9]){0,38}")
DEPLOYMENT = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
STORAGE_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*")
REPO_URL = re.compile(r"^repo_url:\s*[\"']?([^\"'\s#]+)", re.MULTILINE)
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
# A registry host is what Docker itself treats as one: it has a '.' or a port, or is localhost.
REGISTRY = re.compile(
    r"(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)(:[0-9]+)?"
    r"(/[a-z0-9]+([._-][a-z0-9]+)*)*"
)


def template_folder(template: Path) -> Path:
    """The folder a team gets: the one whose name starts with `{{cookiecutter.team_slug`."""
    return next(template.glob("{{cookiecutter.team_slug*"))


@functools.cache
def questions(template: Path) -> dict:
    return json.loads((template / "cookiecutter.json").read_text())


@functools.cache
def environment(template: Path) -> StrictEnvironment:
    """cookiecutter's Jinja environment for a checkout: the team's folder and templates/ on the
    loader. It keeps what it compiles, and compiling is slow: one per checkout and run."""
    return StrictEnvironment(
        context={"cookiecutter": questions(template)},
        keep_trailing_newline=True,
        loader=FileSystemLoader([str(template_folder(template)), str(template / "templates")]),
    )


@functools.cache
def compiled(template: Path, source: str) -> Template:
    """A question's default (Jinja source), compiled once per run."""
    return environment(template).from_string(source)


def context(answers: dict, template: Path = TEMPLATE) -> dict:
    """cookiecutter's context for these answers: each question's answer, else its default
    rendered in order (as `cookiecutter --no-input` does), without rebuilding Jinja per team."""
    values = {}
    for key, default in questions(template).items():
        if key in answers and not key.startswith("_"):
            values[key] = answers[key]
        elif isinstance(default, list):
            values[key] = default[0]
        elif isinstance(default, str):
            values[key] = compiled(template, default).render(cookiecutter=values)
        elif key != "__prompts__":
            values[key] = default
    return {"cookiecutter": values}


def org_settings(template: Path = TEMPLATE) -> dict:
    """The `org` dict of a template checkout, read with Jinja exactly as the templates read it."""
    return environment(template).get_template("org.jinja").module.org


def team_settings(answers: dict, template: Path = TEMPLATE) -> dict:
    """What templates/team.jinja gives a team with these answers (its `location`, `buckets`
    by deployment with prod first, `branch_deployments` by branch, `image_repository`, ...)."""
    team = environment(template).get_template("team.jinja")
    module = team.make_module(context(answers, template))
    return {name: getattr(module, name) for name in module.__dict__ if not name.startswith("_")}


def bucket_problems(name: str) -> list[str]:
    """AWS's naming rules for general-purpose S3 buckets."""
    if not (
        isinstance(name, str)
        and BUCKET.fullmatch(name)
        and ".." not in name
        and not IP_ADDRESS.fullmatch(name)
        and not name.startswith(RESERVED_PREFIXES)
        and not name.endswith(RESERVED_SUFFIXES)
    ):
        return [
            f"buckets has {name!r}, which is not a valid S3 bucket name. Use 3 to 63 lowercase "
            "letters, digits, '-' and '.', starting and ending with a letter or digit"
        ]
    return []


def deployment_problems(org: dict) -> list[str]:
    """Deployment names follow Dagster+'s rules, and each has exactly one bucket."""
    problems = []
    for name in org["buckets"]:
        if not DEPLOYMENT.fullmatch(name):
            problems.append(
                f"buckets has a key {name!r}, which is not a Dagster+ deployment name. Use "
                "lowercase letters, digits and single '-' (Dagster+ refuses '_' and capitals)"
            )
        elif name == "branches":
            problems.append(
                "buckets has a key 'branches', the name of every team's branch-deployment "
                "identity (dagster-<team>-branches). Give that deployment another name"
            )
    for role in ("prod_deployment", "staging_deployment"):
        name = org[role]
        if (name or role == "prod_deployment") and name not in org["buckets"]:
            problems.append(
                f"{role} {name!r} has no bucket: the keys of buckets are the deployment names "
                f"({', '.join(map(repr, org['buckets']))}). Add {name!r} to buckets or rename "
                "the key to match"
            )
    return problems


def org_problems(org: dict) -> list[str]:
    """Every problem with the org settings, in the order of the file."""
    missing = [key for key in KEYS if key not in org]
    unknown = [key for key in org if key not in KEYS]
    if missing or unknown:
        return [
            f"{key} is missing. Add it (see the docs' platform-team page)" for key in missing
        ] + [f"{key} is not an org setting. Remove it" for key in unknown]
    problems = []
    if not ORGANIZATION.fullmatch(org["organization"]):
        problems.append(
            f"organization {org['organization']!r} is not a Dagster+ organisation name. Use the "
            "name in your Dagster+ URL (<organization>.dagster.cloud): lowercase letters, "
            "digits and '-'"
        )
    if not GITHUB_ORGANIZATION.fullmatch(org["github_organization"]):
        problems.append(
            f"github_organization {org['github_organization']!r} is not a GitHub organisation "
            "name. Use the name in your GitHub URL (github.com/<organization>)"
        )
    problems += deployment_problems(org)
    for bucket in org["buckets"].values():
        problems += bucket_problems(bucket)
    if len(set(org["buckets"].values())) != len(org["buckets"]):
        problems.append(
            "buckets gives two deployments the same bucket. Give each deployment its own bucket, "
            "so staging runs can never overwrite production data"
        )
    if not STORAGE_PREFIX.fullmatch(org["storage_prefix"]):
        problems.append(
            f"storage_prefix {org['storage_prefix']!r} is not a plain S3 key prefix. Use "
            "lowercase letters, digits, '-' and '_', with '/' between parts and none at the ends"
        )
    if not REGION.fullmatch(org["region"]):
        problems.append(f"region {org['region']!r} is not an AWS region. Write it like us-east-1")
    directory = org["local_storage_dir"]
    if not directory.startswith(("/", "~/")) or "$" in directory or directory.endswith("/"):
        problems.append(
            f"local_storage_dir {directory!r} is not an absolute path. Start it with '/' or "
            "'~/', without environment variables or a trailing '/'"
        )
    days = org["storage_history_days"]
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
        problems.append(
            f"storage_history_days {days!r} is not a number of days. Write a whole number from 1 "
            "to 3650: how long a replaced version of a shared asset stays restorable"
        )
    if not REGISTRY.fullmatch(org["registry"]):
        problems.append(
            f"registry {org['registry']!r} is not a registry reference. Write a host with a "
            "'.' or a port, optionally followed by a path, without a scheme or tag, like "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com, ghcr.io/<github org> or docker.io/<org>"
        )
    return problems


def owner_default_problems(org: dict, template: Path = TEMPLATE) -> list[str]:
    """cookiecutter.json cannot read this file, so its owner default repeats the GitHub org."""
    owner = json.loads((template / "cookiecutter.json").read_text())["owner"]
    if not owner.startswith(f"@{org['github_organization']}/"):
        return [
            f"The owner default in cookiecutter.json, {owner!r}, is not in github_organization "
            f"{org['github_organization']!r}. Start it with '@{org['github_organization']}/'"
        ]
    return []


def docs_link_problems(org: dict, template: Path = TEMPLATE) -> list[str]:
    """mkdocs.yml cannot read this file either: its repo_url is the fork's address, which the
    docs site prints in every generate and link command."""
    # Read as text: forks' mkdocs.yml may hold tags (`!!python/name:`) safe YAML refuses.
    found = REPO_URL.search((template / "mkdocs.yml").read_text())
    url, github_org = found.group(1) if found else "", org["github_organization"]
    address = urlparse(url)
    if (address.scheme, address.netloc, address.path.strip("/").split("/")[:-1]) != (
        "https",
        "github.com",
        [github_org],
    ):
        return [
            f"repo_url in mkdocs.yml, {url!r}, is not a repository of github_organization "
            f"{github_org!r}: the docs would tell teams to generate from it. Set it to your "
            f"fork's address, like 'https://github.com/{github_org}/dagster-team-template'"
        ]
    return []


def checkout_problems(template: Path = TEMPLATE) -> list[str]:
    """Every problem with a checkout's org values: the org file, then what must agree with it."""
    org = org_settings(template)
    return org_problems(org) or (
        owner_default_problems(org, template) + docs_link_problems(org, template)
    )


def main() -> int:
    found = checkout_problems()
    if found:
        print(f"{ORG_FILE} breaks the rules teams rely on:", file=sys.stderr)
        print("".join(f"ERROR: {problem}.\n" for problem in found), file=sys.stderr, end="")
        return 1
    org = org_settings()
    print(
        f"{ORG_FILE} is valid: organization {org['organization']}, deployments "
        f"{', '.join(team_settings({})['buckets'])}, region {org['region']}, "
        f"registry {org['registry']}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

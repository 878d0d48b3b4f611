"""`python -m fleet audit [--json] [--markdown FILE] [MANIFEST | REPO ...]`, `issue` for CI,
`infra --out DIR [MANIFEST | REPO ...]`, the org's buckets and the teams' identities, and
`references TEAM [MANIFEST | REPO ...]`, everything that refers to a team."""

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from fleet import infra
from fleet.audit import audit
from fleet.checks import Finding
from fleet.facts import Repo, read_repo
from fleet.org import TEMPLATE, org_settings
from fleet.references import UnknownTeam, references
from fleet.report import as_json, markdown, table
from fleet.sources import Source, SourceError, checkout, read_manifest, source

ISSUE_TITLE = "Fleet audit"
TARGETS = "a .toml manifest listing repos, or git URLs / paths (default: fleet.toml)"


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="fleet", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    for name, help in (
        ("audit", "check every team repository against the org's invariants"),
        ("issue", "audit, then open or update the template repository's fleet-audit issue"),
    ):
        command = commands.add_parser(name, help=help)
        command.add_argument("targets", nargs="*", metavar="MANIFEST | REPO", help=TARGETS)
        command.add_argument("--json", action="store_true", help="print JSON instead of a table")
        command.add_argument("--markdown", type=Path, metavar="FILE", help="write a report")
        command.add_argument(
            "--alert-policies", type=Path, metavar="FILE",
            help="write every team's alert policies merged, for one alert-policies sync",
        )  # fmt: skip
        command.add_argument(
            "--no-drift", action="store_true",
            help="skip rendering the template per repository to find drifted files (seconds each)",
        )  # fmt: skip
        command.add_argument("--template", type=Path, default=TEMPLATE, help=argparse.SUPPRESS)
        command.add_argument(
            "--cache", type=Path, help="where template renders and asset keys are kept"
        )
    infra = commands.add_parser(
        "infra", help="write CloudFormation for the org's buckets and every team's identities"
    )
    infra.add_argument("targets", nargs="*", metavar="MANIFEST | REPO", help=TARGETS)
    infra.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write")
    infra.add_argument("--template", type=Path, default=TEMPLATE, help=argparse.SUPPRESS)
    listing = commands.add_parser(
        "references", help="list everything that refers to a team: for renaming or retiring it"
    )
    listing.add_argument("team", metavar="TEAM", help="its repository, slug or code location")
    listing.add_argument("targets", nargs="*", metavar="MANIFEST | REPO", help=TARGETS)
    listing.add_argument("--template", type=Path, default=TEMPLATE, help=argparse.SUPPRESS)
    return main


def sources(targets: list[str], template: Path):
    """The listed repositories, and a finding for each manifest that cannot be read."""
    found, errors = [], []
    for target in targets or [str(template / "fleet.toml")]:
        if target.endswith(".toml"):
            try:
                found += read_manifest(Path(target))
            except SourceError as error:
                errors.append(Finding(Path(target).name, "manifest", str(error)))
        else:
            found.append(source(target))
    names = [s.name for s in found]
    # Two repositories with one folder name are told apart by where they are read from.
    found = [s if names.count(s.name) == 1 else Source(s.location, s.location) for s in found]
    return found, errors


def publish_issue(report: str) -> None:
    """Open the fleet-audit issue, or replace the body of the open one (gh, with GH_TOKEN)."""
    listed = subprocess.run(
        ["gh", "issue", "list", "--state", "open", "--search", f'"{ISSUE_TITLE}" in:title',
         "--json", "number,title"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    numbers = [i["number"] for i in json.loads(listed.stdout) if i["title"] == ISSUE_TITLE]
    with tempfile.NamedTemporaryFile("w", suffix=".md") as body:
        body.write(report)
        body.flush()
        if numbers:
            command = ["issue", "edit", str(numbers[0]), "--body-file", body.name]
        else:
            command = ["issue", "create", "--title", ISSUE_TITLE, "--body-file", body.name]
        subprocess.run(["gh", *command], check=True)


def read_all(found: list[Source], errors: list[Finding], into: Path) -> list[Repo] | None:
    """Every listed repository; None, with one line per problem printed, if any cannot be read."""
    repos = []
    for listed in found:
        try:
            repos.append(read_repo(listed.name, checkout(listed, into)))
        except SourceError as error:
            errors.append(Finding(listed.name, "source", str(error)))
    for error in errors:
        print(f"ERROR: {error.message}", file=sys.stderr)
    return None if errors else repos


def write_infra(found: list[Source], errors: list[Finding], out: Path, template: Path) -> int:
    """Render the stacks once every listed repository is read; otherwise write nothing."""
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        repos = read_all(found, errors, Path(tmp))
        if repos is None:
            print(f"Nothing was written to {out}.", file=sys.stderr)
            return 1
        org, teams = org_settings(template), infra.teams(repos, template)
        print(infra.next_steps(org, infra.write(out, org, teams), teams))
    return 0


def show_references(team: str, found: list[Source], errors: list[Finding], template: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        repos = read_all(found, errors, Path(tmp))
        if repos is None:
            return 1
        try:
            print("\n".join(references(team, repos, template)))
        except UnknownTeam as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # A render the hooks refuse is that repository's finding; cookiecutter would log a traceback.
    logging.getLogger("cookiecutter").setLevel(logging.CRITICAL)
    if shutil.which("git") is None:
        print("ERROR: git is not on PATH; the audit reads the template's history with it. "
              "Install git and run the audit again", file=sys.stderr)  # fmt: skip
        return 2
    found, errors = sources(args.targets, args.template)
    if errors and not found:  # nothing listed could be read: one line each, no empty report
        print("".join(f"ERROR: {error.message}\n" for error in errors), file=sys.stderr, end="")
        return 1
    if args.command == "infra":
        return write_infra(found, errors, args.out, args.template)
    if args.command == "references":
        return show_references(args.team, found, errors, args.template)
    result = audit(found, args.template, errors, drift=not args.no_drift, cache=args.cache)
    print(as_json(result) if args.json else table(result))
    if args.markdown:
        args.markdown.write_text(markdown(result))
    if args.alert_policies:
        args.alert_policies.write_text(yaml.safe_dump(result.alert_policies, sort_keys=False))
    if args.command == "issue":
        publish_issue(markdown(result))
    return 1 if result.findings else 0


if __name__ == "__main__":
    sys.exit(main())

"""Read and check a team's defs/upstreams.yaml: the other teams' assets it reads, and what it expects.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

Teams edit upstreams.yaml, never this file. The format is documented in the template's docs
(cross-team.md) and in src/<package>/upstreams.schema.json. Nothing here imports Dagster, so
fleet tooling reads any team's declarations with PyYAML alone: the fleet audit imports this
module, and `python vendor/dagster-team-platform/src/dagster_team_platform/declarations.py FILE`
prints them as JSON, or their problems.
"""

import difflib
import json
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

VERSION = 1
# The org's rule for asset keys, as in the template's hook: the owning team's package, then a name.
KEY = re.compile(r"[a-z][a-z0-9_]*(/[A-Za-z0-9_][A-Za-z0-9_-]*)+")
PERIODS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
# Arrow's names first: the shared storage records Arrow types.
TYPE_ALIASES = {
    "large_string": "string",
    "utf8": "string",
    "large_utf8": "string",
    "str": "string",
    "float64": "double",
    "float32": "float",
    "boolean": "bool",
}
INTEGER_WIDTHS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
TOP_FIELDS = ("version", "upstreams")
FIELDS = ("key", "owner", "description", "freshness", "columns")
FRESHNESS_FIELDS = ("fail_after", "warn_after")
COLUMN_FIELDS = ("name", "type")
DURATION_HOW = (
    "Write it like {count: 26, period: hour}: a whole count above 0, period minute, hour or day"
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str | None = None


@dataclass(frozen=True)
class Freshness:
    fail_after: timedelta
    warn_after: timedelta | None = None


@dataclass(frozen=True)
class Upstream:
    """One asset of another team, as this team declares it."""

    key: str
    owner: str
    description: str = ""
    freshness: Freshness | None = None
    columns: tuple[Column, ...] = ()

    @property
    def path(self) -> list[str]:
        return self.key.split("/")

    def schema_problems(self, recorded: dict[str, str]) -> list[str]:
        """How a recorded schema (column name to type) breaks this team's declared columns."""
        problems = []
        for column in self.columns:
            if column.name not in recorded:
                problems.append(f"column {column.name} is missing")
            elif column.type and not compatible(column.type, recorded[column.name]):
                problems.append(
                    f"column {column.name} is {recorded[column.name]}, not {column.type}"
                )
        return problems


def compatible(declared: str, recorded: str) -> bool:
    """Same type under another name, or an integer narrower than the declared one."""
    declared, recorded = (TYPE_ALIASES.get(t.lower(), t.lower()) for t in (declared, recorded))
    if declared == recorded:
        return True
    widths = INTEGER_WIDTHS.get(declared), INTEGER_WIDTHS.get(recorded)
    return None not in widths and widths[1] <= widths[0]


class UpstreamDeclarationError(ValueError):
    """Every problem found in the declarations, one `<what is wrong>. <how to fix it>` each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "".join(f"\n  - {problem}." for problem in problems)
        super().__init__(f"{source} declares other teams' assets wrongly:{lines}")


def owner_of(key: str) -> str:
    """The code location that owns a key: its first part is the owner's package name."""
    return key.split("/")[0].replace("_", "-")


def load(package: str, path: Path) -> list[Upstream]:
    """The declarations in `path`; none when the file is absent (repos that predate it)."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        reason = f" ({error.problem})" if getattr(error, "problem", None) else ""
        raise UpstreamDeclarationError(
            path.name, [f"It is not valid YAML{line}{reason}. Fix the syntax there"]
        ) from None
    return parse(data, package, path.name)


def parse(data: Any, package: str, source: str = "upstreams.yaml") -> list[Upstream]:
    """Check the whole document and return its upstreams, or raise with every problem at once."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise UpstreamDeclarationError(
            source, ["The file is not a mapping. Start it with `upstreams:` and a list of entries"]
        )
    problems = unknown_fields("The file", data, TOP_FIELDS)
    if data.get("version", VERSION) != VERSION:
        problems.append(f"version {data['version']!r} is not one this repo reads. Write version: 1")
    entries = data.get("upstreams") or []
    if not isinstance(entries, list):
        problems.append("upstreams is not a list. Write one `- key: ...` entry per asset")
        entries = []
    upstreams, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        upstream, found = parse_entry(number, entry, package)
        if upstream and upstream.key in seen:
            found.append(f"Entry {number}: {upstream.key} is declared twice. Keep one entry")
        problems += found
        if upstream and not found:
            upstreams.append(upstream)
            seen.add(upstream.key)
    if problems:
        raise UpstreamDeclarationError(source, problems)
    return upstreams


def unknown_fields(where: str, mapping: dict, allowed: tuple[str, ...]) -> list[str]:
    problems = []
    for field in (field for field in mapping if field not in allowed):
        close = difflib.get_close_matches(str(field), allowed, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(
            f"{where} has an unknown field {field!r}{hint}. Use only {', '.join(allowed)}"
        )
    return problems


def parse_entry(number: int, entry: Any, package: str) -> tuple[Upstream | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"Entry {number} is not a mapping. Write it as `- key: team/asset` + fields"]
    key = entry.get("key")
    where = f"Entry {number} ({key})" if isinstance(key, str) else f"Entry {number}"
    problems = unknown_fields(where, entry, FIELDS)
    problems += key_problems(where, key, package)
    owner = entry.get("owner")
    if not problems:
        if owner is None:
            problems.append(f"{where} names no owner. Add owner: {owner_of(key)}")
        elif owner != owner_of(key):
            problems.append(
                f"{where} names owner {owner!r}, but keys under {key.split('/')[0]}/ belong to "
                f"code location {owner_of(key)}. Write owner: {owner_of(key)}"
            )
    description = entry.get("description", "")
    if not isinstance(description, str):
        problems.append(f"{where}: description is not text. Write one line of text")
    freshness, found = parse_freshness(where, entry.get("freshness"))
    columns, found_in_columns = parse_columns(where, entry.get("columns"))
    problems += found + found_in_columns
    if problems:
        return None, problems
    return Upstream(key, owner, description, freshness, columns), []


def key_problems(where: str, key: Any, package: str) -> list[str]:
    if key is None:
        return [f"{where} has no key. Add key: team/asset, e.g. key: finance/revenue"]
    if not isinstance(key, str) or not KEY.fullmatch(key):
        team = str(key).split("/")[0]
        hint = f" (here {team.replace('-', '_')}, with '_' for '-')" if "-" in team else ""
        return [
            (
                f"{where}: key {key!r} is not a team/asset key. Write it like finance/revenue: "
                f"the owning team's package name{hint}, '/', then the asset name"
            )
        ]
    if key.split("/")[0] == package:
        return [f"{where}: {key} belongs to this team. List only other teams' assets"]
    return []


def parse_freshness(where: str, freshness: Any) -> tuple[Freshness | None, list[str]]:
    if freshness is None:
        return None, []
    if not isinstance(freshness, dict):
        return None, [
            (
                f"{where}: freshness is not a mapping. Write fail_after (and optionally "
                "warn_after) under it"
            )
        ]
    problems = unknown_fields(f"{where}: freshness", freshness, FRESHNESS_FIELDS)
    if "fail_after" not in freshness:
        problems.append(f"{where}: freshness has no fail_after. Add one. {DURATION_HOW}")
    durations = {}
    for field in FRESHNESS_FIELDS:
        if field in freshness:
            durations[field] = duration(freshness[field])
            if durations[field] is None:
                problems.append(
                    f"{where}: freshness.{field} {freshness[field]!r} is not a duration. {DURATION_HOW}"
                )
    fail_after, warn_after = durations.get("fail_after"), durations.get("warn_after")
    if fail_after and warn_after and warn_after >= fail_after:
        problems.append(
            f"{where}: freshness.warn_after is not shorter than fail_after. Warn earlier than "
            "you fail, or drop warn_after"
        )
    if problems:
        return None, problems
    return Freshness(fail_after, warn_after), []


def duration(value: Any) -> timedelta | None:
    """A dbt-style `{count: N, period: hour}` as a timedelta, or None when it is not one."""
    if not isinstance(value, dict) or set(value) != {"count", "period"}:
        return None
    count, period = value["count"], value["period"]
    if type(count) is not int or count < 1 or period not in PERIODS:
        return None
    return count * PERIODS[period]


def parse_columns(where: str, columns: Any) -> tuple[tuple[Column, ...], list[str]]:
    if columns is None:
        return (), []
    if not isinstance(columns, list):
        return (), [f"{where}: columns is not a list. Write one `- name: column` entry per column"]
    parsed, problems, names = [], [], set()
    for column in columns:
        if (
            not isinstance(column, dict)
            or not isinstance(column.get("name"), str)
            or not column["name"]
        ):
            problems.append(
                f"{where}: column {column!r} has no name. Write it as `- name: amount` "
                "(and optionally `type: double`)"
            )
            continue
        name = column["name"]
        problems += unknown_fields(f"{where}: column {name}", column, COLUMN_FIELDS)
        if not isinstance(column.get("type", ""), str):
            problems.append(
                f"{where}: column {name} has a type that is not text. Write e.g. type: int64"
            )
        if name in names:
            problems.append(f"{where}: column {name} is listed twice. List each column once")
        names.add(name)
        parsed.append(Column(name, column.get("type")))
    return tuple(parsed), problems


def as_json(upstreams: list[Upstream]) -> list[dict[str, Any]]:
    """The declarations for machines: durations in seconds, absent fields as null."""

    def seconds(delta: timedelta | None) -> int | None:
        return int(delta.total_seconds()) if delta else None

    return [
        {
            "key": upstream.key,
            "owner": upstream.owner,
            "description": upstream.description,
            "freshness": {
                "fail_after_seconds": seconds(upstream.freshness.fail_after),
                "warn_after_seconds": seconds(upstream.freshness.warn_after),
            }
            if upstream.freshness
            else None,
            "columns": [{"name": c.name, "type": c.type} for c in upstream.columns],
        }
        for upstream in upstreams
    ]


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("Give one file: src/<package>/defs/upstreams.yaml", file=sys.stderr)
        return 2
    path = Path(arguments[0])
    package = path.resolve().parent.parent.name  # src/<package>/defs/upstreams.yaml
    try:
        upstreams = load(package, path)
    except UpstreamDeclarationError as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps(as_json(upstreams), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

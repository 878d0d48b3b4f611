"""Every generated file says who owns it, the README's table lists it once, and both agree with
what `cruft update` skips."""

import re
import tomllib
from pathlib import Path

import pytest

from testkit.options import supported_combinations
from testkit.repos import bake_template, snapshot

#: Hybrid on a registry other than the org's ECR: no trust policy, unlike the other Hybrid teams.
ON_GHCR = pytest.param(
    {
        "deployment": "hybrid-docker",
        "isolation": "code_location",
        "image_repository": "ghcr.io/example-org/sales",
    },
    id="hybrid-docker:code_location:ghcr",
)
#: What the first lines of a file say, by owner.
SAYS = {
    "template": "Template-owned: `cruft update` replaces this file",
    "team": "Team-owned: `cruft update` never touches this file",
}
STATEMENT = re.compile("|".join(map(re.escape, SAYS.values())))
FIRST_LINES = 5
#: A row of the README's table: its paths (a folder ends in /), what they are, their owner.
ROW = re.compile(r"^\| ((?:`[^`]+`(?:, )?)+) \| .+ \| (team|template) \|$", re.MULTILINE)


@pytest.fixture(scope="module", params=[*supported_combinations(), ON_GHCR])
def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bake_template(tmp_path_factory.mktemp("owned"), **request.param)


def table(repo: Path) -> list[tuple[list[str], str]]:
    readme = (repo / "README.md").read_text()
    return [(re.findall(r"`([^`]+)`", paths), owner) for paths, owner in ROW.findall(readme)]


def covers(path: str, name: str) -> bool:
    return name == path or (path.endswith("/") and name.startswith(path))


def skip_list(repo: Path) -> list[str]:
    return tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]


def skipped(repo: Path, entries: list[str]) -> set[str]:
    """The files `cruft update` leaves alone, by its rule: an entry with `*` is a glob from the
    repo root, any other a path; a folder matched is skipped whole."""
    matched = [
        match
        for entry in entries
        for match in (repo.glob(entry) if "*" in entry else [repo / entry])
    ]
    return {
        name
        for name in snapshot(repo)
        if any(match == repo / name or match in (repo / name).parents for match in matched)
    }


def commentable(name: str) -> bool:
    """JSON has no comments; .python-version is read as a bare version by the workflows."""
    return not name.endswith(".json") and name != ".python-version"


def test_the_readme_table_lists_every_file_once(repo: Path) -> None:
    rows, files = table(repo), snapshot(repo)
    rows_per_file = {
        name: sum(any(covers(path, name) for path in paths) for paths, _ in rows) for name in files
    }
    assert {name: count for name, count in rows_per_file.items() if count != 1} == {}
    listed_but_absent = [
        path for paths, _ in rows for path in paths if not any(covers(path, name) for name in files)
    ]
    assert listed_but_absent == []


def test_the_table_says_team_exactly_where_cruft_skips(repo: Path) -> None:
    team_owned = skipped(repo, skip_list(repo))
    disagreeing = {
        name: owner
        for paths, owner in table(repo)
        for name in snapshot(repo)
        if any(covers(path, name) for path in paths) and (owner == "team") != (name in team_owned)
    }
    assert disagreeing == {}
    assert [entry for entry in skip_list(repo) if not skipped(repo, [entry])] == []


def test_every_file_states_its_owner_as_cruft_sees_it(repo: Path) -> None:
    team_owned = skipped(repo, skip_list(repo))
    files = {name: text for name, text in snapshot(repo).items() if commentable(name)}
    stated = {
        name: STATEMENT.findall("\n".join(text.decode().splitlines()[:FIRST_LINES]))
        for name, text in files.items()
    }
    expected = {name: [SAYS["team" if name in team_owned else "template"]] for name in files}
    assert stated == expected

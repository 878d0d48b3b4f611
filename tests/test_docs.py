"""The docs stay true: every prompt and every message the hooks can print is documented."""

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
from conftest import CONTEXT, TEMPLATE, bake_template

DOCS = TEMPLATE / "docs"


def hook_message_fragments() -> list[str]:
    """The literal text of every message in the hook, split where values are filled in."""
    tree = ast.parse((TEMPLATE / "hooks" / "pre_gen_project.py").read_text())
    fragments = set()
    for function in (node for node in tree.body if isinstance(node, ast.FunctionDef)):
        if not function.name.endswith("_problems"):
            continue
        docstring = ast.get_docstring(function, clean=False)
        for node in ast.walk(function):
            if isinstance(node, ast.JoinedStr):
                parts = [value.value for value in node.values if isinstance(value, ast.Constant)]
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value != docstring
            ):
                parts = [node.value]
            else:
                continue
            fragments |= {part.strip(" .'") for part in parts if len(part.strip(" .'")) >= 12}
    return sorted(fragments)


def test_every_prompt_has_a_reference_entry() -> None:
    headings = re.findall(r"^## `(\w+)`$", (DOCS / "reference.md").read_text(), re.MULTILINE)
    prompts = [name for name in CONTEXT if not name.startswith("_")]
    assert headings == prompts


@pytest.mark.parametrize("fragment", hook_message_fragments())
def test_every_hook_message_is_in_troubleshooting(fragment: str) -> None:
    assert fragment in (DOCS / "troubleshooting.md").read_text()


def test_the_fragment_scan_finds_the_messages() -> None:
    assert len(hook_message_fragments()) >= 20


SNIPPET = re.compile(
    r"<!-- (baked: (?P<answers>\{.*?\}) |from: )(?P<path>\S+) -->\n```\w*\n(?P<code>.*?)```",
    re.DOTALL,
)


def snippets() -> list:
    return [
        pytest.param(
            match.group("answers"),
            match.group("path"),
            match.group("code"),
            id=f"{page.name}:{match.group('path')}",
        )
        for page in sorted(DOCS.glob("*.md"))
        for match in SNIPPET.finditer(page.read_text())
    ]


@pytest.mark.parametrize(("answers", "path", "code"), snippets())
def test_snippets_are_copied_from_real_files(
    answers: str | None, path: str, code: str, tmp_path: Path
) -> None:
    source = bake_template(tmp_path, **json.loads(answers)) / path if answers else TEMPLATE / path
    assert code in source.read_text()


def test_the_snippet_scan_finds_the_snippets() -> None:
    assert len(snippets()) >= 4


def ownership_table() -> dict[str, str]:
    """Path (or folder ending in /) to owner, from the table in docs/index.md."""
    rows = re.findall(
        r"^\| (.+?) \| .+? \| (team|template) \|$", (DOCS / "index.md").read_text(), re.MULTILINE
    )
    return {
        path.replace("<package>", "sales_analytics"): owner
        for paths, owner in rows
        for path in re.findall(r"`([^`]+)`", paths)
    }


def test_the_ownership_table_covers_every_generated_file(tmp_path: Path) -> None:
    repo = bake_template(tmp_path, deployment="hybrid-k8s", upstream_assets="finance/revenue")
    table = ownership_table()
    files = [path.relative_to(repo).as_posix() for path in repo.rglob("*") if path.is_file()]
    uncovered = [
        name
        for name in files
        if not any(name == row or (row.endswith("/") and name.startswith(row)) for row in table)
    ]
    assert uncovered == []


def test_team_owned_files_are_exactly_what_cruft_skips(tmp_path: Path) -> None:
    repo = bake_template(tmp_path, deployment="hybrid-k8s")  # Hybrid has every team-owned file
    skip = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    team = [path.rstrip("/") for path, owner in ownership_table().items() if owner == "team"]
    assert sorted(team) == sorted(skip)

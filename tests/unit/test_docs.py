"""The docs stay true: every prompt and every message the hooks can print is documented."""

import ast
import hashlib
import json
import re
import shlex
import tomllib
from pathlib import Path

import click
import pytest
from dagster_dg_cli.cli import cli
from jinja2 import Environment

from fleet.docs_site import placeholders
from fleet.org import org_problems, org_settings
from testkit.repos import CONTEXT, TEMPLATE, bake_template

DOCS = TEMPLATE / "docs"


def message_fragments(source: Path) -> list[str]:
    """The literal text of every message in a module's rules, split where values are filled in."""
    tree = ast.parse(source.read_text())
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


RULES = [TEMPLATE / "hooks" / "pre_gen_project.py", TEMPLATE / "fleet" / "org.py"]


@pytest.mark.parametrize(
    "fragment", [fragment for rules in RULES for fragment in message_fragments(rules)]
)
def test_every_message_is_in_troubleshooting(fragment: str) -> None:
    assert fragment in (DOCS / "troubleshooting.md").read_text()


@pytest.mark.parametrize("rules", RULES, ids=lambda path: path.name)
def test_the_fragment_scan_finds_the_messages(rules: Path) -> None:
    assert len(message_fragments(rules)) >= 10


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
    assert len(snippets()) >= 3


def test_the_org_settings_example_has_the_real_files_shape() -> None:
    """The example is another org's values: a fork's docs stay right without editing them."""
    page = (DOCS / "platform-team.md").read_text()
    example = re.search(
        r"<!-- shape of: templates/org.jinja -->\n```jinja\n(.*?)```", page, re.DOTALL
    )
    org = Environment().from_string(example.group(1)).module.org
    real = org_settings()
    assert list(org) == list(real)
    assert org_problems(org) == []
    assert [key for key in real if f"| `{key}` |" not in page] == []


@pytest.mark.parametrize("source", sorted((DOCS / "diagrams").glob("*.mmd")), ids=str)
def test_diagrams_are_rendered_from_their_current_source(source: Path) -> None:
    stamp = source.with_suffix(".svg").read_text().partition("\n")[0]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert f"sha256:{digest}" in stamp, "Run `uvx nox -s diagrams` and commit the SVGs"


def test_pages_draw_diagrams_from_svg_files_not_scripts() -> None:
    pages = {page.name: page.read_text() for page in DOCS.glob("*.md")}
    assert [name for name, text in pages.items() if "```mermaid" in text] == []
    drawn = {
        name for text in pages.values() for name in re.findall(r"\(diagrams/(\w+)\.svg\)", text)
    }
    assert drawn == {source.stem for source in (DOCS / "diagrams").glob("*.mmd")}


def team_owned_in_docs() -> list[str]:
    """The paths docs/index.md lists as the team's, for the default answers' package."""
    page = (DOCS / "index.md").read_text()
    section = page.partition("## What a team gets")[2].split("\n## ")[0]
    runs = re.findall(r"^- ((?:`[^`]+`(?:, )?)+)", section, re.MULTILINE)
    return [
        path.replace("<package>", "sales_analytics").rstrip("/")
        for run in runs
        for path in re.findall(r"`([^`]+)`", run)
    ]


def test_team_owned_files_are_exactly_what_cruft_skips(tmp_path: Path) -> None:
    repo = bake_template(tmp_path, deployment="hybrid-k8s")  # Hybrid has every team-owned file
    skip = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    assert sorted(team_owned_in_docs()) == sorted(skip)


def test_pages_name_the_orgs_values_only_by_placeholders() -> None:
    """fleet/docs_site.py renders them, so a fork's site shows its own (test_fork builds one)."""
    org = org_settings()
    values = [f"gh:{org['github_organization']}/", f"github.com/{org['github_organization']}/",
              *org["buckets"].values()]  # fmt: skip
    named = [
        f"{page.name}: {value}"
        for page in [*DOCS.glob("*.md"), TEMPLATE / "README.md"]
        for value in values
        if value in page.read_text()
    ]
    assert named == []


DG = re.compile(r"^(?:[A-Z_]+=\S+ )*(?:uv run )?(dg [^`#\n]*)", re.MULTILINE)


def dg_commands() -> list[str]:
    """Every `dg` command in the pages (shell blocks and inline code), with the org's values."""
    values = placeholders(org_settings(), "https://github.com/acme/dagster-team-template")
    code = [
        code
        for page in sorted(DOCS.glob("*.md"))
        for code in re.findall(r"```sh\n(.*?)```|`([^`\n]+)`", page.read_text(), re.DOTALL)
    ]
    lines = sorted(
        {match.strip() for block in code for text in block for match in DG.findall(text)}
    )
    for placeholder, value in values.items():
        lines = [line.replace(placeholder, value) for line in lines]
    return lines


@pytest.mark.parametrize("line", dg_commands())
def test_dg_commands_in_the_docs_parse_with_the_installed_dg(line: str) -> None:
    """Names and options as the pinned dagster-dg-cli defines them (parsed, not run)."""
    group, *args = shlex.split(line)
    command = cli
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        found = command.get_command(click.Context(command), args[0])
        assert found is not None, f"{line}: dg has no command {args[0]!r}"
        command, args = found, args[1:]
    command.make_context(group, args)  # a usage error fails the test


def test_the_dg_scan_finds_the_commands() -> None:
    assert len(dg_commands()) >= 10

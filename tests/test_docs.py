"""The docs stay true: every prompt and every message the hooks can print is documented."""

import ast
import re

import pytest
from conftest import CONTEXT, TEMPLATE

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

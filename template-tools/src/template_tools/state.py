"""Fail when a template update left something half-merged; stdlib only.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

`cruft update` reports success even when hunks did not apply: it leaves conflict markers,
`*.rej`/`*.orig` files, or a file that no longer parses. CI runs this first, before anything is
installed (with `PYTHONPATH=vendor/template-tools/src`), so the team reads this
explanation instead of a TOML error from uv. The team's tests run it too.
"""

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

IGNORED = {".git", ".venv", ".nox", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}
CONFLICT = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
PARSERS = {".toml": tomllib.loads, ".json": json.loads, ".py": ast.parse}
HOW_TO_FIX = (
    "A template update did not apply cleanly. Merge each rejected hunk or conflict by hand "
    "(`git diff` shows what did apply), delete the leftovers, run the tests, then commit."
)


def repo_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not IGNORED.intersection(path.relative_to(root).parts)
    )


def problems(root: Path) -> list[str]:
    """One line per leftover, conflict or unparseable file, naming the file."""
    found = []
    for path in repo_files(root):
        name = path.relative_to(root).as_posix()
        if path.suffix in (".rej", ".orig"):
            found.append(f"{name}: a hunk the update could not apply")
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if CONFLICT.search(text):
            found.append(f"{name}: conflict markers")
        elif path.suffix in PARSERS:
            try:
                PARSERS[path.suffix](text)
            except (ValueError, SyntaxError) as error:
                found.append(f"{name}: no longer parses ({error})")
    unmerged = subprocess.run(
        ["git", "ls-files", "--unmerged"], cwd=root, capture_output=True, text=True, check=False
    ).stdout.split("\n")
    found += sorted({f"{line.split(chr(9))[1]}: unmerged in git" for line in unmerged if line})
    return found


def main() -> int:
    found = problems(Path.cwd())
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    if found:
        print(HOW_TO_FIX, file=sys.stderr)
        return 1
    print("No leftovers of a template update.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

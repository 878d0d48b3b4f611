"""A template update (`cruft update`) left nothing half-merged. Template-owned.

cruft reports success even when hunks did not apply: it leaves `*.rej` files or conflict
markers behind. These checks turn that into a failing test with the way out.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORED = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}
CONFLICT = re.compile(r"^(<{7}|>{7}) ", re.MULTILINE)
HOW_TO_FIX = (
    "A template update did not apply cleanly. Merge each rejected hunk or conflict by hand "
    "(`git diff` shows what did apply), delete the leftovers, run the tests, then commit."
)


def repo_files() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*")
        if path.is_file() and not IGNORED.intersection(path.relative_to(ROOT).parts)
    ]


def test_no_rejected_hunks_are_left() -> None:
    leftovers = [str(p.relative_to(ROOT)) for p in repo_files() if p.suffix in (".rej", ".orig")]
    assert leftovers == [], f"{HOW_TO_FIX} Leftovers: {leftovers}"


def test_no_conflict_markers_are_left() -> None:
    conflicted = []
    for path in repo_files():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if CONFLICT.search(text):
            conflicted.append(str(path.relative_to(ROOT)))
    assert conflicted == [], f"{HOW_TO_FIX} Conflict markers in: {conflicted}"


def test_no_unmerged_paths_in_git() -> None:
    result = subprocess.run(
        ["git", "ls-files", "--unmerged"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.stdout == "", f"{HOW_TO_FIX} Unmerged paths:\n{result.stdout}"

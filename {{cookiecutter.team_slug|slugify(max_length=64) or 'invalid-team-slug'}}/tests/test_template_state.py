"""A template update (`cruft update`) left nothing half-merged.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

The checks live in .github/scripts/template_state.py, which CI runs before anything else;
this test runs the same script so `uv run pytest` catches leftovers locally too.
"""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / ".github/scripts/template_state.py"


def test_no_template_update_is_left_half_merged() -> None:
    result = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr

"""CI's check of dagster_cloud.yaml, run from the team repo's vendored tools as CI runs it:
dagster-cloud-cli's own check, quiet when valid, exact when not."""

import subprocess
import sys
from pathlib import Path

from testkit.repos import TOOLS_PATH, bake_template


def check(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "template_tools.cloud_config"],
        cwd=repo, env=TOOLS_PATH, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_a_generated_file_passes_without_a_warning(tmp_path: Path) -> None:
    result = check(bake_template(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (
        0, "dagster_cloud.yaml is valid for Dagster+.\n", ""
    )  # fmt: skip


def test_a_broken_file_names_each_error_and_fails(tmp_path: Path) -> None:
    repo = bake_template(tmp_path)
    (repo / "dagster_cloud.yaml").write_text(
        "locations:\n  - code_source:\n      package_name: x\n"
    )
    result = check(repo)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("ERROR: dagster_cloud.yaml: ") and "location_name" in lines[0]
    assert lines[-1] == "dagster_cloud.yaml would be refused by the deploy: fix the lines above."

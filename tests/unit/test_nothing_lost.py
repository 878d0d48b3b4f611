"""A refused run writes nothing: no new directory, and an existing repo stays byte-identical."""

from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException, UndefinedVariableInTemplate

from testkit.repos import bake_template, snapshot


@pytest.mark.parametrize(
    "bad_answers",
    [
        pytest.param({"owner": "nobody"}, id="bad-owner"),
        pytest.param({"isolation": "agent_queue"}, id="unsupported-combination"),
        pytest.param({"_org": "elsewhere"}, id="org-override"),
        pytest.param({"team_name": "x ${{ secrets.TOKEN }}"}, id="injection"),
    ],
)
def test_force_onto_an_existing_repo_with_bad_answers_changes_nothing(
    tmp_path: Path, bad_answers: dict
) -> None:
    repo = bake_template(tmp_path)
    (repo / "src/sales_analytics/defs/assets.py").write_text("# the team's own work\n")
    (repo / "notes.md").write_text("kept\n")
    before = snapshot(repo)
    # cookiecutter itself renders answers as Jinja, so it refuses `${{ secrets.X }}` before the hook.
    with pytest.raises((FailedHookException, UndefinedVariableInTemplate)):
        bake_template(tmp_path, overwrite_if_exists=True, **bad_answers)
    assert snapshot(repo) == before

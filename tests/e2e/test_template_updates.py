"""Template changes reach a team repo through real `cruft update`: team code is never overwritten,
and a hunk that does not apply makes the team's own checks fail instead of slipping through.
"""

import json
import subprocess
import tomllib
from pathlib import Path

import pytest
from template_tools import state as template_state
from template_tools import update as template_update

from fleet.org import org_settings
from testkit.repos import (
    TEMPLATE_DIR,
    TOOLS_PATH,
    add_a_prompt_with_a_default,
    cli,
    commit_template_copy,
    git,
    run_in_repo,
    snapshot,
    template_tool,
    write_org,
)

NEW_REGION = "ap-south-2" if org_settings()["region"] != "ap-south-2" else "ca-west-1"
CHECKOUT_V701 = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
CHECKOUT_V700 = "actions/checkout@9c091bb21b7c1c1d1991bb908d89e4e9dddfe3e0 # v7.0.0"
REVENUE = '''"""The team's own asset."""

import dagster as dg


@dg.asset(key_prefix="sales_analytics", group_name="sales_analytics")
def revenue() -> int:
    return 200
'''
TEAM_OWNED = [
    "README.md",
    "src/sales_analytics/defs/assets.py",
    "src/sales_analytics/defs/revenue.py",
    "tests/test_definitions.py",
]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def release_v2(template: Path) -> None:
    """Change an org storage value, bump an action, add and remove a file, add a prompt."""
    write_org(template, org_settings(template) | {"region": NEW_REGION})
    edit(template / "templates/actions.jinja", CHECKOUT_V701, CHECKOUT_V700)
    add_a_prompt_with_a_default(template)
    (template / TEMPLATE_DIR / ".github/dependabot.yml").unlink()
    git("add", "-A", cwd=template)
    git("commit", "-q", "-m", "v2", cwd=template)


def create_team_repo(template: Path, output_dir: Path, *answers: str) -> Path:
    output_dir.mkdir()
    created = cli("cruft", "create", "--no-input", template, *answers, cwd=output_dir)
    assert created.returncode == 0, created.stderr
    (repo,) = output_dir.iterdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "Start from the template", cwd=repo)
    return repo


def add_team_work(repo: Path) -> None:
    (repo / "src/sales_analytics/defs/revenue.py").write_text(REVENUE)
    with (repo / "README.md").open("a") as readme:
        readme.write("\n## Our runbook\n\nPage the on-call analyst.\n")
    with (repo / "tests/test_definitions.py").open("a") as tests:
        tests.write("\n\ndef test_the_teams_own_check() -> None:\n    assert 1 + 1 == 2\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "Team work", cwd=repo)


def team_owned(repo: Path) -> dict[str, bytes]:
    return {name: (repo / name).read_bytes() for name in TEAM_OWNED}


def half_merged(repo: Path) -> subprocess.CompletedProcess:
    """CI's first step in the team repo: nothing half-merged (the team's tests run it too)."""
    return run_in_repo(repo, *template_tool("state"), env=TOOLS_PATH, check=False)


def test_an_update_changes_template_files_and_keeps_team_files(tmp_path: Path) -> None:
    template = commit_template_copy(tmp_path / "template")
    repo = create_team_repo(template, tmp_path / "team")
    add_team_work(repo)
    before = team_owned(repo)
    release_v2(template)

    updated = cli("cruft", "update", "--skip-apply-ask", cwd=repo)

    assert updated.returncode == 0, updated.stderr
    assert "Created sales-analytics/" not in updated.stdout  # that message is for people generating
    assert team_owned(repo) == before
    assert f'REGION = "{NEW_REGION}"' in (repo / "src/sales_analytics/storage.py").read_text()
    assert CHECKOUT_V700 in (repo / ".github/workflows/deploy.yml").read_text()
    assert (repo / "SUPPORT.md").read_text() == "Ask in #data-sales-analytics.\n"
    assert not (repo / ".github/dependabot.yml").exists()
    assert list(repo.rglob("*.rej")) == []
    assert (
        json.loads((repo / ".cruft.json").read_text())["commit"]
        == git("rev-parse", "HEAD", cwd=template).strip()
    )

    fresh = create_team_repo(template, tmp_path / "fresh")
    add_team_work(fresh)
    ours, theirs = snapshot(repo), snapshot(fresh)
    for state in (ours, theirs):
        state.pop(".cruft.json")
        for name in [name for name in state if name.startswith(".git/")]:
            del state[name]
    assert ours == theirs

    run_in_repo(repo, "uv", "sync", "--quiet")
    assert " passed" in run_in_repo(repo, "uv", "run", "--no-sync", "pytest", "-q").stdout


def test_a_conflicting_update_fails_the_team_checks_with_the_way_out(tmp_path: Path) -> None:
    template = commit_template_copy(tmp_path / "template")
    repo = create_team_repo(template, tmp_path / "team")
    edit(
        repo / ".github/workflows/deploy.yml",
        CHECKOUT_V701,
        "actions/checkout@0000000000000000000000000000000000000000 # v0.0.0",
    )
    git("commit", "-q", "-am", "Pin checkout our way", cwd=repo)
    assert half_merged(repo).returncode == 0
    release_v2(template)

    updated = cli("cruft", "update", "--skip-apply-ask", cwd=repo)

    assert updated.returncode == 0  # cruft itself reports success
    state = half_merged(repo)
    assert state.returncode != 0
    assert (
        "A template update did not apply cleanly. Merge each rejected hunk or conflict by hand"
        in state.stderr
    )


def test_a_tightened_naming_rule_does_not_block_older_repos(tmp_path: Path) -> None:
    slug = "sales-analytics-and-pricing"  # 27 characters: allowed before, too long for new repos
    template = commit_template_copy(tmp_path / "template")
    repo = create_team_repo(
        template, tmp_path / "team", "--extra-context", json.dumps({"team_slug": slug})
    )
    # Repos created while the rules version was an answer still carry it; it must do no harm.
    state = json.loads((repo / ".cruft.json").read_text())
    state["context"]["cookiecutter"]["conventions"] = "1"
    (repo / ".cruft.json").write_text(json.dumps(state, indent=2))
    git("commit", "-q", "-am", "Created under the first rules", cwd=repo)
    edit(
        template / "hooks/pre_gen_project.py",
        'SLUG_MAX = {"new": 30, "existing": 30}',
        'SLUG_MAX = {"new": 20, "existing": 30}',
    )
    git("commit", "-q", "-am", "v2: slugs of new teams at most 20 characters", cwd=template)

    updated = cli("cruft", "update", "--skip-apply-ask", cwd=repo)
    assert updated.returncode == 0, updated.stderr
    assert "Good work!" in updated.stdout
    state = json.loads((repo / ".cruft.json").read_text())
    assert state["commit"] == git("rev-parse", "HEAD", cwd=template).strip()
    assert "conventions" not in state["context"]["cookiecutter"]
    assert cli("cruft", "diff", "--exit-code", cwd=repo).returncode == 0

    (tmp_path / "new").mkdir()
    refused = cli(
        "cruft",
        "create",
        "--no-input",
        template,
        "--extra-context",
        json.dumps({"team_slug": slug}),
        cwd=tmp_path / "new",
    )
    assert refused.returncode != 0
    assert f"team_slug '{slug}' is 27 characters long. Keep it to 20 or fewer" in refused.stderr


def test_the_hooks_check_answers_under_cruft_update_too(tmp_path: Path) -> None:
    template = commit_template_copy(tmp_path / "template")
    repo = create_team_repo(template, tmp_path / "team")
    state = json.loads((repo / ".cruft.json").read_text())
    state["context"]["cookiecutter"]["owner"] = "nobody"
    (repo / ".cruft.json").write_text(json.dumps(state))
    git("commit", "-q", "-am", "Hand-edit the recorded answers", cwd=repo)
    release_v2(template)

    updated = cli("cruft", "update", "--skip-apply-ask", cwd=repo)

    assert updated.returncode != 0
    assert (
        "ERROR: owner 'nobody' is not a GitHub owner. Use @org/team, @user or an email address."
        in updated.stderr
    )
    assert not (repo / "SUPPORT.md").exists()


@pytest.mark.parametrize("merged", [True, False], ids=["entries-only", "other-lines-too"])
def test_a_template_dependency_next_to_a_teams_own_merges_as_an_entry(
    merged: bool, tmp_path: Path
) -> None:
    """cruft rejects the template's hunk beside a `uv add` line; the update script places it."""
    template = commit_template_copy(tmp_path / "dagster-team-template")
    repo = create_team_repo(template, tmp_path / "team")
    edit(
        repo / "pyproject.toml", '    "pyarrow",\n', '    "polars>=1",\n    "pyarrow",\n'
    )  # uv add
    git("commit", "-q", "-am", "uv add polars", cwd=repo)
    release = '    "dagster-team-platform",\n    "duckdb",\n'
    if not merged:
        release += "    # an analytics engine\n"
    edit(template / TEMPLATE_DIR / "pyproject.toml", '    "dagster-team-platform",\n', release)
    git("commit", "-q", "-am", "duckdb for everyone", cwd=template)
    updated = cli("cruft", "update", "--skip-apply-ask", cwd=repo)
    assert updated.returncode == 0, updated.stderr
    left = template_state.problems(repo)
    assert left, "cruft alone leaves a conflict or a rejected hunk"

    template_update.merge_list_entries(repo / "pyproject.toml")

    text = (repo / "pyproject.toml").read_text()
    if merged:
        assert not (repo / "pyproject.toml.rej").exists() and "<<<<<<<" not in text
        dependencies = tomllib.loads(text)["project"]["dependencies"]
        assert dependencies[3:7] == ["dagster-team-platform", "polars>=1", "duckdb", "pyarrow"]
    else:  # a person merges it, told by template_state
        assert [p.split(":")[0] for p in template_state.problems(repo)] == [
            p.split(":")[0] for p in left
        ]

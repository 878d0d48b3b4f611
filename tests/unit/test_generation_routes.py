"""The hooks behave the same whichever way a team generates its repo."""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from testkit.repos import (
    TEMPLATE,
    TEMPLATE_DIR,
    bake_template,
    cli,
    commit_template_copy,
    git,
    snapshot,
)

IGNORE_GIT = shutil.ignore_patterns(".git")
MESSAGE = "ERROR: owner 'nobody' is not a GitHub owner. Use @org/team, @user or an email address."


def route(name: str, template_repo: Path, output_dir: Path, *answers: str):
    """Generate with one route, as its users type it; return the finished process."""
    relative = os.path.relpath(template_repo, output_dir)
    commands = {
        "cookiecutter-absolute": ("cookiecutter", "--no-input", template_repo, *answers),
        "cookiecutter-relative": ("cookiecutter", "--no-input", relative, *answers),
        "cookiecutter-git-url": ("cookiecutter", "--no-input", f"git+file://{template_repo}", *answers),
        "cruft-create": ("cruft", "create", "--no-input", template_repo,
                         *(["--extra-context", '{"owner": "nobody"}'] if answers else [])),
    }  # fmt: skip
    return cli(*commands[name], cwd=output_dir)


def quick_start_steps() -> list[str]:
    """The commands the quick start gives after generating, without their comments."""
    page = (TEMPLATE / "docs/quick-start.md").read_text()
    block = re.search(r"<!-- printed by the generator -->\n```sh\n(.*?)```", page, re.DOTALL)
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines()]


ROUTES = ["cookiecutter-absolute", "cookiecutter-relative", "cookiecutter-git-url", "cruft-create"]


@pytest.mark.parametrize("name", ROUTES)
def test_every_route_generates_the_same_repo(
    name: str, template_repo: Path, tmp_path: Path
) -> None:
    expected = snapshot(bake_template(tmp_path / "api"))
    (tmp_path / "cli").mkdir()
    result = route(name, template_repo, tmp_path / "cli")
    assert result.returncode == 0, result.stderr
    generated = snapshot(tmp_path / "cli" / "sales-analytics")
    state = json.loads(generated.pop(".cruft.json"))
    url = f"file://{template_repo}" if name == "cookiecutter-git-url" else str(template_repo)
    commit = git("rev-parse", "HEAD", cwd=template_repo).strip()
    assert (state["template"], state["commit"], state["checkout"]) == (url, commit, None)
    baked = json.loads(expected.pop(".cruft.json"))["context"]["cookiecutter"]
    assert state["context"]["cookiecutter"] == baked | {"_template": url, "_commit": commit}
    assert generated == expected


@pytest.mark.parametrize("name", ROUTES)
def test_every_route_gives_a_repo_that_cruft_checks_and_updates(name: str, tmp_path: Path) -> None:
    template = commit_template_copy(tmp_path / "dagster-team-template")
    (tmp_path / "cli").mkdir()
    assert route(name, template, tmp_path / "cli").returncode == 0
    repo = tmp_path / "cli" / "sales-analytics"
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "Start", cwd=repo)
    assert cli("cruft", "check", cwd=repo).returncode == 0
    assert cli("cruft", "diff", "--exit-code", cwd=repo).returncode == 0
    (template / TEMPLATE_DIR / "NEWS.md").write_text("The template moved on.\n")
    git("add", "-A", cwd=template)
    git("commit", "-q", "-m", "Later", cwd=template)
    assert cli("cruft", "check", cwd=repo).returncode != 0

    updated = cli("cruft", "update", "--skip-apply-ask", "--allow-untracked-files", cwd=repo)

    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert (repo / "NEWS.md").read_text() == "The template moved on.\n"
    assert cli("cruft", "check", cwd=repo).returncode == 0


@pytest.mark.parametrize("name", ROUTES)
def test_every_route_refuses_with_the_same_message(
    name: str, template_repo: Path, tmp_path: Path
) -> None:
    result = route(name, template_repo, tmp_path, "owner=nobody")
    assert result.returncode != 0
    assert MESSAGE in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ROUTES)
def test_a_person_generating_sees_the_next_steps(
    name: str, template_repo: Path, tmp_path: Path
) -> None:
    result = route(name, template_repo, tmp_path)
    assert "Created sales-analytics/ for Sales Analytics, linked to its template" in result.stdout
    printed = [line.strip() for line in result.stdout.splitlines() if line.startswith("    ")]
    assert printed == quick_start_steps()


def test_cruft_diff_renders_the_template_without_the_next_steps(
    template_repo: Path, tmp_path: Path
) -> None:
    route("cruft-create", template_repo, tmp_path)
    diff = cli("cruft", "diff", "--exit-code", cwd=tmp_path / "sales-analytics")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert diff.stdout == ""


def test_a_template_without_git_history_generates_and_says_it_is_not_linked(
    template_repo: Path, tmp_path: Path
) -> None:
    archive = Path(shutil.copytree(template_repo, tmp_path / "downloaded", ignore=IGNORE_GIT))
    (tmp_path / "out").mkdir()
    result = cli("cookiecutter", "--no-input", archive, cwd=tmp_path / "out")
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert (
        "for Sales Analytics, not linked for updates: the template was not a git checkout." in said
    )
    assert not (tmp_path / "out/sales-analytics/.cruft.json").exists()


def test_a_checkout_without_symbolic_links_is_refused_and_leaves_nothing(
    template_repo: Path, tmp_path: Path
) -> None:
    """Git on Windows checks links out as plain files unless core.symlinks is on."""
    checkout = tmp_path / "checkout"
    git("clone", "-q", "-c", "core.symlinks=false", template_repo, checkout, cwd=tmp_path)
    (tmp_path / "out").mkdir()
    result = cli("cookiecutter", "--no-input", checkout, cwd=tmp_path / "out")
    assert result.returncode != 0
    assert (
        "ERROR: vendor/dagster-team-platform/src is a file, not a folder: the template checkout "
        "holds its symbolic links as plain files"
    ) in result.stderr
    assert list((tmp_path / "out").iterdir()) == []

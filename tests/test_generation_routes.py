"""The hooks behave the same whichever way a team generates its repo."""

import json
import os
from pathlib import Path

import pytest
from conftest import bake_template, cli, git, snapshot

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
    cruft_state = generated.pop(".cruft.json", None)
    assert (cruft_state is not None) == (name == "cruft-create")
    recorded = json.loads(generated.pop(".template-answers.json"))
    assert recorded.pop("_commit") == git("rev-parse", "HEAD", cwd=template_repo).strip()
    baked = json.loads(expected.pop(".template-answers.json"))
    baked.pop("_commit", None)  # the API bake records this checkout's commit, not the copy's
    assert recorded == baked
    assert generated == expected


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
    assert "Created sales-analytics/ for Sales Analytics. Next, " in result.stdout


def test_cruft_diff_renders_the_template_without_the_next_steps(
    template_repo: Path, tmp_path: Path
) -> None:
    route("cruft-create", template_repo, tmp_path)
    diff = cli("cruft", "diff", "--exit-code", cwd=tmp_path / "sales-analytics")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert diff.stdout == ""

"""The team CI's drift check (the template tools' drift) and the documented link command,
on repositories made with real cruft and cookiecutter from a real git template.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fleet.org import org_settings
from testkit.repos import (
    TOOLS_PATH,
    cli,
    commit_template_copy,
    git,
    link_as_documented,
    run_in_repo,
    template_tool,
)

PACKAGE_DIR = "src/sales_analytics"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return commit_template_copy(tmp_path_factory.mktemp("drift") / "template")


@pytest.fixture(scope="module")
def created(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A team repository made with cruft, committed."""
    folder = tmp_path_factory.mktemp("created")
    made = cli("cruft", "create", "--no-input", template, cwd=folder)
    assert made.returncode == 0, made.stderr
    repo = folder / "sales-analytics"
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "Start from the template", cwd=repo)
    return repo


@pytest.fixture
def repo(created: Path, tmp_path: Path) -> Path:
    """A copy of the created repository for one test to change."""
    return Path(shutil.copytree(created, tmp_path / created.name, symlinks=True))


def drift(repo: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_in_repo(repo, *template_tool("drift"), env=TOOLS_PATH | (env or {}), check=False)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_the_check_leaves_nothing_in_the_temp_folder(repo: Path, tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()

    checked = drift(repo, env={"TMPDIR": str(temp)})

    assert checked.returncode == 0, checked.stderr
    assert "Template-owned files match the template" in checked.stdout
    assert list(temp.iterdir()) == []


def test_team_changes_in_their_places_pass(repo: Path) -> None:
    edit(repo / "pyproject.toml", '    "dagster-cloud",\n', '    "dagster-cloud",\n    "pandas",\n')
    (repo / PACKAGE_DIR / "defs/orders.py").write_text("ORDERS = 1\n")
    with (repo / "README.md").open("a") as readme:
        readme.write("Our notes.\n")

    checked = drift(repo)

    assert checked.returncode == 0, checked.stderr
    assert "Template-owned files match the template" in checked.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda repo: (repo / "tests/test_platform.py").unlink(), "tests/test_platform.py was deleted"),
        (
            lambda repo: edit(repo / "pyproject.toml", '    "README.md",\n', f'    "README.md",\n    "{PACKAGE_DIR}/storage.py",\n'),
            f"[tool.cruft] skip lists the template-owned path '{PACKAGE_DIR}/storage.py'",
        ),
        (
            lambda repo: edit(repo / "pyproject.toml", '"pytest==9.2.0"', '"pytest==9.1.0"'),
            "pyproject.toml: tool.uv.constraint-dependencies changed",
        ),
        (
            lambda repo: edit(repo / "pyproject.toml", '    "dagster-aws",\n', ""),
            "pyproject.toml: project.dependencies lost 'dagster-aws'",
        ),
        (
            lambda repo: edit(
                repo / PACKAGE_DIR / "storage.py",
                f'LOCAL_DIR = "{org_settings()["local_storage_dir"]}"',
                'LOCAL_DIR = "/tmp/ours"',
            ),
            f"{PACKAGE_DIR}/storage.py was edited",
        ),
    ],
    ids=["deleted-file", "skip-list", "pin", "template-dependency", "local-storage-dir"],
)  # fmt: skip
def test_template_owned_changes_fail_with_the_file_named(repo: Path, change, message: str) -> None:
    change(repo)

    checked = drift(repo)

    assert checked.returncode == 1
    assert f"ERROR: {message}\n" in checked.stderr
    assert "Template-owned files differ from the template at" in checked.stderr


def test_an_unreadable_template_fails_and_says_so(repo: Path) -> None:
    state = json.loads((repo / ".cruft.json").read_text())
    (repo / ".cruft.json").write_text(json.dumps(state | {"template": str(repo / "missing")}))

    checked = drift(repo)

    assert checked.returncode == 2
    assert "ERROR: Cannot read the template repository" in checked.stderr
    assert "the TEMPLATE_UPDATE_TOKEN secret (Contents: read on the template repository)" in (
        checked.stderr
    )


def test_on_dependabot_pull_requests_an_unreadable_template_is_reported_not_failed(
    repo: Path,
) -> None:
    state = json.loads((repo / ".cruft.json").read_text())
    (repo / ".cruft.json").write_text(json.dumps(state | {"template": str(repo / "missing")}))

    checked = drift(repo, env={"GITHUB_ACTOR": "dependabot[bot]"})

    assert checked.returncode == 0
    assert "::warning::Cannot read the template repository" in checked.stdout
    assert "Not compared on this Dependabot pull request" in checked.stdout


def test_the_documented_link_command_records_the_commit_the_repo_came_from(
    template: Path, tmp_path: Path
) -> None:
    made = cli("cookiecutter", "--no-input", template, "team_name=Pricing", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    generated_from = git("rev-parse", "HEAD", cwd=template).strip()
    repo = tmp_path / "pricing"
    # What the generator kept before it wrote .cruft.json itself: the answers and the commit.
    state = json.loads((repo / ".cruft.json").read_text())
    answers = {k: v for k, v in state["context"]["cookiecutter"].items() if not k.startswith("_")}
    (repo / ".template-answers.json").write_text(json.dumps(answers | {"_commit": generated_from}))
    (repo / ".cruft.json").unlink()
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "Start", cwd=repo)
    (template / "NEWS.md").write_text("The template moved on.\n")
    git("add", "-A", cwd=template)
    git("commit", "-q", "-m", "Later", cwd=template)

    linked = link_as_documented(repo, template)

    assert linked.returncode == 0, linked.stderr
    assert json.loads((repo / ".cruft.json").read_text())["commit"] == generated_from
    assert cli("cruft", "diff", "--exit-code", cwd=repo).returncode == 0
    assert cli("cruft", "check", cwd=repo).returncode != 0  # behind: the template moved on
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "Link", cwd=repo)
    assert drift(repo).returncode == 0

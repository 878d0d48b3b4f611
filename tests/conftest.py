"""The tests' fixtures and session hooks; what tests share otherwise is in testkit/.

Tests live in folders by tier: `unit` and `fleet` (with the platform package's own tests) need no
generated venv, server or daemon; `generated`, `e2e`, `executable` and `image` do. noxfile.py's
PARTS select them by folder.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from fleet.org import ORG_FILE, checkout_problems
from testkit.repos import Bake, bake_template, commit_template_copy, load_hook
from testkit.terminal import Terminal

SLOW_FOLDERS = {"e2e", "generated", "executable", "image"}

# Processes the tests start write bytecode, as on a developer's machine: where this machine sets
# PYTHONDONTWRITEBYTECODE, every process that imports Dagster compiles it again, twice the CPU.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop before any test when the org settings break a rule: every test would fail for it."""
    found = checkout_problems()
    if found:
        errors = "".join(f"\nERROR: {problem}." for problem in found)
        pytest.exit(f"{ORG_FILE} breaks the rules teams rely on:{errors}", returncode=1)


@pytest.fixture(scope="session", autouse=True)
def private_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Temporary files of the tests and their processes go to a folder removed at the end.

    cookiecutter leaves every hook script it ran in the temp folder, SeaweedFS its logs.
    The folder is short, under the system's: sockets' paths are limited to 107 characters.
    """
    tmp_path_factory.getbasetemp()  # pytest's own folder stays where it is
    folder = tempfile.mkdtemp(prefix="tests-")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", folder)
        patch.setattr(tempfile, "tempdir", folder)
        yield
    shutil.rmtree(folder, ignore_errors=True)


#: The longest files of `nox -s fast`, longest first (measured): started before the others, they
#: no longer end the run alone on one worker.
LONGEST_FAST_FILES = ["test_generation_routes.py", "test_bake.py", "test_free_text_answers.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow folders first, so with several workers the quick tests fill in around them."""

    def order(item: pytest.Item) -> tuple[bool, int]:
        longest = [*LONGEST_FAST_FILES, item.path.name].index(item.path.name)
        return (item.path.parent.name not in SLOW_FOLDERS, longest)

    items.sort(key=order)


@pytest.fixture
def bake(tmp_path: Path) -> Bake:
    return lambda **answers: bake_template(tmp_path, **answers)


@pytest.fixture(scope="session")
def pre_gen() -> ModuleType:
    return load_hook("pre_gen_project")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    """A person's terminal, closed after the test."""
    terminal = Terminal(tmp_path)
    yield terminal
    terminal.close()


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return commit_template_copy(tmp_path_factory.mktemp("template") / "dagster-team-template")

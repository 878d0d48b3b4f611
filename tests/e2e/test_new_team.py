"""A new team's first day and second week, typed into a real 80x24 terminal (tmux), as the quick
start says.

The first day: from `cookiecutter` with a git remote of the template, through the printed steps,
tests, an asset added, renamed and removed by editing code alone, CI's `run:` steps in a fresh
clone, to a template change arriving through `cruft update`. The second week: a first upstream,
read before and after it is declared, an asset outside the team's prefix, and a secret in `.env`.
Every step's output is asserted and kept in `screens.txt` next to the test's files.
"""

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from uv import find_uv_bin

from testkit.repos import add_a_prompt_with_a_default, commit_template_copy, git, run_steps
from testkit.terminal import Terminal

ALARMING = re.compile(r"warn|deprecat|supersed|error", re.IGNORECASE)
NETWORK = re.compile(r"proxy|cert|ca_bundle|cainfo|ssl|^pip_|^uv_index", re.IGNORECASE)


ACCOUNTS = '''import dagster as dg


@dg.asset(key_prefix="sales_analytics", group_name="sales_analytics")
def accounts() -> list[dict[str, int]]:
    """Customer accounts, one row each."""
    return [{"account": 1}]
'''

REVENUE = '''import dagster as dg


@dg.asset(
    key_prefix="sales_analytics",
    group_name="sales_analytics",
    ins={"orders": dg.AssetIn(key=["finance", "orders"])},
)
def revenue_by_order(orders: list[dict]) -> list[dict]:
    """Revenue per order, from finance's orders."""
    return orders
'''
DECLARED = """upstreams:
  - key: finance/orders
    owner: finance
    freshness:
      fail_after: {count: 1, period: day}
"""


class Day:
    """The terminal of one engineer, and every screen their commands ended on."""

    def __init__(self, folder: Path) -> None:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        uv_cache = subprocess.run([find_uv_bin(), "cache", "dir"], capture_output=True, text=True,
                                  check=True)  # fmt: skip
        network = {k: v for k, v in os.environ.items() if NETWORK.search(k)}
        self.terminal = Terminal(
            folder,
            **network,  # this machine's proxy and certificates, as a laptop has its own
            UV_CACHE_DIR=uv_cache.stdout.strip(),  # the machine's package cache, as a laptop's
            PRE_COMMIT_HOME=os.environ.get("PRE_COMMIT_HOME", cache / "pre-commit"),
            UV_PYTHON="{}.{}".format(*sys.version_info),  # the repo's may be missing here
        )
        for key, value in (("user.name", "A Data Engineer"), ("user.email", "de@example.com")):
            git("config", "--file", self.terminal.home / ".gitconfig", key, value, cwd=folder)
        self.screens: list[str] = []

    def run(self, line: str, exit_code: int = 0, timeout: float = 300) -> str:
        """Type a command line; return what it printed, after checking how it exited."""
        self.terminal.command(line)
        self.terminal.finished(timeout)
        output = self.terminal.output()
        self.screens.append(f"$ {line}\n{output}".rstrip())
        ended = f"[{self.terminal.commands}] exit {exit_code}\n"
        assert ended in self.terminal.history() + "\n", self.terminal.history()
        if exit_code == 0:  # a refusal says "error"; a command that passes says nothing alarming
            assert not ALARMING.search(output), output
        return output


@pytest.fixture
def day(tmp_path: Path):
    day = Day(tmp_path)
    yield day
    (tmp_path / "screens.txt").write_text("\n\n".join(day.screens) + "\n")
    day.terminal.close()


def generated(day: Day, tmp_path: Path) -> tuple[Path, Path, Path, list[str]]:
    """The template's git remote, and the team repo cookiecutter made from it with every default
    answer, after the steps the generator printed; with those steps."""
    source = commit_template_copy(tmp_path / "platform" / "dagster-team-template")
    remote = tmp_path / "github" / "dagster-team-template.git"
    git("clone", "-q", "--bare", source, remote, cwd=tmp_path)
    terminal, repo = day.terminal, day.terminal.cwd / "sales-analytics"

    terminal.command(f"cookiecutter file://{remote}")
    for number in range(1, 10):
        terminal.answer(f"[{number}/9]")
    screen = terminal.finished()
    day.screens.append(
        f"$ cookiecutter file://{remote}  (Enter for every default)\n{screen}".rstrip()
    )
    assert "Created sales-analytics/ for Sales Analytics, linked to its template for" in screen
    steps = screen.split("Next, make the first commit", 1)[1]
    printed = [line.strip() for line in steps.splitlines() if line.startswith("    ")]
    assert printed[0] == "cd sales-analytics" and "uv sync" in printed
    for line in printed:
        day.run(line)
    assert git("status", "--porcelain", cwd=repo) == ""
    return source, remote, repo, printed


def test_a_new_team_goes_from_cookiecutter_to_a_template_update(day: Day, tmp_path: Path) -> None:
    source, remote, repo, printed = generated(day, tmp_path)
    assert " passed" in day.run("uv run pytest -q")

    module = repo / "src/sales_analytics/defs/accounts.py"
    module.write_text(ACCOUNTS)  # an asset is added by writing its code, nothing else
    assert " passed" in day.run("uv run pytest -q")
    assert "sales_analytics/accounts" in day.run("uv run dg list defs")
    day.run('git add -A && git commit -q -m "Add accounts"')
    module.rename(module.with_name("customers.py"))  # renamed
    module = module.with_name("customers.py")
    module.write_text(ACCOUNTS.replace("def accounts", "def customers"))
    assert " passed" in day.run("uv run pytest -q")
    listed = day.run("uv run dg list defs")
    assert "sales_analytics/customers" in listed and "sales_analytics/accounts" not in listed
    day.run('git add -A && git commit -q -m "Rename accounts to customers"')
    module.unlink()  # removed
    assert " passed" in day.run("uv run pytest -q")
    day.run('git add -A && git commit -q -m "Remove customers"')

    day.run("git clone -q . ../ci && cd ../ci")  # what CI checks out: the commit
    for step in run_steps(repo / ".github/workflows/ci.yml"):
        day.run(step)
    day.run("cd ../sales-analytics")

    add_a_prompt_with_a_default(source)  # the platform team releases a change
    git("add", "-A", cwd=source)
    git("commit", "-q", "-m", "Add a support channel", cwd=source)
    git("push", "-q", remote, "main", cwd=source)
    assert "Project's cruft is out of date" in day.run("cruft check", exit_code=1)
    assert "Good work!" in day.run("cruft update --skip-apply-ask")
    assert "Ask in #data-sales-analytics." in day.run("cat SUPPORT.md")
    assert " passed" in day.run("uv run pytest -q")
    day.run('git add -A && git commit -q -m "Take the template update"')
    assert "Project's cruft is up to date" in day.run("cruft check")
    drift = run_steps(repo / ".github/workflows/ci.yml", "template-drift")[-1]
    platform = tomllib.loads((repo / "vendor/dagster-team-platform/pyproject.toml").read_text())
    said = f"storage is current; platform package {platform['project']['version']}."
    assert said in day.run(drift)
    assert git("log", "--format=%s", "-1", cwd=repo).strip() == "Take the template update"
    assert shlex.split(printed[-1])[-1] in git("log", "--format=%s", cwd=repo)


def test_a_team_declares_its_first_upstream_in_its_second_week(day: Day, tmp_path: Path) -> None:
    """Generated without upstreams; the first read of another team's asset needs one edit, to
    upstreams.yaml, and every mistake on the way says what to write."""
    _, _, repo, _ = generated(day, tmp_path)
    package = repo / "src/sales_analytics"

    (package / "defs/revenue.py").write_text(REVENUE)  # reads finance's orders, undeclared
    refused = day.run("uv run dg check defs", exit_code=1)
    assert "sales_analytics/revenue_by_order reads finance/orders" in refused
    assert "  - key: finance/orders\n    owner: finance\n" in refused
    assert " failed" in day.run("uv run pytest -q", exit_code=1)

    declarations = package / "defs/upstreams.yaml"  # the one edit, as in an editor
    declarations.write_text(declarations.read_text().replace("upstreams: []\n", DECLARED))
    assert " passed" in day.run("uv run pytest -q")  # the alert policy on it is derived
    day.run("uv run dg check defs")
    listed = day.run("uv run dg list defs")  # the stub in finance's group, and its check
    assert "│ finance/orders " in listed and "finance/orders:sales_analytics_freshness" in listed
    day.run('git add -A && git commit -q -m "Read finance\'s orders"')

    stray = package / "defs/stray.py"  # an asset written without the team's prefix
    stray.write_text(ACCOUNTS.replace('key_prefix="sales_analytics", ', ""))
    failed = day.run("uv run pytest -q", exit_code=1)
    assert "accounts outside this team's prefix 'sales_analytics'" in failed
    assert 'Define each with key_prefix="sales_analytics"' in failed
    stray.unlink()

    day.run("echo WAREHOUSE_PASSWORD=hunter2 > .env")  # a secret for local runs
    assert "WAREHOUSE_PASSWORD" in day.run("uv run dg list env")  # what dg dev loads
    assert day.run("git status --porcelain") == ""  # .env stays out of git

    day.run("git clone -q . ../ci && cd ../ci")  # CI passes on the commit, quietly
    for step in run_steps(repo / ".github/workflows/ci.yml"):
        day.run(step)

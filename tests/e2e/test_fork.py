"""A platform team's fork with another org's values passes the template's own suite unchanged.

Follows docs/platform-team.md: fork, set the org's values, check them, run the suite, tag,
and a team generates from the tag.
"""

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.other_org import GLOBEX
from testkit.repos import (
    NOT_THE_TEMPLATE,
    TEMPLATE,
    cli,
    commit_template_copy,
    edit,
    git,
    org_check,
    write_org,
)

FORK = "data-platform-template"  # forks may rename the repository


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template forked, with Globex's org settings and owner default committed and tagged."""
    repo = commit_template_copy(
        tmp_path_factory.mktemp("fork") / "dagster-team-template", history=True
    )
    write_org(repo, GLOBEX)
    github_org = GLOBEX["github_organization"]
    edit(repo / "cookiecutter.json", r'"owner": "@[^/"]+/', f'"owner": "@{github_org}/')
    edit(
        repo / "mkdocs.yml", "repo_url: [^\n]*", f"repo_url: https://github.com/{github_org}/{FORK}"
    )
    # Empty when this runs in the fork's own suite: its settings are Globex's already.
    git("commit", "-q", "--allow-empty", "-am", "Globex's org settings", cwd=repo)
    git("tag", "v1.0.0", cwd=repo)
    return repo


def pytest_in(template: Path, basetemp: Path, *args: str) -> subprocess.CompletedProcess:
    """The template's own tests, run in another checkout as the platform team runs them."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", basetemp,
         *args],
        cwd=template, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_org_check_accepts_the_forks_settings(fork: Path) -> None:
    result = org_check(fork)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "templates/org.jinja is valid: organization globex, deployments live, preprod"
    )


def test_the_files_that_name_org_values_pass_in_the_fork(fork: Path, tmp_path: Path) -> None:
    result = pytest_in(
        fork,
        tmp_path,
        "tests/unit/test_bake.py",
        "tests/unit/test_docs.py",
        "tests/unit/test_org_settings.py",
    )
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.mark.slow
def test_the_whole_suite_passes_in_the_fork(fork: Path, tmp_path: Path) -> None:
    result = pytest_in(fork, tmp_path, "--numprocesses", "4", "-m", "not slow")
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.mark.slow
def test_storage_and_isolation_pass_in_the_fork(fork: Path, tmp_path: Path) -> None:
    result = pytest_in(
        fork, tmp_path, "tests/e2e/test_cross_team_loading.py", "tests/e2e/test_infra.py",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:]


def test_a_team_generates_from_the_forks_release(fork: Path, tmp_path: Path) -> None:
    created = cli("cruft", "create", "--no-input", "--checkout", "v1.0.0", fork, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    repo = tmp_path / "sales-analytics"
    codeowners = (repo / ".github/CODEOWNERS").read_text()
    storage = (repo / "src/sales_analytics/storage.py").read_text()
    deploy = (repo / ".github/workflows/deploy.yml").read_text().replace('"', "")
    assert f"@{GLOBEX['github_organization']}/sales-analytics" in codeowners
    assert all(f'"{bucket}"' in storage for bucket in GLOBEX["buckets"].values())
    assert "DAGSTER_CLOUD_ORGANIZATION: globex" in deploy


def test_the_forks_docs_show_its_own_org_in_every_command(fork: Path, tmp_path: Path) -> None:
    """Built as the platform guide says, the site names Globex and its fork, never acme."""
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "fleet.docs_site", site], cwd=fork, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    # What a reader sees and copies: the text without the highlighting's tags.
    pages = {
        page: html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        for page in site.rglob("*.html")
    }
    assert [page for page, text in pages.items() if "acme" in text] == []
    quick_start = pages[site / "quick-start/index.html"]
    assert f"uvx cookiecutter gh:globex/{FORK}\n" in quick_start
    assert f"https://github.com/globex/{FORK}.git" in quick_start
    prod = GLOBEX["buckets"][GLOBEX["prod_deployment"]]
    orders = f"s3://{prod}/{GLOBEX['storage_prefix']}/finance/orders.parquet"
    assert orders in pages[site / "cross-team/index.html"]
    assert "https://github.com/globex/finance.git" in pages[site / "fleet/index.html"]
    assert "--scope full --deployment live\n" in quick_start


def test_an_invalid_org_stops_the_suite_with_one_message_per_problem(tmp_path: Path) -> None:
    template = tmp_path / "dagster-team-template"
    shutil.copytree(TEMPLATE, template, ignore=NOT_THE_TEMPLATE, symlinks=True)
    buckets = {"Production": "globex-prod", "staging": "globex_staging"}
    write_org(template, GLOBEX | {"prod_deployment": "Production", "buckets": buckets})
    errors = (
        "templates/org.jinja breaks the rules teams rely on:\n"
        "ERROR: buckets has a key 'Production', which is not a Dagster+ deployment name. Use "
        "lowercase letters, digits and single '-' (Dagster+ refuses '_' and capitals).\n"
        "ERROR: staging_deployment 'preprod' has no bucket: the keys of buckets are the "
        "deployment names ('Production', 'staging'). Add 'preprod' to buckets or rename the key "
        "to match.\n"
        "ERROR: buckets has 'globex_staging', which is not a valid S3 bucket name. Use 3 to 63 "
        "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit.\n"
    )

    check = org_check(template)
    suite = pytest_in(template, tmp_path / "basetemp", "tests/unit/test_hooks.py")

    assert (check.returncode, check.stderr) == (1, errors)
    assert suite.returncode == 1
    assert errors.rstrip() in suite.stdout + suite.stderr
    assert " passed" not in suite.stdout

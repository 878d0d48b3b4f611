"""Two team repositories on one laptop share one Dagster instance, as docs/quick-start.md shows.

Each repository runs in its own venv; the workspace file is the one printed in the docs.
"""

import re
from pathlib import Path

import pytest
from conftest import IN_PROCESS, TEMPLATE, bake_template, run_in_repo

pytestmark = pytest.mark.e2e

WORKSPACE = re.search(
    r"<!-- tested: workspace.yaml -->\n```yaml\n(.*?)```",
    (TEMPLATE / "docs" / "quick-start.md").read_text(),
    re.DOTALL,
).group(1)
SEES_ORDERS = (
    "import dagster as dg; "
    "event = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey(['finance', 'orders'])); "
    "print('materialized' if event else 'never materialized')"
)


@pytest.fixture(scope="module")
def laptop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs' folder: finance and sales-analytics side by side, synced, and the workspace file."""
    root = tmp_path_factory.mktemp("laptop")
    bake_template(root, team_name="Finance", team_slug="finance")
    bake_template(root, upstream_assets="finance/orders")
    for repo in ("finance", "sales-analytics"):
        run_in_repo(root / repo, "uv", "sync", "--quiet")
    (root / "workspace.yaml").write_text(WORKSPACE)
    return root


def test_both_locations_load_from_their_own_venvs_in_one_workspace(laptop: Path) -> None:
    validate = run_in_repo(
        laptop, "sales-analytics/.venv/bin/dagster", "definitions", "validate", "-w",
        "workspace.yaml",
    )  # fmt: skip
    output = validate.stdout + validate.stderr
    assert "finance" in output and "sales-analytics" in output, output


def test_a_shared_dagster_home_shows_each_repo_the_others_materializations(
    laptop: Path, tmp_path: Path
) -> None:
    env = {"DAGSTER_HOME": str(tmp_path), "DAGSTER_SHARED_STORAGE_DIR": str(tmp_path / "assets")}
    sales = laptop / "sales-analytics"
    before = run_in_repo(sales, "uv", "run", "--no-sync", "python", "-c", SEES_ORDERS, env=env)
    run_in_repo(
        laptop / "finance", "uv", "run", "--no-sync", "dagster", "asset", "materialize", "-m",
        "finance.definitions", "--select", "finance/orders", *IN_PROCESS, env=env,
    )  # fmt: skip
    after = run_in_repo(sales, "uv", "run", "--no-sync", "python", "-c", SEES_ORDERS, env=env)
    assert (before.stdout.strip(), after.stdout.strip()) == ("never materialized", "materialized")

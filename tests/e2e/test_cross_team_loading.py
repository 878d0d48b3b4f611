"""Two teams, two repos, two venvs, two processes: B loads A's asset through the shared storage.

Against a real S3 server (SeaweedFS) on 127.0.0.1 and against the local filesystem default.
"""

import json
import time
from pathlib import Path

import pytest

from fleet.org import org_settings, team_settings
from testkit.repos import bake_template, run_in_repo
from testkit.s3_servers import free_port, s3_client, seaweedfs
from testkit.team_runs import in_dagster_plus, materialize, s3_value

ORG = org_settings()
PROD = ORG["prod_deployment"]
PROD_BUCKET, PREFIX = ORG["buckets"][PROD], ORG["storage_prefix"]
A_KEY, B_KEY = f"{PREFIX}/finance/orders.json", f"{PREFIX}/sales/uses_finance__orders.json"


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Team A (finance) and team B (sales, reading finance/orders), each synced in its own venv."""
    root = tmp_path_factory.mktemp("teams")
    repos = {
        "a": bake_template(root / "a", team_name="Finance", team_slug="finance"),
        "b": bake_template(
            root / "b", team_name="Sales", team_slug="sales", upstream_assets="finance/orders"
        ),
    }
    for repo in repos.values():
        run_in_repo(repo, "uv", "sync", "--quiet")
    return repos


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """A SeaweedFS server with the org's prod bucket."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs"), [PROD_BUCKET]) as endpoint:
        yield endpoint


def test_team_b_loads_team_a_asset_from_s3_in_prod(teams, s3) -> None:
    materialize(teams["a"], "finance/orders", in_dagster_plus(s3))
    materialize(teams["b"], "sales/uses_finance__orders", in_dagster_plus(s3))
    assert s3_value(s3, B_KEY) == {"source": "finance/orders", "rows": 2}


def test_branch_runs_never_touch_prod_and_still_read_it(teams, s3) -> None:
    materialize(teams["a"], "finance/orders", in_dagster_plus(s3))
    client = s3_client(s3)
    prod_before = client.head_object(Bucket=PROD_BUCKET, Key=A_KEY)
    materialize(teams["a"], "finance/orders", in_dagster_plus(s3, "pr-7", branch=True))
    materialize(teams["b"], "sales/uses_finance__orders", in_dagster_plus(s3, "pr-8", branch=True))
    prod_after = client.head_object(Bucket=PROD_BUCKET, Key=A_KEY)
    assert (prod_after["ETag"], prod_after["LastModified"]) == (
        prod_before["ETag"],
        prod_before["LastModified"],
    )
    assert s3_value(s3, f"{PREFIX}-branches/pr-7/finance/orders.json") == s3_value(s3, A_KEY)
    assert s3_value(s3, f"{PREFIX}-branches/pr-8/sales/uses_finance__orders.json") == {
        "source": "finance/orders",
        "rows": 2,
    }


def test_team_b_loads_team_a_asset_from_the_local_shared_directory(teams, tmp_path: Path) -> None:
    local = {"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)}
    materialize(teams["a"], "finance/orders", local)
    materialize(teams["b"], "sales/uses_finance__orders", local)
    stored = tmp_path / PREFIX / "sales" / "uses_finance__orders.json"
    assert json.loads(stored.read_text()) == {"source": "finance/orders", "rows": 2}


def test_a_hand_edited_storage_is_caught_by_tests_and_fails_runs_clearly(teams, s3) -> None:
    materialize(teams["a"], "finance/orders", in_dagster_plus(s3))
    storage = teams["b"] / "src" / "sales" / "storage.py"
    original = storage.read_text()
    storage.write_text(original.replace(f'PREFIX = "{PREFIX}"', 'PREFIX = "sales-only"'))
    try:
        tests = run_in_repo(teams["b"], "uv", "run", "--no-sync", "pytest", "-q", check=False)
        run = materialize(
            teams["b"], "sales/uses_finance__orders", in_dagster_plus(s3), check=False
        )
    finally:
        storage.write_text(original)
    assert tests.returncode != 0
    assert "storage.py no longer matches the org's shared storage" in tests.stdout
    assert run.returncode != 0
    assert (
        f"finance/orders is not stored under 's3://{PROD_BUCKET}/sales-only'"
        in run.stdout + run.stderr
    )


def test_a_missing_bucket_fails_with_bucket_and_endpoint_named(teams, tmp_path: Path) -> None:
    with seaweedfs(tmp_path, buckets=[]) as empty:
        run = materialize(teams["a"], "finance/orders", in_dagster_plus(empty), check=False)
    assert run.returncode != 0
    message = f"Cannot use S3 bucket {PROD_BUCKET!r} at {empty}: the bucket does not exist."
    assert message in run.stdout + run.stderr


def test_an_unreachable_endpoint_fails_quickly_with_bucket_and_endpoint_named(teams) -> None:
    """Quickly: about as long as a run that fails at once, on however busy a machine."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    at_once = materialize(
        teams["a"], "finance/orders", {"DAGSTER_CLOUD_DEPLOYMENT_NAME": "x"}, check=False
    )
    baseline = time.monotonic() - started
    run = materialize(teams["a"], "finance/orders", in_dagster_plus(endpoint), check=False)
    elapsed = time.monotonic() - started - baseline
    assert at_once.returncode != 0 and run.returncode != 0
    assert f"Cannot use S3 bucket {PROD_BUCKET!r} at {endpoint}" in run.stdout + run.stderr
    assert elapsed < 2 * baseline + 30, (
        f"took {elapsed:.0f} s; failing at once took {baseline:.0f} s"
    )


def test_an_unknown_deployment_fails_at_load_time_naming_the_known_ones(teams) -> None:
    env = {"DAGSTER_CLOUD_DEPLOYMENT_NAME": "sandbox"}
    run = run_in_repo(
        teams["a"],
        "uv",
        "run",
        "--no-sync",
        "dagster",
        "definitions",
        "validate",
        env=env,
        check=False,
    )
    assert run.returncode != 0
    assert (
        "No shared storage for Dagster+ deployment 'sandbox'; known deployments: "
        f"{', '.join(team_settings({})['buckets'])}" in run.stdout + run.stderr
    )

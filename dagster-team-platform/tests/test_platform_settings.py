"""The platform package picks where a team's assets go: the shared directory on a laptop, the
org's bucket in a deployment, a prefix of their own for branch deployments. In-process.
"""

from pathlib import Path

import dagster as dg
import pytest
from dagster_team_platform.io_manager import SharedStorageIOManager
from dagster_team_platform.settings import StorageSettings

BUCKETS = {"prod": "acme-prod", "staging": "acme-staging"}
SETTINGS = StorageSettings(
    buckets=BUCKETS, branch_base="prod", prefix="dagster", branch_prefix="dagster-branches",
    region="eu-west-1", local_dir="~/.dagster/shared", history_days=30, team="sales_analytics",
)  # fmt: skip


def test_locally_assets_go_to_the_shared_directory(tmp_path: Path) -> None:
    io_manager = SETTINGS.io_manager({"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)})
    assert io_manager == SharedStorageIOManager(
        base=str(tmp_path / "dagster"), team="sales_analytics", history_days=30
    )


def test_the_local_default_expands_the_home_directory() -> None:
    io_manager = SETTINGS.io_manager({})
    assert io_manager.base == str(Path.home() / ".dagster/shared/dagster")


@pytest.mark.parametrize("deployment", list(BUCKETS))
def test_full_deployments_use_the_org_bucket_and_prefix(deployment: str) -> None:
    io_manager = SETTINGS.io_manager({"DAGSTER_CLOUD_DEPLOYMENT_NAME": deployment})
    assert io_manager.base == f"s3://{BUCKETS[deployment]}/dagster"
    assert io_manager.read_only_fallback is None
    assert (io_manager.team, io_manager.region) == ("sales_analytics", "eu-west-1")


def test_branch_deployments_write_apart_and_read_the_base_deployment() -> None:
    environ = {"DAGSTER_CLOUD_DEPLOYMENT_NAME": "pr-42", "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1"}
    io_manager = SETTINGS.io_manager(environ)
    assert io_manager.base == "s3://acme-prod/dagster-branches/pr-42"
    assert io_manager.read_only_fallback == "s3://acme-prod/dagster"


def test_an_unknown_deployment_is_refused_by_name() -> None:
    known = "'elsewhere'; known deployments: prod, staging. Ask the platform team"
    with pytest.raises(dg.DagsterInvalidDefinitionError, match=known):
        SETTINGS.io_manager({"DAGSTER_CLOUD_DEPLOYMENT_NAME": "elsewhere"})

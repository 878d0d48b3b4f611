{%- import "team.jinja" as team with context -%}
{%- from "org.jinja" import org -%}
"""The shared IO manager picks the org's storage for each place the code runs, and never drifts.

Template-owned: the expected values below are the org's, rendered by the template.
"""

from pathlib import Path

import dagster as dg
import pytest

from {{ team.package }} import storage
from {{ team.package }}.s3_storage import SharedS3IOManager

ORG_STORAGE = {
    "BUCKETS": {
{%- for deployment, bucket in team.buckets.items() %}
        "{{ deployment }}": "{{ bucket }}",
{%- endfor %}
    },
    "PREFIX": "{{ org.storage_prefix }}",
    "BRANCH_PREFIX": "{{ org.storage_prefix }}-branches",
    "REGION": "{{ org.region }}",
}


def test_storage_settings_are_the_orgs() -> None:
    current = {name: getattr(storage, name) for name in ORG_STORAGE}
    assert current == ORG_STORAGE, (
        "storage.py no longer matches the org's shared storage, so other teams cannot load this "
        "team's assets. Revert the edit (`git checkout src/{{ team.package }}/storage.py`) or ask "
        "the platform team to change the template."
    )


def test_locally_assets_go_to_the_shared_directory(tmp_path: Path) -> None:
    io_manager = storage.shared_io_manager({"DAGSTER_SHARED_STORAGE_DIR": str(tmp_path)})
    assert io_manager == dg.FilesystemIOManager(base_dir=str(tmp_path / "{{ org.storage_prefix }}"))


def test_the_local_default_expands_the_home_directory() -> None:
    io_manager = storage.shared_io_manager({})
    assert isinstance(io_manager, dg.FilesystemIOManager)
    assert io_manager.base_dir == str(Path(storage.LOCAL_DIR).expanduser() / "{{ org.storage_prefix }}")
    assert "~" not in io_manager.base_dir


@pytest.mark.parametrize("deployment", list(ORG_STORAGE["BUCKETS"]))
def test_full_deployments_use_the_org_bucket_and_prefix(deployment: str) -> None:
    io_manager = storage.shared_io_manager({"DAGSTER_CLOUD_DEPLOYMENT_NAME": deployment})
    assert isinstance(io_manager, SharedS3IOManager)
    assert io_manager.s3_bucket == ORG_STORAGE["BUCKETS"][deployment]
    assert io_manager.s3_prefix == "{{ org.storage_prefix }}"
    assert io_manager.read_only_fallback_prefix is None


def test_branch_deployments_write_apart_and_read_the_base_deployment() -> None:
    environ = {"DAGSTER_CLOUD_DEPLOYMENT_NAME": "pr-42", "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1"}
    io_manager = storage.shared_io_manager(environ)
    assert io_manager.s3_bucket == "{{ org.buckets[org.prod_deployment] }}"
    assert io_manager.s3_prefix == "{{ org.storage_prefix }}-branches/pr-42"
    assert io_manager.read_only_fallback_prefix == "{{ org.storage_prefix }}"


def test_an_unknown_deployment_is_refused_by_name() -> None:
    known = "'elsewhere'; known deployments: {{ team.buckets | join(", ") }}"
    with pytest.raises(dg.DagsterInvalidDefinitionError, match=known):
        storage.shared_io_manager({"DAGSTER_CLOUD_DEPLOYMENT_NAME": "elsewhere"})

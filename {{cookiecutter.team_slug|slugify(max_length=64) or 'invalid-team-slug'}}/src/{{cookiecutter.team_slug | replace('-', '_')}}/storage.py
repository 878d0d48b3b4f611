{%- import "team.jinja" as team with context -%}
{%- from "org.jinja" import org -%}
"""The org's shared-storage settings, identical in every team repo so teams load each other's assets.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
tests/test_storage.py fails when it drifts.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster_team_platform import history
from dagster_team_platform.io_manager import SharedStorageIOManager

BUCKETS = {
{%- for deployment, bucket in team.buckets.items() %}
    "{{ deployment }}": "{{ bucket }}",
{%- endfor %}
}
BRANCH_BASE = "{{ team.prod_deployment }}"
PREFIX = "{{ org.storage_prefix }}"
BRANCH_PREFIX = "{{ org.storage_prefix }}-branches"
REGION = "{{ org.region }}"
LOCAL_DIR = "{{ org.local_storage_dir }}"
LOCAL_DIR_VARIABLE = "DAGSTER_SHARED_STORAGE_DIR"
HISTORY_DAYS = {{ org.storage_history_days }}
TEAM = "{{ team.package }}"
ORGANIZATION = "{{ org.organization }}"  # Dagster+, where `shared-storage rollback` records


def shared_io_manager(environ: Mapping[str, str] = os.environ) -> SharedStorageIOManager:
    """Build the IO manager for where this code runs: a laptop, a branch or a full deployment.

    Branch deployments write under their own prefix, which no full deployment reads, and read
    what they have not materialized themselves from their base deployment, never writing there.
    """
    deployment = environ.get("DAGSTER_CLOUD_DEPLOYMENT_NAME")
    if not deployment:
        base_dir = Path(environ.get(LOCAL_DIR_VARIABLE) or LOCAL_DIR).expanduser()
        return SharedStorageIOManager(
            base=str(base_dir / PREFIX), team=TEAM, history_days=HISTORY_DAYS
        )
    branch = environ.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT") == "1"
    if branch:
        return SharedStorageIOManager(
            base=f"s3://{BUCKETS[BRANCH_BASE]}/{BRANCH_PREFIX}/{deployment}",
            team=TEAM,
            read_only_fallback=f"s3://{BUCKETS[BRANCH_BASE]}/{PREFIX}",
            region=REGION,
        )
    if deployment not in BUCKETS:
        raise dg.DagsterInvalidDefinitionError(
            f"No shared storage for Dagster+ deployment {deployment!r}; known deployments: "
            f"{', '.join(BUCKETS)}. Ask the platform team to add it to the template's org settings."
        )
    return SharedStorageIOManager(
        base=f"s3://{BUCKETS[deployment]}/{PREFIX}", team=TEAM, region=REGION
    )


def shared_storage() -> int:
    """`uv run shared-storage history|rollback ASSET`: versions of this team's shared assets."""
    return history.main(shared_io_manager(), ORGANIZATION)

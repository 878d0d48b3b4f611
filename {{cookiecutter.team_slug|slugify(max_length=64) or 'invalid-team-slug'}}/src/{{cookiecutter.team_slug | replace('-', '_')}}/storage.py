{%- import "team.jinja" as team with context -%}
{%- from "org.jinja" import org -%}
"""The org's shared-storage settings, identical in every team repo so teams load each other's assets.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
tests/test_platform.py fails when it drifts.
"""

import os
from collections.abc import Mapping

from dagster_team_platform import history
from dagster_team_platform.io_manager import SharedStorageIOManager
from dagster_team_platform.settings import StorageSettings

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
HISTORY_DAYS = {{ org.storage_history_days }}
TEAM = "{{ team.package }}"
ORGANIZATION = "{{ org.organization }}"  # Dagster+, where `shared-storage rollback` records

SETTINGS = StorageSettings(
    BUCKETS, BRANCH_BASE, PREFIX, BRANCH_PREFIX, REGION, LOCAL_DIR, HISTORY_DAYS, TEAM
)


def shared_io_manager(environ: Mapping[str, str] = os.environ) -> SharedStorageIOManager:
    """The IO manager for where this code runs: a laptop, a branch or a full deployment."""
    return SETTINGS.io_manager(environ)


def shared_storage() -> int:
    """`uv run shared-storage history|rollback ASSET`: versions of this team's shared assets."""
    return history.main(shared_io_manager(), ORGANIZATION)

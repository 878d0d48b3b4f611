{%- import "team.jinja" as team with context -%}
{%- from "org.jinja" import org -%}
"""This repo is the org's: its storage settings, platform package and alert policies, and no
template update is left half-merged. The platform's behaviour is tested in the template, once for
every team.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from dagster_team_platform import alert_policies
from dagster_team_platform.declarations import load
from dagster_team_platform.settings import StorageSettings

from {{ team.package }} import storage
from {{ team.package }}.definitions import UPSTREAMS

ROOT = Path(__file__).resolve().parents[1]
ORG_STORAGE = {
    "BUCKETS": {
{%- for deployment, bucket in team.buckets.items() %}
        "{{ deployment }}": "{{ bucket }}",
{%- endfor %}
    },
    "PREFIX": "{{ org.storage_prefix }}",
    "BRANCH_PREFIX": "{{ org.storage_prefix }}-branches",
    "REGION": "{{ org.region }}",
    "HISTORY_DAYS": {{ org.storage_history_days }},
}


def test_storage_settings_are_the_orgs() -> None:
    current = {name: getattr(storage, name) for name in ORG_STORAGE}
    assert current == ORG_STORAGE, (
        "storage.py no longer matches the org's shared storage, so other teams cannot load this "
        "team's assets. Revert the edit (`git checkout src/{{ team.package }}/storage.py`) or ask "
        "the platform team to change the template."
    )
    assert storage.SETTINGS == StorageSettings(
        storage.BUCKETS, "{{ team.prod_deployment }}", storage.PREFIX, storage.BRANCH_PREFIX,
        storage.REGION, "{{ org.local_storage_dir }}", storage.HISTORY_DAYS, "{{ team.package }}",
    )  # fmt: skip


def test_the_platform_package_is_the_vendored_one() -> None:
    vendored = tomllib.loads((ROOT / "vendor/dagster-team-platform/pyproject.toml").read_text())
    locked = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    (platform,) = [p for p in locked if p["name"] == "dagster-team-platform"]
    assert platform["source"] == {"editable": "vendor/dagster-team-platform"}
    assert platform["version"] == vendored["project"]["version"], "Run `uv lock` and commit it."


def test_alert_policies_and_the_upstreams_policy_are_valid() -> None:
    policies = yaml.safe_load((ROOT / "alert_policies.yaml").read_text())["alert_policies"]
    upstreams = [upstream.key for upstream in load("{{ team.package }}", UPSTREAMS)]
    synced = alert_policies.with_upstreams(policies, "{{ team.location }}", upstreams)
    assert alert_policies.problems(synced, "{{ team.location }}") == []


def test_no_template_update_is_left_half_merged() -> None:
    """The check CI runs first, run the same way: from vendor/template-tools, nothing installed."""
    tools = {"PYTHONPATH": str(ROOT / "vendor/template-tools/src")}
    check = subprocess.run(
        [sys.executable, "-m", "template_tools.state"], cwd=ROOT, env=os.environ | tools,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr

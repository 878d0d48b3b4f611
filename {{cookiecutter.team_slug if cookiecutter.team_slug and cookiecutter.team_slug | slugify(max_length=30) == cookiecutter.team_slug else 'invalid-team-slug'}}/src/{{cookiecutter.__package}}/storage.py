{%- import "team.jinja" as team with context -%}
{%- from "org.jinja" import org -%}
"""The org's shared IO manager, identical in every team repo so teams can load each other's assets.

Template-owned: `cruft update` replaces this file. Ask the platform team to change the template
instead of editing it here; the tests fail when it drifts.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

BUCKETS = {
    "{{ team.prod_deployment }}": "{{ org.buckets[org.prod_deployment] }}",
{%- if team.staging_deployment %}
    "{{ team.staging_deployment }}": "{{ org.buckets[org.staging_deployment] }}",
{%- endif %}
}
PREFIX = "{{ org.storage_prefix }}"
REGION = "{{ org.region }}"
LOCAL_DIR = "{{ org.local_storage_dir }}"
LOCAL_DIR_VARIABLE = "DAGSTER_SHARED_STORAGE_DIR"


def shared_io_manager(environ: Mapping[str, str] = os.environ) -> dg.ConfigurableIOManager:
    """Build the IO manager for where this code runs: a Dagster+ deployment, or a laptop."""
    deployment = environ.get("DAGSTER_CLOUD_DEPLOYMENT_NAME")
    if not deployment:
        base_dir = Path(environ.get(LOCAL_DIR_VARIABLE) or LOCAL_DIR).expanduser()
        return dg.FilesystemIOManager(base_dir=str(base_dir / PREFIX))
    if deployment not in BUCKETS:
        known = ", ".join(sorted(BUCKETS))
        raise ValueError(
            f"No shared storage for Dagster+ deployment {deployment!r}; known deployments: {known}. "
            "Ask the platform team to add it to the template's org settings."
        )
    # Imported here: the S3 stack costs about half a second that local runs do not need.
    from dagster_aws.s3 import S3PickleIOManager, S3Resource

    return S3PickleIOManager(
        s3_resource=S3Resource(region_name=REGION),
        s3_bucket=BUCKETS[deployment],
        s3_prefix=PREFIX,
    )

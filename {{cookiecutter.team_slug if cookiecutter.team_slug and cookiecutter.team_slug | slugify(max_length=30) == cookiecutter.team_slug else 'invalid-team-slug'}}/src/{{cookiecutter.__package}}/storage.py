{%- import "team.jinja" as team with context -%}
{%- from "org.jinja" import org -%}
"""The org's shared IO manager, identical in every team repo so teams can load each other's assets.

Template-owned: `cruft update` replaces this file, and tests/test_storage.py fails when it drifts.
Ask the platform team to change the template instead of editing it here.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

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


def shared_io_manager(environ: Mapping[str, str] = os.environ) -> dg.ConfigurableIOManager:
    """Build the IO manager for where this code runs: a laptop, a branch or a full deployment.

    Branch deployments write under their own prefix, which no full deployment reads, and read
    what they have not materialized themselves from their base deployment, never writing there.
    """
    deployment = environ.get("DAGSTER_CLOUD_DEPLOYMENT_NAME")
    if not deployment:
        base_dir = Path(environ.get(LOCAL_DIR_VARIABLE) or LOCAL_DIR).expanduser()
        return dg.FilesystemIOManager(base_dir=str(base_dir / PREFIX))
    branch = environ.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT") == "1"
    if not branch and deployment not in BUCKETS:
        raise dg.DagsterInvalidDefinitionError(
            f"No shared storage for Dagster+ deployment {deployment!r}; known deployments: "
            f"{', '.join(BUCKETS)}. Ask the platform team to add it to the template's org settings."
        )
    # Imported here: the S3 stack costs about half a second that local runs do not need.
    from {{ team.package }}.s3_storage import SharedS3IOManager, s3_resource

    if branch:
        return SharedS3IOManager(
            s3_resource=s3_resource(REGION),
            s3_bucket=BUCKETS[BRANCH_BASE],
            s3_prefix=f"{BRANCH_PREFIX}/{deployment}",
            read_only_fallback_prefix=PREFIX,
        )
    return SharedS3IOManager(
        s3_resource=s3_resource(REGION), s3_bucket=BUCKETS[deployment], s3_prefix=PREFIX
    )

"""Where a team's assets are stored, for where its code runs: a laptop, a branch or a deployment.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

A team repo's storage.py holds the org's values; this turns them into the IO manager.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from .io_manager import SharedStorageIOManager

LOCAL_DIR_VARIABLE = "DAGSTER_SHARED_STORAGE_DIR"


@dataclass(frozen=True)
class StorageSettings:
    """The org's shared-storage settings, identical in every team repo, and the team's name."""

    buckets: Mapping[str, str]
    branch_base: str
    prefix: str
    branch_prefix: str
    region: str
    local_dir: str
    history_days: int
    team: str

    def io_manager(self, environ: Mapping[str, str] = os.environ) -> SharedStorageIOManager:
        """The IO manager for where this code runs.

        Branch deployments write under their own prefix, which no full deployment reads, and
        read what they have not materialized themselves from their base deployment, never
        writing there.
        """
        deployment = environ.get("DAGSTER_CLOUD_DEPLOYMENT_NAME")
        if not deployment:
            base_dir = Path(environ.get(LOCAL_DIR_VARIABLE) or self.local_dir).expanduser()
            return SharedStorageIOManager(
                base=str(base_dir / self.prefix), team=self.team, history_days=self.history_days
            )
        if environ.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT") == "1":
            bucket = self.buckets[self.branch_base]
            return SharedStorageIOManager(
                base=f"s3://{bucket}/{self.branch_prefix}/{deployment}",
                team=self.team,
                read_only_fallback=f"s3://{bucket}/{self.prefix}",
                region=self.region,
            )
        if deployment not in self.buckets:
            raise dg.DagsterInvalidDefinitionError(
                f"No shared storage for Dagster+ deployment {deployment!r}; known deployments: "
                f"{', '.join(self.buckets)}. Ask the platform team to add it to the template's "
                "org settings."
            )
        return SharedStorageIOManager(
            base=f"s3://{self.buckets[deployment]}/{self.prefix}",
            team=self.team,
            region=self.region,
        )

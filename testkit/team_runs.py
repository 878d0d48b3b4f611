"""Materialize a generated team repo's assets in its own venv, locally or as in Dagster+."""

import json
from pathlib import Path

from fleet.org import org_settings
from testkit.repos import IN_PROCESS, run_in_repo
from testkit.s3_servers import CREDENTIALS, s3_client

ORG = org_settings()
PROD = ORG["prod_deployment"]
PROD_BUCKET = ORG["buckets"][PROD]


def materialize(repo: Path, key: str, env: dict[str, str], check: bool = True):
    """`dagster asset materialize` of one asset, in one process, with the repo's own venv."""
    command = ["uv", "run", "--no-sync", "dagster", "asset", "materialize"]
    command += ["-m", f"{repo.name}.definitions", "--select", key, *IN_PROCESS]
    return run_in_repo(repo, *command, env=env, check=check)


def in_dagster_plus(endpoint: str, deployment: str = PROD, branch: bool = False) -> dict[str, str]:
    """The environment Dagster+ gives a run of `deployment`, with S3 at `endpoint`."""
    env = CREDENTIALS | {"AWS_ENDPOINT_URL": endpoint, "DAGSTER_CLOUD_DEPLOYMENT_NAME": deployment}
    return env | ({"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1"} if branch else {})


def s3_value(endpoint: str, key: str) -> object:
    """A JSON object stored in the prod bucket."""
    return json.loads(s3_client(endpoint).get_object(Bucket=PROD_BUCKET, Key=key)["Body"].read())

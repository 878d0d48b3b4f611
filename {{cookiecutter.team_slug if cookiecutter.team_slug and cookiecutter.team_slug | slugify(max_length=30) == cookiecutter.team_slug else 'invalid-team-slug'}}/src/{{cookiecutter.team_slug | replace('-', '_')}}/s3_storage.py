"""dagster-aws's S3 IO manager with clear errors and read-only fallback reads for branches.

Template-owned, like storage.py, which imports this module only when it runs in Dagster+.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from botocore.exceptions import BotoCoreError, ClientError
from dagster_aws.s3 import S3PickleIOManager, S3Resource
from dagster_aws.s3.io_manager import PickledObjectS3IOManager


def s3_resource(region: str) -> S3Resource:
    """S3 in the org's region; AWS_ENDPOINT_URL(_S3) points boto3 at an S3-compatible store."""
    return S3Resource(region_name=region, max_attempts=3)


class SharedS3IOManager(S3PickleIOManager):
    """S3PickleIOManager that names bucket and endpoint in its errors and can read a fallback.

    With `read_only_fallback_prefix`, an input missing under `s3_prefix` is read from there
    instead; nothing is ever written under the fallback prefix.
    """

    read_only_fallback_prefix: str | None = None

    def inner_io_manager(self) -> PickledObjectS3IOManager:
        with self._explained_errors():
            return super().inner_io_manager()

    def load_input(self, context: dg.InputContext) -> Any:
        try:
            return super().load_input(context)
        except FileNotFoundError as missing:
            if self.read_only_fallback_prefix is None:
                raise self._not_found(context) from missing
        with self._explained_errors():
            fallback = PickledObjectS3IOManager(
                s3_bucket=self.s3_bucket,
                s3_session=self.s3_resource.get_client(),
                s3_prefix=self.read_only_fallback_prefix,
            )
        try:
            return fallback.load_input(context)
        except FileNotFoundError as missing:
            raise self._not_found(context) from missing

    def _not_found(self, context: dg.InputContext) -> dg.Failure:
        key = context.asset_key.to_user_string() if context.has_asset_key else context.name
        return dg.Failure(
            f"{key} is not in S3 bucket {self.s3_bucket!r} under {self.s3_prefix!r}"
            + (f" or {self.read_only_fallback_prefix!r}" if self.read_only_fallback_prefix else "")
            + ". Materialize it in this deployment first; if its owner has, check that this "
            "repo's storage.py still matches the org's (its tests check this)."
        )

    @contextmanager
    def _explained_errors(self) -> Iterator[None]:
        try:
            yield
        except (BotoCoreError, ClientError) as error:
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            raise dg.Failure(
                f"Cannot use S3 bucket {self.s3_bucket!r} at {endpoint or 'AWS S3'}: {error}. "
                "Check that the bucket exists, that AWS_ENDPOINT_URL points at the right store "
                "and that this deployment's credentials can reach it."
            ) from error

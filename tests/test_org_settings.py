"""The platform team's org settings follow AWS's and Dagster+'s rules before any team uses them.

These values are not answers: no hook can see them and no team can change them, so they are
checked here, where the platform team runs the tests after editing templates/org.jinja.
"""

import re

import pytest
from org import org_settings

BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
DEPLOYMENT = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
STORAGE_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*")


def is_valid_bucket(name: str) -> bool:
    """AWS's naming rules for general-purpose S3 buckets."""
    return bool(
        BUCKET.fullmatch(name)
        and ".." not in name
        and not IP_ADDRESS.fullmatch(name)
        and not name.startswith(RESERVED_PREFIXES)
        and not name.endswith(RESERVED_SUFFIXES)
    )


@pytest.mark.parametrize("name", ["abc", "acme-dagster-prod", "acme.dagster.2026", "a" * 63])
def test_valid_bucket_names_pass(name: str) -> None:
    assert is_valid_bucket(name)


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "Acme", "acme_prod", "-acme", "acme-", "acme..prod", "192.168.5.4",
     "xn--acme", "sthree-acme", "amzn-s3-demo-acme", "acme-s3alias", "acme--ol-s3", "acme.mrap",
     "acme--x-s3", "acme--table-s3"],
)  # fmt: skip
def test_invalid_bucket_names_fail(name: str) -> None:
    assert not is_valid_bucket(name)


def test_every_bucket_follows_aws_naming_rules() -> None:
    buckets = org_settings()["buckets"].values()
    assert [bucket for bucket in buckets if not is_valid_bucket(bucket)] == []


def test_every_deployment_has_a_bucket_and_a_dagster_plus_name() -> None:
    org = org_settings()
    deployments = [org["prod_deployment"]] + (
        [org["staging_deployment"]] * bool(org["staging_deployment"])
    )
    assert sorted(org["buckets"]) == sorted(deployments)
    assert [name for name in deployments if not DEPLOYMENT.fullmatch(name)] == []


def test_storage_prefix_is_a_plain_s3_key_prefix() -> None:
    assert STORAGE_PREFIX.fullmatch(org_settings()["storage_prefix"])

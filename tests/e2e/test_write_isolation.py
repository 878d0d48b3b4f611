"""The generated IAM policy lets a team write only its own prefix, enforced by a real IAM engine.

moto's server enforces IAM policies on S3 once its unauthenticated setup calls are spent.
"""

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from dagster_team_platform.store import S3Store

from fleet.org import org_settings
from testkit.repos import bake_template
from testkit.s3_servers import moto_with_iam, s3_client

ORG = org_settings()
BUCKET, PREFIX = ORG["buckets"][ORG["prod_deployment"]], ORG["storage_prefix"]
SETUP_CALLS = 8  # create_bucket, put_bucket_versioning + 3 calls (user, policy, key) per team


@pytest.fixture(scope="module")
def team_clients(tmp_path_factory: pytest.TempPathFactory):
    """S3 clients of team A (finance) and team B (sales), each holding only its generated policy."""
    root = tmp_path_factory.mktemp("iam")
    policies = {
        slug: (
            bake_template(root / slug, team_slug=slug) / "deploy" / "iam-policy.json"
        ).read_text()
        for slug in ("finance", "sales")
    }
    with moto_with_iam(SETUP_CALLS) as endpoint:
        # S3 refuses us-east-1, its default, as an explicit location constraint.
        location = {"CreateBucketConfiguration": {"LocationConstraint": ORG["region"]}}
        s3_client(endpoint).create_bucket(
            Bucket=BUCKET, **(location if ORG["region"] != "us-east-1" else {})
        )
        s3_client(endpoint).put_bucket_versioning(
            Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")  # fmt: skip
        clients = {}
        for slug, policy in policies.items():
            iam.create_user(UserName=slug)
            iam.put_user_policy(UserName=slug, PolicyName="dagster-storage", PolicyDocument=policy)
            key = iam.create_access_key(UserName=slug)["AccessKey"]
            clients[slug] = s3_client(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        yield clients


def allowed(call) -> bool:
    try:
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        return False
    return True


@pytest.mark.parametrize(
    ("team", "key", "expected"),
    [
        ("finance", f"{PREFIX}/finance/orders", True),
        ("finance", f"{PREFIX}/storage/run-1/step/result", True),
        ("finance", f"{PREFIX}-branches/pr-7/finance/orders", True),
        ("sales", f"{PREFIX}/finance/orders", False),
        ("sales", f"{PREFIX}-branches/pr-7/finance/orders", False),
        ("sales", f"{PREFIX}/sales/uses_finance__orders", True),
        ("sales", "elsewhere/finance/orders", False),
    ],
)
def test_teams_write_only_their_own_prefix(
    team_clients, team: str, key: str, expected: bool
) -> None:
    put = lambda: team_clients[team].put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert allowed(put) is expected


def test_every_team_reads_every_teams_assets(team_clients) -> None:
    team_clients["finance"].put_object(Bucket=BUCKET, Key=f"{PREFIX}/finance/revenue", Body=b"42")
    body = team_clients["sales"].get_object(Bucket=BUCKET, Key=f"{PREFIX}/finance/revenue")["Body"]
    assert body.read() == b"42"


def test_the_policy_is_valid_iam_json(tmp_path: Path) -> None:
    policy = json.loads((bake_template(tmp_path) / "deploy" / "iam-policy.json").read_text())
    assert policy["Version"] == "2012-10-17"
    assert {statement["Sid"] for statement in policy["Statement"]} == {
        "ListSharedStorage", "ReadEveryTeamsAssets", "WriteOnlyOwnAssetsAndRunOutputs"
    }  # fmt: skip


def test_only_the_owning_team_rolls_an_asset_back_and_every_team_reads_old_versions(
    team_clients,
) -> None:
    """A rollback is a copy of an earlier version onto the key: the write rules decide who."""
    finance, sales = team_clients["finance"], team_clients["sales"]
    key = f"{PREFIX}/finance/ledger.json"
    v1 = finance.put_object(Bucket=BUCKET, Key=key, Body=b"1")["VersionId"]
    finance.put_object(Bucket=BUCKET, Key=key, Body=b"2")
    restore = {"Bucket": BUCKET, "Key": key, "CopySource": {"Bucket": BUCKET, "Key": key, "VersionId": v1}}  # fmt: skip
    assert not allowed(lambda: sales.copy_object(**restore))
    pinned = sales.get_object(Bucket=BUCKET, Key=key, VersionId=v1)["Body"].read()
    listed = sales.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
    assert pinned == b"1" and len(listed) == 2
    assert allowed(lambda: finance.copy_object(**restore))
    assert finance.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"1"
    upload = finance.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    assert not allowed(
        lambda: sales.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload)
    )
    assert allowed(lambda: finance.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload))


def test_the_platforms_store_publishes_and_rolls_back_within_the_teams_own_rights(
    team_clients,
) -> None:
    """The lock, the journal, retiring a format and a rollback: all under the team's prefix."""
    root = f"{BUCKET}/{PREFIX}"
    finance = S3Store(root, history_days=30, client=team_clients["finance"])
    stem = f"{root}/finance/balances"
    finance.publish(stem, "json", lambda sink: sink.write(b"[1]"), run_id="run-1")
    finance.publish(stem, "parquet", lambda sink: sink.write(b"PAR1"), run_id="run-2")
    versions = finance.history(stem)
    assert [version.run_id for version in versions] == ["run-2", "run-1"]
    finance.rollback(versions[1], expected=versions[0].id)
    assert [version.kind for version in finance.history(stem)] == ["json", "parquet", "json"]
    sales = S3Store(root, history_days=30, client=team_clients["sales"])
    with pytest.raises(ClientError, match="AccessDenied"):
        sales.publish(stem, "json", lambda sink: sink.write(b"[2]"), run_id="run-3")
    assert len(sales.history(stem)) == 3  # every team reads the history

"""The org's buckets and every team's identities as `fleet infra` renders them: clean in cfn-lint
and checkov, deployed on moto with IAM enforced, and proven there from both sides. A branch
deployment's identity cannot write production; each full deployment's writes only its team's
prefix in its own bucket; all of them read every team's assets and their history.
"""

import json
import shutil
import subprocess
import sys
import tomllib
from functools import partial
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from dagster_team_platform.store import S3Store
from uv import find_uv_bin

from fleet.audit import stack_text
from fleet.facts import read_repo
from fleet.org import org_settings
from testkit.other_org import GLOBEX
from testkit.repos import NOT_THE_TEMPLATE, TEMPLATE, bake_template, write_org
from testkit.s3_servers import moto_with_iam, s3_client

ORG = org_settings()
PREFIX = ORG["storage_prefix"]
PROD, STAGING = ORG["prod_deployment"], ORG["staging_deployment"]
BUCKET = ORG["buckets"][PROD]
#: The identities whose keys the tests take: (team, role).
PROBED = [("finance", PROD), ("finance", STAGING), ("finance", "branches"),
          ("sales", PROD), ("sales", "branches")]  # fmt: skip
LINTERS = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["dependency-groups"]["infra"]


def infra(*args: str | Path, template: Path = TEMPLATE) -> subprocess.CompletedProcess:
    """The platform engineer's command, as `nox -s fleet -- infra` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "fleet", "infra", "--template", template, *args],
        cwd=TEMPLATE, capture_output=True, text=True, check=False,
    )  # fmt: skip


def linter(name: str, *args: str | Path) -> subprocess.CompletedProcess:
    """cfn-lint or checkov at the template's pin, each in its own environment."""
    pin = next(requirement for requirement in LINTERS if requirement.startswith(f"{name}=="))
    return subprocess.run(
        [find_uv_bin(), "tool", "run", "--quiet", "--from", pin, name, *map(str, args)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Stacks for two Serverless teams and a Hybrid team pushing to ECR (named, so a fork whose
    registry is another kind runs this too)."""
    root = tmp_path_factory.mktemp("teams")
    ecr = f"123456789012.dkr.ecr.{ORG['region']}.amazonaws.com/ops"
    repos = [
        bake_template(root, team_slug="finance"),
        bake_template(root, team_slug="sales"),
        bake_template(
            root, team_slug="ops", deployment="hybrid-ecs", staging=False, image_repository=ecr
        ),
    ]
    out = root / "stacks"
    result = infra("--out", out, *repos)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def deploy(endpoint: str, out: Path, region: str) -> None:
    """Every stack in `out`, the org's first, as `aws cloudformation deploy` does."""
    setup = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
    cloudformation = boto3.client(
        "cloudformation", endpoint_url=endpoint, region_name=region, **setup
    )
    for path in [out / "org.json", *sorted(out.glob("team-*.json"))]:
        cloudformation.create_stack(
            StackName=path.stem,
            TemplateBody=path.read_text(),
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )


@pytest.fixture(scope="module")
def clients(stacks):
    """S3 clients holding the keys of the probed identities, and nothing else."""
    out, _ = stacks
    setup_calls = len(list(out.glob("*.json"))) + 1 + len(PROBED)  # stacks, versioning, keys
    with moto_with_iam(setup_calls) as endpoint:
        deploy(endpoint, out, ORG["region"])
        # moto's CloudFormation leaves versioning off (checked in the template below).
        s3_client(endpoint).put_bucket_versioning(
            Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")  # fmt: skip
        found = {}
        for team, role in PROBED:
            key = iam.create_access_key(UserName=f"dagster-{team}-{role}")["AccessKey"]
            found[team, role] = s3_client(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        yield found


def allowed(call) -> bool:
    try:
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        return False
    return True


def test_every_stack_is_clean_in_cfn_lint_and_checkov_and_each_skip_says_why(stacks) -> None:
    out, _ = stacks
    files = sorted(out.glob("*.json"))
    assert [file.name for file in files] == [
        "org.json", "team-finance.json", "team-ops.json", "team-sales.json"
    ]  # fmt: skip
    lint = linter("cfn-lint", *files)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    scan = linter("checkov", "--framework", "cloudformation", "--directory", out,
                  "--skip-download", "--output", "json")  # fmt: skip
    report = json.loads(scan.stdout)
    assert report["summary"]["failed"] == 0, report["results"]["failed_checks"]
    assert report["summary"]["passed"] > 50
    skipped = report["results"]["skipped_checks"]
    assert {check["check_id"] for check in skipped} == {"CKV_AWS_18"}  # access logs
    assert all(len(check["check_result"]["suppress_comment"]) > 40 for check in skipped)


@pytest.mark.parametrize(
    ("identity", "bucket", "key", "expected"),
    [
        (("finance", PROD), BUCKET, f"{PREFIX}/finance/orders", True),
        (("finance", PROD), BUCKET, f"{PREFIX}/storage/run-1/step/result", True),
        (("finance", PROD), BUCKET, f"{PREFIX}/sales/orders", False),
        (("finance", PROD), BUCKET, f"{PREFIX}-branches/pr-7/finance/orders", False),
        (("finance", PROD), ORG["buckets"][STAGING], f"{PREFIX}/finance/orders", False),
        (("finance", STAGING), ORG["buckets"][STAGING], f"{PREFIX}/finance/orders", True),
        (("finance", STAGING), BUCKET, f"{PREFIX}/finance/orders", False),
        (("finance", "branches"), BUCKET, f"{PREFIX}-branches/pr-7/finance/orders", True),
        (("finance", "branches"), BUCKET, f"{PREFIX}-branches/pr-7/storage/run-2/result", True),
        (("finance", "branches"), BUCKET, f"{PREFIX}/finance/orders", False),
        (("finance", "branches"), BUCKET, f"{PREFIX}/storage/run-2/result", False),
        (("finance", "branches"), BUCKET, f"{PREFIX}-branches/pr-7/sales/orders", False),
        (("finance", "branches"), ORG["buckets"][STAGING], f"{PREFIX}/finance/orders", False),
        (("sales", PROD), BUCKET, f"{PREFIX}/sales/uses_finance__orders", True),
        (("sales", PROD), BUCKET, f"{PREFIX}/finance/orders", False),
        (("sales", PROD), BUCKET, f"{PREFIX}-branches/pr-7/finance/orders", False),
        (("sales", PROD), BUCKET, "elsewhere/finance/orders", False),
        (("sales", "branches"), BUCKET, f"{PREFIX}-branches/pr-7/finance/orders", False),
        (("sales", "branches"), BUCKET, f"{PREFIX}/sales/orders", False),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else None,
)
def test_each_identity_writes_only_where_its_deployments_write(
    clients, identity, bucket, key, expected
) -> None:
    put = lambda: clients[identity].put_object(Bucket=bucket, Key=key, Body=b"x")
    assert allowed(put) is expected


def test_every_identity_reads_every_teams_assets_and_their_old_versions(clients) -> None:
    key = f"{PREFIX}/finance/revenue"
    first = clients["finance", PROD].put_object(Bucket=BUCKET, Key=key, Body=b"41")["VersionId"]
    clients["finance", PROD].put_object(Bucket=BUCKET, Key=key, Body=b"42")
    for identity in [("sales", PROD), ("sales", "branches"), ("finance", "branches")]:
        reader = clients[identity]
        assert reader.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"42"
        old = reader.get_object(Bucket=BUCKET, Key=key, VersionId=first)["Body"].read()
        assert old == b"41", identity
        assert len(reader.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]) == 2


def test_only_the_owning_production_identity_rolls_back_or_aborts_uploads(clients) -> None:
    """A rollback is a copy of an earlier version onto the key: the write rules decide who."""
    finance = clients["finance", PROD]
    key = f"{PREFIX}/finance/ledger.json"
    v1 = finance.put_object(Bucket=BUCKET, Key=key, Body=b"1")["VersionId"]
    finance.put_object(Bucket=BUCKET, Key=key, Body=b"2")
    restore = {"Bucket": BUCKET, "Key": key, "CopySource": {"Bucket": BUCKET, "Key": key, "VersionId": v1}}  # fmt: skip
    for other in [clients["sales", PROD], clients["finance", "branches"]]:
        assert not allowed(partial(other.copy_object, **restore))
    assert allowed(lambda: finance.copy_object(**restore))
    assert finance.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"1"
    upload = finance.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    abort = {"Bucket": BUCKET, "Key": key, "UploadId": upload}
    for other in [clients["sales", PROD], clients["finance", "branches"]]:
        assert not allowed(partial(other.abort_multipart_upload, **abort))
    assert allowed(lambda: finance.abort_multipart_upload(**abort))


def test_the_platforms_store_publishes_and_rolls_back_within_each_identitys_rights(
    clients,
) -> None:
    """The lock, the journal, retiring a format and a rollback: under the team's prefix."""
    root = f"{BUCKET}/{PREFIX}"
    finance = S3Store(root, history_days=30, client=clients["finance", PROD])
    stem = f"{root}/finance/balances"
    finance.publish(stem, "json", lambda sink: sink.write(b"[1]"), run_id="run-1")
    finance.publish(stem, "parquet", lambda sink: sink.write(b"PAR1"), run_id="run-2")
    versions = finance.history(stem)
    assert [version.run_id for version in versions] == ["run-2", "run-1"]
    finance.rollback(versions[1], expected=versions[0].id)
    assert [version.kind for version in finance.history(stem)] == ["json", "parquet", "json"]
    for other in [("sales", PROD), ("finance", "branches")]:
        store = S3Store(root, history_days=30, client=clients[other])
        with pytest.raises(ClientError, match="AccessDenied"):
            store.publish(stem, "json", lambda sink: sink.write(b"[2]"), run_id="run-3")
        assert len(store.history(stem)) == 3  # every identity reads the history
    branch_root = f"{BUCKET}/{PREFIX}-branches/pr-7"
    branch = S3Store(branch_root, history_days=30, client=clients["finance", "branches"])
    branch.publish(f"{branch_root}/finance/balances", "json", lambda s: s.write(b"[3]"), "run-4")
    assert [v.run_id for v in branch.history(f"{branch_root}/finance/balances")] == ["run-4"]


def test_the_buckets_keep_history_as_long_as_the_org_settings_say(stacks) -> None:
    out, _ = stacks
    resources = json.loads((out / "org.json").read_text())["Resources"]
    buckets = {
        body["Properties"]["BucketName"]: body["Properties"]
        for body in resources.values()
        if body["Type"] == "AWS::S3::Bucket"
    }
    assert sorted(buckets) == sorted(ORG["buckets"].values())
    for bucket in buckets.values():
        assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
        (rule,) = bucket["LifecycleConfiguration"]["Rules"]
        assert rule["NoncurrentVersionExpiration"] == {
            "NoncurrentDays": ORG["storage_history_days"]
        }
        assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
        assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    policies = [body for body in resources.values() if body["Type"] == "AWS::S3::BucketPolicy"]
    assert len(policies) == len(buckets)
    for policy in policies:
        (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "GitHubOidcProvider" in resources  # ops pushes to ECR


def test_the_image_push_role_trusts_only_its_teams_repository(stacks) -> None:
    out, _ = stacks
    resources = json.loads((out / "team-ops.json").read_text())["Resources"]
    trust = resources["ImagePushRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    oidc = "token.actions.githubusercontent.com"
    repo = f"repo:{ORG['github_organization']}/ops"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"]["Fn::Sub"].endswith(f":oidc-provider/{oidc}")
    assert statement["Condition"] == {
        "StringEquals": {
            f"{oidc}:aud": "sts.amazonaws.com",
            # ops deploys from main and pull requests only: it answered staging=False.
            f"{oidc}:sub": [f"{repo}:pull_request", f"{repo}:ref:refs/heads/main"],
        }
    }
    repository = resources["ImageRepository"]["Properties"]
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    assert repository["RepositoryName"] == "ops"
    (policy,) = resources["ImagePushRole"]["Properties"]["Policies"]
    push = policy["PolicyDocument"]["Statement"][1]
    assert push["Resource"] == {"Fn::GetAtt": ["ImageRepository", "Arn"]}
    serverless = json.loads((out / "team-sales.json").read_text())["Resources"]
    assert not [name for name in serverless if name.startswith("Image")]


def test_the_printed_steps_deploy_every_stack_and_scope_every_identity(stacks) -> None:
    out, steps = stacks
    organization = ORG["organization"]
    assert steps.startswith(
        f"Deploy, in this order (the org stack first):\n"
        f"  aws cloudformation deploy --stack-name {organization}-dagster-storage "
        f"--template-file {out / 'org.json'} --capabilities CAPABILITY_NAMED_IAM\n"
    )
    assert f"--stack-name {organization}-dagster-team-finance" in steps
    assert (
        "--user-name dagster-finance-branches" in steps
        and f"dg plus create env AWS_ACCESS_KEY_ID --from-local-env --scope branch "
        f"--deployment {PROD} --yes"
        in steps
    )
    assert f"gh variable set IMAGE_PUSH_ROLE_ARN --repo {ORG['github_organization']}/ops" in steps


def test_a_fork_with_other_org_values_renders_and_deploys(tmp_path: Path) -> None:
    fork = tmp_path / "fork"
    shutil.copytree(TEMPLATE, fork, ignore=NOT_THE_TEMPLATE, symlinks=True)
    write_org(fork, GLOBEX)
    repo = bake_template(tmp_path / "teams", team_slug="billing")
    result = infra("--out", tmp_path / "stacks", repo, template=fork)
    assert result.returncode == 0, result.stderr
    lint = linter("cfn-lint", *sorted((tmp_path / "stacks").glob("*.json")))
    assert lint.returncode == 0, lint.stdout
    with moto_with_iam(3) as endpoint:  # two stacks and one key
        deploy(endpoint, tmp_path / "stacks", GLOBEX["region"])
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")  # fmt: skip
        key = iam.create_access_key(UserName="dagster-billing-branches")["AccessKey"]
        billing = s3_client(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        live, prefix = GLOBEX["buckets"]["live"], GLOBEX["storage_prefix"]
        branch_key = f"{prefix}-branches/pr-1/billing/invoices"
        assert allowed(lambda: billing.put_object(Bucket=live, Key=branch_key, Body=b"x"))
        live_key = f"{prefix}/billing/invoices"
        assert not allowed(lambda: billing.put_object(Bucket=live, Key=live_key, Body=b"x"))


def test_an_unreadable_repository_writes_no_stack(stacks, tmp_path: Path) -> None:
    out, _ = stacks
    result = infra("--out", tmp_path / "stacks", out.parent / "finance", tmp_path / "missing")
    assert result.returncode == 1
    assert result.stderr == (
        f"ERROR: {tmp_path / 'missing'} does not exist. Check the path, or list a git URL.\n"
        f"Nothing was written to {tmp_path / 'stacks'}.\n"
    )
    assert not (tmp_path / "stacks").exists()


def test_the_audit_compares_committed_stacks_with_what_the_command_writes(stacks) -> None:
    out, _ = stacks
    for team in ("finance", "ops"):
        repo = read_repo(team, out.parent / team)
        assert (out / f"team-{team}.json").read_text() == stack_text(TEMPLATE, repo)

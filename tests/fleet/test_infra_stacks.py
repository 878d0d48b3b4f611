"""What each team's stack holds for its answers: an identity per deployment it runs in, and for
ECR teams the image repository and a push role trusted for exactly the deploy's OIDC subjects.
tests/e2e/test_infra.py lints and deploys them on a real policy engine.
"""

import json

import boto3
import pytest
from moto import mock_aws

from fleet.infra import team_stack
from fleet.org import org_settings, team_settings

ORG = org_settings()
ECR = "210987654321.dkr.ecr.us-east-2.amazonaws.com/sales"
OIDC = "token.actions.githubusercontent.com"


def stack(**answers: object) -> dict:
    return team_stack(ORG, team_settings(answers))["Resources"]


def users(resources: dict) -> list[str]:
    return [
        b["Properties"]["UserName"] for b in resources.values() if b["Type"] == "AWS::IAM::User"
    ]


@pytest.mark.parametrize("staging", [True, False], ids=["staging", "no-staging"])
def test_the_push_role_trusts_the_deploys_subjects_and_nothing_else(staging: bool) -> None:
    resources = stack(deployment="hybrid-ecs", image_repository=ECR, staging=staging)
    (statement,) = resources["ImagePushRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    repo = f"repo:{ORG['github_organization']}/sales-analytics"
    branches = ["main", *([ORG["staging_deployment"]] if staging else [])]
    assert statement["Condition"] == {
        "StringEquals": {
            f"{OIDC}:aud": "sts.amazonaws.com",
            f"{OIDC}:sub": [f"{repo}:pull_request"]
            + [f"{repo}:ref:refs/heads/{branch}" for branch in branches],
        }
    }
    assert resources["ImageRepository"]["Properties"]["RepositoryName"] == "sales"


def test_iam_accepts_the_push_roles_trust_policy() -> None:
    """moto's IAM parses and stores the document as AWS would (syntax, not AWS's evaluation)."""
    role = stack(deployment="hybrid-k8s", image_repository=ECR)["ImagePushRole"]["Properties"]
    document = (
        json.dumps(role["AssumeRolePolicyDocument"])
        .replace(
            '{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:',
            '"arn:aws:iam::210987654321:',
        )
        .replace(f'{OIDC}"}}', f'{OIDC}"')
    )
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-2")
        created = iam.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=document)
        principal = created["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        assert principal == {"Federated": f"arn:aws:iam::210987654321:oidc-provider/{OIDC}"}


@pytest.mark.parametrize(
    "answers",
    [{}, {"deployment": "hybrid-k8s", "image_repository": "ghcr.io/example-org/sales"}],
    ids=["serverless", "ghcr"],
)
def test_only_ecr_teams_get_an_image_repository_and_push_role(answers: dict) -> None:
    assert [name for name in stack(**answers) if name.startswith("Image")] == []


def test_a_team_has_an_identity_per_deployment_it_runs_in_and_one_for_its_branches() -> None:
    prod, staging = ORG["prod_deployment"], ORG["staging_deployment"]
    assert users(stack()) == [f"dagster-sales-analytics-{prod}",
                              f"dagster-sales-analytics-{staging}",
                              "dagster-sales-analytics-branches"]  # fmt: skip
    assert users(stack(staging=False)) == [
        f"dagster-sales-analytics-{prod}", "dagster-sales-analytics-branches"
    ]  # fmt: skip
    # A team with deployments of its own writes the same buckets under its own deployment names.
    own = stack(isolation="deployment", staging=False)
    assert users(own) == users(stack(staging=False))
    assert own[f"{prod.capitalize()}Storage"] == stack(staging=False)[f"{prod.capitalize()}Storage"]

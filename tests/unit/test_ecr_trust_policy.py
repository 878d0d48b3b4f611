"""ECR teams get the trust policy of their image push role: every subject the deploy runs as."""

import json

import boto3
import pytest
from moto import mock_aws

from fleet.org import org_settings, team_settings

ECR = "210987654321.dkr.ecr.us-east-2.amazonaws.com/sales"
OIDC = "token.actions.githubusercontent.com"


@pytest.mark.parametrize("staging", [True, False])
def test_the_trust_policy_allows_the_deploys_subjects_and_nothing_else(bake, staging) -> None:
    repo = bake(deployment="hybrid-ecs", image_repository=ECR, staging=staging)
    policy = json.loads((repo / "deploy/iam-trust-policy.json").read_text())
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::210987654321:oidc-provider/{OIDC}"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    org = org_settings()
    github_repo = f"repo:{org['github_organization']}/sales-analytics"
    branches = ["main", *team_settings({"staging": staging})["branch_deployments"]]
    assert statement["Condition"] == {
        "StringEquals": {
            f"{OIDC}:aud": "sts.amazonaws.com",
            f"{OIDC}:sub": [f"{github_repo}:pull_request"]
            + [f"{github_repo}:ref:refs/heads/{branch}" for branch in branches],
        }
    }


def test_iam_accepts_it_as_a_role_trust_policy(bake) -> None:
    """moto's IAM parses and stores the document as AWS would (syntax, not AWS's evaluation)."""
    repo = bake(deployment="hybrid-k8s", image_repository=ECR)
    document = (repo / "deploy/iam-trust-policy.json").read_text()
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-2")
        role = iam.create_role(RoleName="sales-image-push", AssumeRolePolicyDocument=document)
        assert role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]


@pytest.mark.parametrize(
    "answers",
    [{}, {"deployment": "hybrid-k8s", "image_repository": "ghcr.io/example-org/sales"}],
    ids=["serverless", "ghcr"],
)
def test_only_ecr_teams_get_a_trust_policy(bake, answers) -> None:
    assert not (bake(**answers) / "deploy/iam-trust-policy.json").exists()

"""The org's buckets and every team's identities as CloudFormation, rendered from the org settings
and each team repository's own answers: `python -m fleet infra --out DIR [MANIFEST | REPO ...]`.

Each team gets a runtime identity per full deployment (`dagster-<team>-prod`, `-staging`), which
writes the team's prefix and the run-output area in that deployment's bucket only, and one for
its branch deployments (`dagster-<team>-branches`: code nobody has reviewed yet), which writes
only under the branch prefix. All read every team's assets and their history. Dagster+ hands each
deployment and scope its own identity's keys, so no branch deployment ever holds credentials that
write production. ECR teams also get their image repository, whose tags are immutable, and the
role the deploy workflow assumes with GitHub's OIDC token, without keys, to push to it: from the
team repository's `main`, its other deployments' branches and its pull requests (branch
deployments build their images in pull-request workflows). A pushed tag is never replaced, and
every build pushes a tag of its own, so a pull request cannot change the image a production
deploy runs.
"""

import json
import shlex
from pathlib import Path

from fleet.facts import Repo
from fleet.org import team_settings

OIDC = "token.actions.githubusercontent.com"
LIST = ["s3:ListBucket", "s3:ListBucketVersions"]
READ = ["s3:GetObject", "s3:GetObjectVersion"]
WRITE = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
PUSH = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
IMAGES_KEPT = 200  # per image repository: every deploy pushes a new, immutable tag
IAM_PATH = "/dagster/"
INFRA = "infra"  # where the platform team commits the stacks, in the template repository


def org_stack_name(org: dict) -> str:
    return f"{org['organization']}-dagster-storage"


def team_stack_name(org: dict, slug: str) -> str:
    return f"{org['organization']}-dagster-team-{slug}"


def identity(slug: str, role: str) -> str:
    """The IAM name of one of a team's identities: `dagster-<team slug>-<role>`."""
    return f"dagster-{slug}-{role}"


def logical_id(name: str) -> str:
    """A CloudFormation logical ID for a deployment name: `staging-eu` -> `StagingEu`."""
    return "".join(part.capitalize() for part in name.split("-"))


def skip(check: str, reason: str) -> dict:
    """A checkov skip, in the resource it concerns, with the reason it does not apply."""
    return {"id": check, "comment": reason}


def stack(description: str, resources: dict, outputs: dict | None = None) -> dict:
    body = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Resources": resources,
    }
    return body | ({"Outputs": outputs} if outputs else {})


def org_stack(org: dict, oidc_provider: bool) -> dict:
    """Every deployment's bucket, versioned for the shared storage's history, and GitHub's OIDC
    provider when a team's image push roles need it (one per AWS account)."""
    resources = {}
    for deployment, bucket in org["buckets"].items():
        name = logical_id(deployment)
        resources[f"{name}Bucket"] = {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",  # every team's data: deleting the stack keeps it
            "UpdateReplacePolicy": "Retain",
            "Metadata": {
                "checkov": {
                    "skip": [
                        skip(
                            "CKV_AWS_18",
                            "Access logs need a log bucket the org already runs; point "
                            "LoggingConfiguration at it where one exists",
                        )
                    ]
                }
            },
            "Properties": {
                "BucketName": bucket,
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "shared-storage-history",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {
                                "NoncurrentDays": org["storage_history_days"]
                            },
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        }
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
            },
        }
        resources[f"{name}BucketPolicy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": f"{name}Bucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                f"arn:aws:s3:::{bucket}",
                                f"arn:aws:s3:::{bucket}/*",
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        }
    if oidc_provider:
        resources["GitHubOidcProvider"] = {
            "Type": "AWS::IAM::OIDCProvider",
            "Properties": {"Url": f"https://{OIDC}", "ClientIdList": ["sts.amazonaws.com"]},
        }
    return stack(
        f"{org['organization']}: the shared storage's buckets, one per Dagster+ deployment",
        resources,
    )


def storage_policy(org: dict, team: dict, deployment: str | None) -> dict:
    """What a team's identity for one full deployment (None: its branch deployments) may do in
    the shared storage."""
    prefix, own = org["storage_prefix"], team["package"]
    if deployment is None:  # branch deployments write in prod's bucket, under the branch prefix
        buckets = [team["buckets"][team["prod_deployment"]]]
        readable = [prefix, f"{prefix}-branches"]
        writable = [f"{prefix}-branches/*/{own}", f"{prefix}-branches/*/storage"]
    else:
        buckets = [team["buckets"][deployment]]
        readable = [prefix]
        writable = [f"{prefix}/{own}", f"{prefix}/storage"]

    def objects(paths: list[str]) -> list[str]:
        return [f"arn:aws:s3:::{bucket}/{path}/*" for bucket in buckets for path in paths]

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListSharedStorage",
                "Effect": "Allow",
                "Action": LIST,
                "Resource": [f"arn:aws:s3:::{bucket}" for bucket in buckets],
            },
            {
                "Sid": "ReadEveryTeamsAssetsAndHistory",
                "Effect": "Allow",
                "Action": READ,
                "Resource": objects(readable),
            },
            {
                "Sid": "WriteOnlyBranchPrefixes" if deployment is None else "WriteOwnPrefix",
                "Effect": "Allow",
                "Action": WRITE,
                "Resource": objects(writable),
            },
        ],
    }


def runtime_identities(team: dict) -> dict[str, tuple[str, str | None]]:
    """Each runtime identity's role name: its Dagster+ scope and full deployment (None: all of the
    team's branch deployments, which branch off its production deployment)."""
    roles = {name.removeprefix(team["own"]): ("full", name) for name in team["buckets"]}
    return roles | {"branches": ("branch", None)}


def runtime_identity(org: dict, team: dict, role: str, deployment: str | None) -> dict:
    """The IAM user whose keys Dagster+ gets, and its storage policy."""
    name, slug = logical_id(role), team["location"]
    return {
        f"{name}User": {
            "Type": "AWS::IAM::User",
            "Properties": {"UserName": identity(slug, role), "Path": IAM_PATH},
        },
        f"{name}Storage": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": identity(slug, f"{role}-storage"),
                "Path": IAM_PATH,
                "Users": [{"Ref": f"{name}User"}],
                "PolicyDocument": storage_policy(org, team, deployment),
            },
        },
    }


def image_push(org: dict, team: dict) -> dict:
    """The team's image repository, and the role its deploy workflow's OIDC tokens assume."""
    slug = team["location"]
    repo = f"repo:{org['github_organization']}/{slug}"
    subjects = [
        "pull_request",
        "ref:refs/heads/main",
        *(f"ref:refs/heads/{branch}" for branch in team["branch_deployments"]),
    ]
    expire = {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Keep the last {IMAGES_KEPT} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": IMAGES_KEPT,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    return {
        "ImageRepository": {
            "Type": "AWS::ECR::Repository",
            "Properties": {
                "RepositoryName": team["image_repository"].split("/", 1)[1],
                "ImageTagMutability": "IMMUTABLE",  # a pushed tag is never replaced
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "EncryptionConfiguration": {"EncryptionType": "KMS"},
                "LifecyclePolicy": {"LifecyclePolicyText": json.dumps(expire)},
            },
        },
        "ImagePushRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": identity(slug, "image-push"),
                "Path": IAM_PATH,
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "Federated": {
                                    "Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}"
                                    f":oidc-provider/{OIDC}"
                                }
                            },
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringEquals": {
                                    f"{OIDC}:aud": "sts.amazonaws.com",
                                    f"{OIDC}:sub": [f"{repo}:{subject}" for subject in subjects],
                                }
                            },
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "push-images",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "LogIn",  # ECR's login token has no resource
                                    "Effect": "Allow",
                                    "Action": "ecr:GetAuthorizationToken",
                                    "Resource": "*",
                                },
                                {
                                    "Sid": "PushOneRepository",
                                    "Effect": "Allow",
                                    "Action": PUSH,
                                    "Resource": {"Fn::GetAtt": ["ImageRepository", "Arn"]},
                                },
                            ],
                        },
                    }
                ],
            },
        },
    }


def team_stack(org: dict, team: dict) -> dict:
    """One team's identities, and for ECR teams its image repositories and push roles; `team`
    is what templates/team.jinja gives it (fleet.org.team_settings)."""
    slug = team["location"]
    resources, outputs = {}, {}
    for role, (scope, deployment) in runtime_identities(team).items():
        resources |= runtime_identity(org, team, role, deployment)
        outputs[f"{logical_id(role)}User"] = {
            "Description": f"Its keys are the AWS credentials of {deployment or 'branch'} "
            f"deployments ({scope} scope)",
            "Value": {"Ref": f"{logical_id(role)}User"},
        }
    if team["registry_kind"] == "ecr":
        resources |= image_push(org, team)
        outputs["ImagePushRoleArn"] = {
            "Description": "The team repository's Actions variable IMAGE_PUSH_ROLE_ARN",
            "Value": {"Fn::GetAtt": ["ImagePushRole", "Arn"]},
        }
    return stack(f"{org['organization']}: the identities of team {slug}", resources, outputs)


def as_text(body: dict) -> str:
    """A stack as written, byte for byte, so a committed stack compares with a fresh one."""
    return json.dumps(body, indent=2) + "\n"


def stack_file(folder: Path, slug: str) -> Path:
    return folder / f"team-{slug}.json"


def teams(repos: list[Repo], template: Path) -> list[dict]:
    """Each repository's team settings as the template at `template` derives them, by slug."""
    found = [team_settings(repo.answers, template) for repo in repos]
    return sorted(found, key=lambda team: team["location"])


def write(out: Path, org: dict, teams: list[dict]) -> list[tuple[str, Path]]:
    """Write the org stack and each team's stack into `out`: (stack name, file) in deploy order."""
    out.mkdir(parents=True, exist_ok=True)
    ecr = any(team["registry_kind"] == "ecr" for team in teams)
    written = [(org_stack_name(org), out / "org.json", org_stack(org, ecr))]
    for team in teams:
        name = team_stack_name(org, team["location"])
        written.append((name, stack_file(out, team["location"]), team_stack(org, team)))
    for _, path, body in written:
        path.write_text(as_text(body))
    return [(name, path) for name, path, _ in written]


def next_steps(org: dict, stacks: list[tuple[str, Path]], teams: list[dict]) -> str:
    """The commands that deploy the stacks and hand each identity to its Dagster+ scope."""
    lines = ["Deploy, in this order (the org stack first):"]
    for name, path in stacks:
        lines.append(
            f"  aws cloudformation deploy --stack-name {name} --template-file "
            f"{shlex.quote(str(path))} --capabilities CAPABILITY_NAMED_IAM"
        )
    for team in teams:
        slug = team["location"]
        lines.append(
            f"Then, in a checkout of {org['github_organization']}/{slug} after `uv run dg plus "
            "login`, give each of its Dagster+ deployments and scopes its identity's keys (they "
            "stay out of your shell's history and environment):"
        )
        for role, (scope, deployment) in runtime_identities(team).items():
            lines.append(
                f"  read -r KEY SECRET < <(aws iam create-access-key --user-name "
                f"{identity(slug, role)} --query 'AccessKey.[AccessKeyId,SecretAccessKey]' "
                "--output text)"
            )
            for variable, value in (
                ("AWS_ACCESS_KEY_ID", "KEY"),
                ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ):
                lines.append(
                    f'  {variable}="${value}" dg plus create env {variable} --from-local-env '
                    f"--scope {scope} --deployment {deployment or team['prod_deployment']} --yes"
                )
        if team["registry_kind"] == "ecr":
            stack = team_stack_name(org, slug)
            lines.append(
                f"  gh variable set IMAGE_PUSH_ROLE_ARN --repo {org['github_organization']}/{slug} "
                f'--body "$(aws cloudformation describe-stacks --stack-name {stack} --query '
                '"Stacks[0].Outputs[?OutputKey==\'ImagePushRoleArn\'].OutputValue" --output text)"'
            )
    return "\n".join(lines)

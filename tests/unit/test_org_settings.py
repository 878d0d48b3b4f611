"""The org settings follow AWS's and Dagster+'s rules, and each mistake gets its own message.

These values are not answers: no hook can see them and no team can change them, so they are
checked here, where the platform team runs `uvx nox -s org` after editing templates/org.jinja.
"""

from pathlib import Path

import pytest

from fleet.org import (
    TEMPLATE,
    bucket_problems,
    docs_link_problems,
    org_problems,
    org_settings,
    owner_default_problems,
)
from testkit.repos import org_check

VALID = {
    "organization": "globex",
    "github_organization": "globex",
    "prod_deployment": "live",
    "staging_deployment": "",
    "buckets": {"live": "globex-dagster-live"},
    "storage_prefix": "assets/dagster",
    "region": "us-gov-west-1",
    "local_storage_dir": "/srv/shared-storage",
    "storage_history_days": 90,
    "registry": "registry.globex.example:5000/data",
}


def test_the_org_settings_in_this_checkout_are_valid() -> None:
    assert org_problems(org_settings()) == []


def test_another_valid_org_is_accepted() -> None:
    assert org_problems(VALID) == []


@pytest.mark.parametrize("name", ["abc", "globex-dagster-prod", "globex.dagster.2026", "a" * 63])
def test_valid_bucket_names_pass(name: str) -> None:
    assert bucket_problems(name) == []


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "Globex", "globex_prod", "-globex", "globex-", "globex..prod", "192.168.5.4",
     "xn--globex", "sthree-globex", "amzn-s3-demo-globex", "globex-s3alias", "globex--ol-s3",
     "globex.mrap", "globex--x-s3", "globex--table-s3"],
)  # fmt: skip
def test_invalid_bucket_names_are_refused(name: str) -> None:
    assert org_problems(VALID | {"buckets": {"live": name}}) == [
        f"buckets has {name!r}, which is not a valid S3 bucket name. Use 3 to 63 lowercase "
        "letters, digits, '-' and '.', starting and ending with a letter or digit"
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"buckets": VALID["buckets"] | {"branches": "globex-data-branches"}},
            "buckets has a key 'branches', the name of every team's branch-deployment identity "
            "(dagster-<team>-branches). Give that deployment another name",
            id="deployment-named-branches",
        ),
        pytest.param(
            {"organization": "Globex Corp"},
            "organization 'Globex Corp' is not a Dagster+ organisation name. Use the name in "
            "your Dagster+ URL (<organization>.dagster.cloud): lowercase letters, digits and '-'",
            id="organization",
        ),
        pytest.param(
            {"prod_deployment": "Live_Prod", "buckets": {"Live_Prod": "globex-dagster-live"}},
            "buckets has a key 'Live_Prod', which is not a Dagster+ deployment name. Use "
            "lowercase letters, digits and single '-' (Dagster+ refuses '_' and capitals)",
            id="deployment-name",
        ),
        pytest.param(
            {"prod_deployment": "production"},
            "prod_deployment 'production' has no bucket: the keys of buckets are the deployment "
            "names ('live'). Add 'production' to buckets or rename the key to match",
            id="prod-without-bucket",
        ),
        pytest.param(
            {"staging_deployment": "staging"},
            "staging_deployment 'staging' has no bucket: the keys of buckets are the deployment "
            "names ('live'). Add 'staging' to buckets or rename the key to match",
            id="staging-without-bucket",
        ),
        pytest.param(
            {"staging_deployment": "qa", "buckets": {"live": "globex-x", "qa": "globex-x"}},
            "buckets gives two deployments the same bucket. Give each deployment its own "
            "bucket, so staging runs can never overwrite production data",
            id="shared-bucket",
        ),
        pytest.param(
            {"storage_prefix": "/dagster/"},
            "storage_prefix '/dagster/' is not a plain S3 key prefix. Use lowercase letters, "
            "digits, '-' and '_', with '/' between parts and none at the ends",
            id="storage-prefix",
        ),
        pytest.param(
            {"region": "Frankfurt"},
            "region 'Frankfurt' is not an AWS region. Write it like us-east-1",
            id="region",
        ),
        pytest.param(
            {"local_storage_dir": "shared-storage"},
            "local_storage_dir 'shared-storage' is not an absolute path. Start it with '/' or "
            "'~/', without environment variables or a trailing '/'",
            id="local-dir-relative",
        ),
        pytest.param(
            {"local_storage_dir": "$HOME/shared"},
            "local_storage_dir '$HOME/shared' is not an absolute path. Start it with '/' or "
            "'~/', without environment variables or a trailing '/'",
            id="local-dir-variable",
        ),
        pytest.param(
            {"storage_history_days": "30"},
            "storage_history_days '30' is not a number of days. Write a whole number from 1 to "
            "3650: how long a replaced version of a shared asset stays restorable",
            id="history-days-text",
        ),
        pytest.param(
            {"storage_history_days": 0},
            "storage_history_days 0 is not a number of days. Write a whole number from 1 to "
            "3650: how long a replaced version of a shared asset stays restorable",
            id="history-days-zero",
        ),
        pytest.param(
            {"registry": "globexcorp"},
            "registry 'globexcorp' is not a registry reference. Write a host with a '.' or a "
            "port, optionally followed by a path, without a scheme or tag, like "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com, ghcr.io/<github org> or docker.io/<org>",
            id="registry-docker-hub-short-name",
        ),
        pytest.param(
            {"registry": "https://ghcr.io/globex"},
            "registry 'https://ghcr.io/globex' is not a registry reference. Write a host with a "
            "'.' or a port, optionally followed by a path, without a scheme or tag, like "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com, ghcr.io/<github org> or docker.io/<org>",
            id="registry-scheme",
        ),
        pytest.param(
            {"owner": "@globex"},
            "owner is not an org setting. Remove it",
            id="unknown-key",
        ),
    ],
)
def test_each_invalid_value_gets_its_message(change: dict, message: str) -> None:
    assert org_problems(VALID | change) == [message]


def test_a_missing_key_is_named() -> None:
    settings = {key: value for key, value in VALID.items() if key != "region"}
    assert org_problems(settings) == [
        "region is missing. Add it (see the docs' platform-team page)"
    ]


@pytest.mark.parametrize(
    "registry",
    ["123456789012.dkr.ecr.us-east-1.amazonaws.com", "ghcr.io/globex", "docker.io/globex",
     "localhost:5000", "registry.globex.example:5000/data/teams"],
)  # fmt: skip
def test_registries_that_docker_pushes_to_are_accepted(registry: str) -> None:
    assert org_problems(VALID | {"registry": registry}) == []


def test_the_command_reports_the_settings_it_checked() -> None:
    result = org_check(TEMPLATE)
    org = org_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"templates/org.jinja is valid: organization {org['organization']}, deployments "
    )


def test_an_owner_default_in_another_github_org_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cookiecutter.json").write_text(
        '{"owner": "@initech/{{ cookiecutter.team_slug }}"}'
    )
    assert owner_default_problems(VALID, tmp_path) == [
        "The owner default in cookiecutter.json, '@initech/{{ cookiecutter.team_slug }}', is not "
        "in github_organization 'globex'. Start it with '@globex/'"
    ]


@pytest.mark.parametrize(
    "url",
    ["https://github.com/initech/dagster-team-template", "https://github.com/globex",
     "https://gitlab.com/globex/dagster-team-template", "git@github.com:globex/x.git"],
)  # fmt: skip
def test_a_docs_address_outside_the_github_org_is_refused(tmp_path: Path, url: str) -> None:
    (tmp_path / "mkdocs.yml").write_text(f"repo_url: {url}\n")
    assert docs_link_problems(VALID, tmp_path) == [
        f"repo_url in mkdocs.yml, {url!r}, is not a repository of github_organization 'globex': "
        "the docs would tell teams to generate from it. Set it to your fork's address, like "
        "'https://github.com/globex/dagster-team-template'"
    ]
    accepted = "repo_url: 'https://github.com/globex/data-template'  # the fork\n"
    emoji = "emoji_index: !!python/name:material.extensions.emoji.twemoji\n"  # not safe YAML
    (tmp_path / "mkdocs.yml").write_text(accepted + emoji)
    assert docs_link_problems(VALID, tmp_path) == []

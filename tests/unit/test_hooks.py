"""Each rule of the pre_gen hook, with valid and invalid answers and the exact message users see."""

import subprocess
import sys

import pytest
from cookiecutter.exceptions import FailedHookException

from testkit.answers import answers
from testkit.options import unsupported_combinations
from testkit.repos import render_hook


def test_default_answers_are_accepted(pre_gen) -> None:
    assert pre_gen.problems(answers()) == []


@pytest.mark.parametrize(
    "slug", ["a", "sales", "sales-analytics", "team-42", "x" * 30, "data-eng-eu-west"]
)
def test_valid_slugs_are_accepted(pre_gen, slug: str) -> None:
    assert pre_gen.problems(answers(team_slug=slug)) == []


LONG = "derived location, queue and deployment names stay within Dagster+ and Kubernetes limits"


@pytest.mark.parametrize(
    ("slug", "messages"),
    [
        ("", ["team_slug is empty. Give the team a slug like sales-analytics"]),
        (
            "2nd-line-support",
            [
                "team_slug '2nd-line-support' starts with '2'. Start it with a letter, "
                "e.g. team-2nd-line-support"
            ],
        ),
        (
            "Sales_EU",
            [
                "team_slug 'Sales_EU' contains 'S' '_' 'E' 'U'. Use only lowercase letters, "
                "digits and '-'"
            ],
        ),
        (
            "sales eu",
            ["team_slug 'sales eu' contains ' '. Use only lowercase letters, digits and '-'"],
        ),
        (
            "-sales",
            ["team_slug '-sales' starts with '-'. Start it with a letter, e.g. team-sales"],
        ),
        (
            "sales-",
            [
                "team_slug 'sales-' has a '-' at the end or two in a row. Put single '-' between "
                "words only"
            ],
        ),
        (
            "sales--eu",
            [
                "team_slug 'sales--eu' has a '-' at the end or two in a row. Put single '-' "
                "between words only"
            ],
        ),
        (
            "x" * 31,
            [f"team_slug {'x' * 31!r} is 31 characters long. Keep it to 30 or fewer so {LONG}"],
        ),
        (
            "_2nd-line-support-for-the-whole-org-",
            [
                "team_slug '_2nd-line-support-for-the-whole-org-' contains '_'. Use only lowercase "
                "letters, digits and '-'",
                "team_slug '_2nd-line-support-for-the-whole-org-' starts with '_'. Start it with a "
                "letter, e.g. team-_2nd-line-support-for-the-whole-org",
                "team_slug '_2nd-line-support-for-the-whole-org-' has a '-' at the end or two in a "
                "row. Put single '-' between words only",
                "team_slug '_2nd-line-support-for-the-whole-org-' is 36 characters long. Keep it to "
                f"30 or fewer so {LONG}",
            ],
        ),
    ],
)
def test_bad_slugs_are_refused_with_the_real_problem(
    pre_gen, slug: str, messages: list[str]
) -> None:
    assert pre_gen.problems(answers(team_slug=slug)) == messages


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("class", "Package name 'class' is not a valid Python name. Choose another team_slug"),
        ("json", "Package name 'json' shadows a standard-library module. Choose another team_slug"),
        (
            "tests",
            "Package name 'tests' shadows a standard-library module. Choose another team_slug",
        ),
        (
            "dagster",
            "Package name 'dagster' clashes with Dagster's own packages. Choose another team_slug",
        ),
        (
            "dagster-aws",
            "Package name 'dagster_aws' clashes with Dagster's own packages. Choose another team_slug",
        ),
    ],
)
def test_package_names_that_would_break_imports_are_refused(
    pre_gen, slug: str, message: str
) -> None:
    assert pre_gen.problems(answers(team_slug=slug)) == [message]


@pytest.mark.parametrize("owner", ["@example-org/sales-analytics", "@octocat", "data@example.com"])
def test_github_owners_are_accepted(pre_gen, owner: str) -> None:
    assert pre_gen.problems(answers(owner=owner)) == []


@pytest.mark.parametrize(
    "owner", ["example-org", "@", "@example-org/", "@-example", "@example-org/sales team"]
)
def test_bad_owners_are_refused(pre_gen, owner: str) -> None:
    assert pre_gen.problems(answers(owner=owner)) == [
        f"owner {owner!r} is not a GitHub owner. Use @org/team, @user or an email address"
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "team_name is empty. Give it a value"),
        ("   ", "team_name is empty. Give it a value"),
        ("x" * 81, "team_name is 81 characters long. Keep it to 80 or fewer"),
        (
            "Sales\nAnalytics",
            "team_name contains a control character or line break. Use one line of plain text",
        ),
        (
            "Sales\tAnalytics",
            "team_name contains a control character or line break. Use one line of plain text",
        ),
        *[
            (
                f"Sales {marker} x",
                "team_name contains a template marker (one of {{ {% {# ${{). Remove it",
            )
            for marker in ["{{ x }}", "{% if %}", "{# c #}", "${{ secrets.X }}"]
        ],
    ],
)
def test_team_names_that_could_inject_are_refused(pre_gen, name: str, message: str) -> None:
    assert pre_gen.problems(answers(team_name=name)) == [message]


@pytest.mark.parametrize(
    "name", ["Sales Analytics", "Équipe Données", 'O\'Brien "Ops" : # - [x]', "数据团队"]
)
def test_plain_team_names_in_any_script_are_accepted(pre_gen, name: str) -> None:
    assert pre_gen.problems(answers(team_name=name)) == []


@pytest.mark.parametrize(
    "repository",
    [
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sales",
        "ghcr.io/example-org/sales",
        "localhost:5000/sales",
    ],
)
def test_image_repositories_are_accepted_with_hybrid(pre_gen, repository: str) -> None:
    assert pre_gen.problems(answers(deployment="hybrid-k8s", image_repository=repository)) == []


@pytest.mark.parametrize(
    "repository",
    ["sales", "ghcr.io/example-org/sales:latest", "GHCR.io/example-org/sales", "https://ghcr.io/x"],
)
def test_malformed_image_repositories_are_refused(pre_gen, repository: str) -> None:
    assert pre_gen.problems(answers(deployment="hybrid-ecs", image_repository=repository)) == [
        f"image_repository {repository!r} is not a registry/repository reference. Write it like "
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sales (no tag)"
    ]


def test_image_repository_with_serverless_is_refused(pre_gen) -> None:
    assert pre_gen.problems(answers(image_repository="ghcr.io/example-org/sales")) == [
        "image_repository is set but Serverless builds no image. Leave it blank or choose a "
        "hybrid-* deployment"
    ]


@pytest.mark.parametrize("combination", unsupported_combinations())
def test_unsupported_combinations_are_refused(pre_gen, combination: dict) -> None:
    assert pre_gen.problems(answers(**combination)) == [
        "isolation 'agent_queue' needs a Hybrid deployment: the Serverless agent serves only the "
        "default queue. Choose a hybrid-* deployment or another isolation level"
    ]


@pytest.mark.parametrize(
    "upstream",
    ["finance/revenue", "finance/revenue, marketing/campaign-spend", "ops/daily/costs", " , "],
)
def test_upstream_keys_of_other_teams_are_accepted(pre_gen, upstream: str) -> None:
    assert pre_gen.problems(answers(upstream_assets=upstream)) == []


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        (
            "revenue",
            "Upstream asset key 'revenue' is not a team/asset key. Write it like finance/revenue: "
            "the owning team's package name, '/', then the asset name",
        ),
        (
            "Finance/revenue",
            "Upstream asset key 'Finance/revenue' is not a team/asset key. Write it like "
            "finance/revenue: the owning team's package name, '/', then the asset name",
        ),
        (
            "sales-analytics/orders",
            "Upstream asset key 'sales-analytics/orders' is not a team/asset key. Write it like "
            "finance/revenue: the owning team's package name (here sales_analytics, with '_' for "
            "'-'), '/', then the asset name",
        ),
        (
            "sales_analytics/orders",
            "Upstream asset key 'sales_analytics/orders' belongs to this team. List only other "
            "teams' assets",
        ),
        (
            "finance/revenue, finance/revenue",
            "Upstream asset key 'finance/revenue' is listed twice. List each asset once",
        ),
        (
            "finance/net-revenue, finance/net_revenue",
            "Upstream asset key 'finance/net_revenue' is listed twice. List each asset once",
        ),
    ],
)
def test_bad_upstream_keys_are_refused(pre_gen, upstream: str, message: str) -> None:
    assert pre_gen.problems(answers(upstream_assets=upstream)) == [message]


def test_every_problem_is_reported_at_once(pre_gen) -> None:
    found = pre_gen.problems(
        answers(
            team_name="", team_slug="Bad", owner="x", isolation="agent_queue", upstream_assets="x"
        )
    )
    assert [problem.split(" ")[0] for problem in found] == [
        "team_name",
        "team_slug",
        "owner",
        "isolation",
        "Upstream",
    ]


def test_the_hook_prints_only_error_lines_and_exits_1(tmp_path) -> None:
    hook = render_hook("pre_gen_project", answers(team_slug="Bad_Slug", owner="nobody"), tmp_path)
    result = subprocess.run([sys.executable, hook], check=False, capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "\nThe answers break the org's rules; nothing was written:\n"
        "ERROR: team_slug 'Bad_Slug' contains 'B' '_' 'S'. Use only lowercase letters, digits "
        "and '-'.\n"
        "ERROR: owner 'nobody' is not a GitHub owner. Use @org/team, @user or an email address.\n\n"
    )


def test_a_refused_run_shows_the_errors_and_leaves_no_directory(bake, tmp_path, capfd) -> None:
    with pytest.raises(FailedHookException):
        bake(team_slug="Bad_Slug", owner="nobody")
    assert "ERROR: owner 'nobody' is not a GitHub owner." in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_empty_slug_gets_a_clear_message_and_leaves_no_directory(bake, tmp_path, capfd) -> None:
    with pytest.raises(FailedHookException):
        bake(team_slug="")
    assert (
        "ERROR: team_slug is empty. Give the team a slug like sales-analytics.\n"
        in capfd.readouterr().err
    )
    assert list(tmp_path.iterdir()) == []


def test_a_tightened_rule_applies_to_new_repos_only(pre_gen, monkeypatch) -> None:
    monkeypatch.setitem(pre_gen.SLUG_MAX, "new", 20)
    slug = "sales-analytics-and-pricing"
    assert pre_gen.problems(answers(team_slug=slug), "existing") == []
    assert pre_gen.problems(answers(team_slug=slug), "new") == [
        f"team_slug {slug!r} is 27 characters long. Keep it to 20 or fewer so {LONG}"
    ]


@pytest.mark.parametrize("staging", [True, False])
def test_staging_is_a_yes_or_no_answer(pre_gen, staging: bool) -> None:
    assert pre_gen.problems(answers(staging=staging)) == []


def test_a_staging_answer_that_is_not_a_boolean_is_refused(pre_gen) -> None:
    assert pre_gen.problems(answers(staging="maybe")) == [
        "staging 'maybe' is not yes or no. Answer yes or no"
    ]

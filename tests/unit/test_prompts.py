"""What a person meets at the prompts: defaults that pass the rules, and prompts that state them."""

from cookiecutter.environment import StrictEnvironment
from hypothesis import given, settings
from hypothesis import strategies as st

from testkit.repos import CONTEXT

# cookiecutter renders each default with this environment and the answers given so far.
SLUG_DEFAULT = StrictEnvironment(context={"cookiecutter": CONTEXT}).from_string(
    CONTEXT["team_slug"]
)


def default_slug(team_name: str) -> str:
    """The slug cookiecutter offers after a team name."""
    return SLUG_DEFAULT.render(cookiecutter={"team_name": team_name})


@settings(max_examples=500, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_the_default_slug_of_any_team_name_passes_the_slug_rules(pre_gen, team_name: str) -> None:
    slug = default_slug(team_name)
    assert pre_gen.slug_problems(slug, pre_gen.SLUG_MAX["new"]) == []


def test_default_slugs_are_cut_at_a_word_and_start_with_a_letter() -> None:
    assert {
        name: default_slug(name)
        for name in [
            "Sales Analytics",
            "2nd Line Support",
            "Customer Experience and Retention Analytics",
            "Supercalifragilisticexpialidocious",
            "Équipe Données",
            "!!!",
        ]
    } == {
        "Sales Analytics": "sales-analytics",
        "2nd Line Support": "team-2nd-line-support",
        "Customer Experience and Retention Analytics": "customer-experience-and",
        "Supercalifragilisticexpialidocious": "supercalifragilisticexpialidoc",
        "Équipe Données": "equipe-donnees",
        "!!!": "team",
    }


def test_every_prompt_with_a_rule_states_it() -> None:
    prompts = CONTEXT["__prompts__"]
    assert "at most 80 characters" in prompts["team_name"]
    assert all(rule in prompts["team_slug"] for rule in ("a letter first", "at most 30"))
    assert "@org/team, @user or an email" in prompts["owner"]
    assert "blank" in prompts["image_repository"]
    assert "like finance/revenue" in prompts["upstream_assets"]
    assert "conventions" not in CONTEXT

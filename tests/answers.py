"""Answers as the pre_gen hook receives them: the template's defaults, with derived names recomputed."""

DEFAULTS = {
    "team_name": "Sales Analytics",
    "team_slug": "sales-analytics",
    "owner": "@acme/sales-analytics",
    "deployment": "serverless",
    "isolation": "code_location",
    "staging": True,
    "image_repository": "",
    "python_version": "3.12",
    "upstream_assets": "",
    "conventions": "1",
    "_org": "templates/org.jinja",
}


def answers(**changes: object) -> dict[str, object]:
    """Default answers with `changes` applied, derived names following them like cookiecutter's."""
    result = DEFAULTS | changes
    return {
        "__package": result["team_slug"].replace("-", "_"),
        "__agent_platform": result["deployment"].partition("-")[2],
    } | result

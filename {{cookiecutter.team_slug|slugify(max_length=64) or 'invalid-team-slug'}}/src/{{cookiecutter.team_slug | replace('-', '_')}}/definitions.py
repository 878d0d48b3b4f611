{%- import "team.jinja" as team with context -%}
"""The code location Dagster+ loads: the team's defs/ folder and its declared upstreams.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
"""

from pathlib import Path

import dagster as dg
from dagster_team_platform.upstreams import upstream_definitions

from {{ team.package }}.storage import TEAM, shared_io_manager

UPSTREAMS = Path(__file__).parent / "defs" / "upstreams.yaml"  # other teams' assets it reads


@dg.definitions
def defs() -> dg.Definitions:
    """Everything under defs/ and the upstreams it declares, stored with the org's IO manager."""
    own = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    return dg.Definitions.merge(
        own,
        upstream_definitions(TEAM, UPSTREAMS, own),  # refuses reads it does not declare
        dg.Definitions(resources={"io_manager": shared_io_manager()}),
    )

{%- import "team.jinja" as team with context -%}
"""The code location Dagster+ loads: the team's defs/ folder and its declared upstreams.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
"""

from pathlib import Path

import dagster as dg

from {{ team.package }}.storage import shared_io_manager
from {{ team.package }}.upstreams import upstream_definitions


@dg.definitions
def defs() -> dg.Definitions:
    """Everything under defs/ and the upstreams it declares, stored with the org's IO manager."""
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        upstream_definitions(),
        dg.Definitions(resources={"io_manager": shared_io_manager()}),
    )

from pathlib import Path

import dagster as dg

from {{ cookiecutter.__package }}.storage import shared_io_manager
from {{ cookiecutter.__package }}.upstreams import upstream_definitions


@dg.definitions
def defs() -> dg.Definitions:
    """Everything under defs/ and the upstreams it declares, stored with the org's IO manager."""
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        upstream_definitions(),
        dg.Definitions(resources={"io_manager": shared_io_manager()}),
    )

{%- import "team.jinja" as team with context -%}
"""The code location loads, stays under the team's prefix and stores with the org's IO manager.

Team-owned: `cruft update` never touches this file.
"""

import dagster as dg

from {{ team.package }}.definitions import defs
from {{ team.package }}.storage import shared_io_manager

TEAM_PREFIX = "{{ team.package }}"


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs())


def test_every_asset_key_carries_the_team_prefix() -> None:
    own_keys = defs().resolve_asset_graph().materializable_asset_keys
    assert own_keys
    outside = sorted(key.to_user_string() for key in own_keys if key.path[0] != TEAM_PREFIX)
    assert not outside, (
        f"{', '.join(outside)} outside this team's prefix {TEAM_PREFIX!r}: other teams could "
        f'define the same key. Define each with key_prefix="{TEAM_PREFIX}" and '
        f'group_name="{TEAM_PREFIX}", as defs/assets.py does.'
    )


def test_io_manager_is_the_shared_one() -> None:
    io_manager = defs().resources["io_manager"]
    assert io_manager == shared_io_manager()

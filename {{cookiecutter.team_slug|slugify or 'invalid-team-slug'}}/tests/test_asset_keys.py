{%- import "team.jinja" as team with context -%}
"""defs/asset_keys.json lists the assets this code defines, with their freshness policies.

Template-owned. The org's fleet audit reads the file instead of installing every repository, so
it must match the code, like a lockfile. When this fails, regenerate and commit it:
`UPDATE_ASSET_KEYS=1 uv run pytest tests/test_asset_keys.py`.
"""

import json
import os
from pathlib import Path

from {{ team.package }} import definitions

MANIFEST = Path(definitions.__file__).parent / "defs" / "asset_keys.json"


def manifest() -> str:
    """The file's content for the current code: each asset key, and its fail window if any."""
    graph = definitions.defs().resolve_asset_graph()
    assets = {}
    for key in graph.materializable_asset_keys:
        policy = graph.get(key).freshness_policy
        window = getattr(policy, "fail_window", None)  # a cron policy has none
        assets[key.to_user_string()] = (
            {"fail_after_seconds": int(window.to_timedelta().total_seconds())} if window else {}
        )
    return json.dumps({"version": 1, "assets": dict(sorted(assets.items()))}, indent=2) + "\n"


def test_the_asset_manifest_is_current() -> None:
    expected = manifest()
    if os.environ.get("UPDATE_ASSET_KEYS"):
        MANIFEST.write_text(expected)
    written = MANIFEST.read_text() if MANIFEST.is_file() else ""  # older repos start without
    assert written == expected, (
        f"{MANIFEST.name} does not list the assets the code defines. Regenerate it with "
        "`UPDATE_ASSET_KEYS=1 uv run pytest tests/test_asset_keys.py` and commit it."
    )

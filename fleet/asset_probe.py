"""Print a team repository's asset keys, each with its freshness fail window, as JSON.

The fleet audit runs this with the repository's own locked environment (`uv run`), so the keys
are exactly what its definitions produce, however the team wrote them. Needs only dagster.
"""

import importlib
import json
import sys


def assets(package: str) -> dict[str, int | None]:
    """Each materializable key: its fail window in seconds, or None without a time-window policy."""
    defs = importlib.import_module(f"{package}.definitions").defs
    graph = (defs() if callable(defs) else defs).resolve_asset_graph()
    windows = {}
    for key in graph.materializable_asset_keys:
        window = getattr(graph.get(key).freshness_policy, "fail_window", None)  # cron: none
        windows[key.to_user_string()] = (
            int(window.to_timedelta().total_seconds()) if window else None
        )
    return windows


if __name__ == "__main__":
    print(json.dumps(assets(sys.argv[1]), sort_keys=True))

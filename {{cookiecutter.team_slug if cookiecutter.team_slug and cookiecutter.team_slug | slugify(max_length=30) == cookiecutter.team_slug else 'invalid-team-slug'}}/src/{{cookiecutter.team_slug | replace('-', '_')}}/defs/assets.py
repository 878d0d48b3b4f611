{%- import "team.jinja" as team with context -%}
"""The team's assets. Keep every key under the team's prefix so teams never collide."""

import dagster as dg


@dg.asset(key_prefix="{{ team.package }}", group_name="{{ team.package }}")
def orders() -> list[dict[str, int]]:
    """An example asset: replace it with the team's own."""
    return [{"order_id": 1, "amount": 120}, {"order_id": 2, "amount": 80}]

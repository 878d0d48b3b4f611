{%- import "team.jinja" as team with context -%}
"""The team's assets. Keep every key under the team's prefix so teams never collide.

Team-owned: `cruft update` never touches this file.
"""
{%- if team.upstream %}

from typing import Any
{%- endif %}

import dagster as dg
{%- if team.upstream %}

# Runs when an upstream updates, and only once this team's contract checks on it have passed.
AFTER_UPSTREAM_CHECKS = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)
{%- endif %}


@dg.asset(key_prefix="{{ team.package }}", group_name="{{ team.package }}")
def orders() -> list[dict[str, int]]:
    """An example asset: replace it with the team's own."""
    return [{"order_id": 1, "amount": 120}, {"order_id": 2, "amount": 80}]
{%- for key in team.upstream %}
{%- set name = key | replace("/", "__") | replace("-", "_") %}


@dg.asset(
    key_prefix="{{ team.package }}",
    group_name="{{ team.package }}",
    ins={"upstream": dg.AssetIn(key={{ key.split("/") | tojson }})},
    automation_condition=AFTER_UPSTREAM_CHECKS,
)
def uses_{{ name }}(upstream: Any) -> dict[str, Any]:
    """An example asset reading {{ key }}, declared in upstreams.yaml, from the shared storage."""
    return {"source": "{{ key }}", "rows": len(upstream)}
{%- endfor %}

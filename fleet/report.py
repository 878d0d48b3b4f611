"""The audit as a terminal table, JSON for machines, and Markdown with a dependency graph."""

import json
import re

from fleet.audit import Audit


def rows(result: Audit) -> list[list[str]]:
    header = ["repo", "location", "queue", "template", "behind", "platform", "reads", "problems"]
    counts = {repo.name: 0 for repo in result.repos}
    for finding in result.findings:
        counts[finding.repo] = counts.get(finding.repo, 0) + 1
    body = []
    for repo in result.repos:
        behind = result.behind.get(repo.name)
        body.append([
            repo.name,
            ",".join(repo.location_names),
            ",".join(repo.agent_queues) or "-",
            (repo.template_commit or "?")[:12],
            "?" if behind is None else str(behind),
            repo.platform_version or "-",
            str(len(repo.upstreams)),
            str(counts[repo.name]),
        ])  # fmt: skip
    unread = [[name, "-", "-", "-", "-", "-", "-", str(n)] for name, n in counts.items()
              if name not in {r.name for r in result.repos}]  # fmt: skip
    return [header, *body, *unread]


def table(result: Audit) -> str:
    """A fixed-width table, one line per finding below it, and the deploy order."""
    grid = rows(result)
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in grid]
    lines.append("")
    lines += [f"ERROR: {finding}" for finding in result.findings]
    lines.append(f"deploy order: {order(result)}")
    count = len(result.findings)
    lines.append(f"{len(result.repos)} repositories, {count} problem{'s' * (count != 1)}.")
    return "\n".join(lines)


def order(result: Audit) -> str:
    if result.deploy_order is None:
        return "none (the repositories depend on each other in a cycle)"
    return " -> ".join(result.deploy_order)


def as_json(result: Audit) -> str:
    return json.dumps(
        {
            "template_commit": result.template_commit,
            "ok": not result.findings,
            "repos": [
                {
                    "name": repo.name,
                    "locations": repo.location_names,
                    "agent_queues": repo.agent_queues,
                    "template_commit": repo.template_commit,
                    "commits_behind": result.behind.get(repo.name),
                    "platform_version": repo.platform_version,
                    "assets": sorted(repo.assets or {}),
                    "upstreams": repo.upstreams,
                    "downstream": result.downstream[repo.name],
                }
                for repo in result.repos
            ],
            "findings": [vars(finding) for finding in result.findings],
            "deploy_order": result.deploy_order,
            "alert_policies": result.alert_policies,
        },
        indent=2,
    )


def node(name: str) -> str:
    return re.sub(r"\W", "_", name)


def mermaid(result: Audit) -> str:
    """Who reads whom: an arrow from the owner to each reader, labelled with the assets read."""
    owner_of = {key: repo.name for repo in result.repos for key in repo.assets or {}}
    lines = ["flowchart LR"]
    bad = {finding.repo for finding in result.findings}
    for repo in result.repos:
        lines.append(f'  {node(repo.name)}["{repo.name}"]')
    for repo in result.repos:
        for upstream in repo.upstreams:
            owner = owner_of.get(upstream["key"])
            if owner and owner != repo.name:
                lines.append(f'  {node(owner)} -->|"{upstream["key"]}"| {node(repo.name)}')
            elif not owner:
                lines.append(f'  missing_{node(upstream["key"])}["{upstream["key"]} (undefined)"]')
                lines.append(f"  missing_{node(upstream['key'])} -.-> {node(repo.name)}")
    lines += [
        f"  class {node(name)} problem" for name in sorted(bad & {r.name for r in result.repos})
    ]
    lines.append("  classDef problem stroke:#c00,stroke-width:2px")
    return "\n".join(lines)


def markdown(result: Audit) -> str:
    grid = rows(result)
    lines = [
        "# Fleet audit",
        "",
        f"Template commit `{result.template_commit[:12]}`: {len(result.repos)} repositories, "
        f"{len(result.findings)} problems.",
        "",
        "| " + " | ".join(grid[0]) + " |",
        "|" + " --- |" * len(grid[0]),
        *("| " + " | ".join(row) + " |" for row in grid[1:]),
        "",
        "## Problems",
        "",
        *([f"- **{f.repo}** ({f.check}): {f.message}" for f in result.findings] or ["None."]),
        "",
        "## Who reads whom",
        "",
        "```mermaid",
        mermaid(result),
        "```",
        "",
        f"Deploy order (owners before readers; roll back in reverse): {order(result)}.",
        "",
        "| repo | downstream (warn before a breaking change) |",
        "| --- | --- |",
        *(f"| {name} | {', '.join(names) or '-'} |" for name, names in result.downstream.items()),
        "",
    ]
    return "\n".join(lines)

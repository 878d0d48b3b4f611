"""Every option combination renders text a person would have written for that one team.

No empty code spans, no dangling punctuation from a skipped branch, and no words about what the
combination does not have (a registry for Serverless, staging for a team without it...).
"""

import re
from itertools import cycle, product
from pathlib import Path

import pytest

from fleet.org import org_settings
from testkit.repos import CONTEXT, bake_template, load_hook

REGISTRIES = [
    "",
    "ghcr.io/example-org/sales",
    "docker.io/example-org/sales",
    "registry.example.com:5000/sales",
]
LEFTOVERS = {
    "an empty code span": re.compile(r"(?<!`)``(?!`)"),
    "punctuation after a skipped part": re.compile(r"\s[,.;:](\s|$)|\(\s*,|,\s*[,.]"),
    "trailing whitespace": re.compile(r"[ \t]+$", re.MULTILINE),
    "three blank lines": re.compile(r"\n\n\n\n"),
}


def every_combination() -> list[pytest.param]:
    """Product of every choice the hook accepts; Hybrid ones cycle through the kinds of registry."""
    problems = load_hook("pre_gen_project").combination_problems
    registries, upstream = cycle(REGISTRIES), cycle(["", "finance/revenue"])
    params = []
    for deployment, isolation, staging in product(
        CONTEXT["deployment"], CONTEXT["isolation"], [True, False]
    ):
        answers = {"deployment": deployment, "isolation": isolation, "image_repository": ""}
        if problems(answers):
            continue
        registry = next(registries) if deployment != "serverless" else ""
        answers |= {
            "staging": staging,
            "image_repository": registry,
            "upstream_assets": next(upstream),
        }
        kind = registry.split("/")[0] or "org-registry"
        label = f"{deployment}:{isolation}:{'staging' if staging else 'no-staging'}"
        params.append(pytest.param(answers, id=label + (f":{kind}" if registry else "")))
    return params


def registry_kind(answers: dict) -> str:
    if answers["deployment"] == "serverless":
        return ""
    host = (answers["image_repository"] or org_settings()["registry"]).split("/")[0]
    return "ecr" if ".dkr.ecr." in host else "ghcr" if host == "ghcr.io" else "docker"


def absent_words(answers: dict) -> dict[str, list[str]]:
    """Words that must not appear, by the files they must not appear in."""
    kind = registry_kind(answers)
    text = ["README.md", ".github/workflows/deploy.yml", ".github/workflows/ci.yml"]
    absent = {name: [] for name in text + ["dagster_cloud.yaml", "pyproject.toml"]}
    if not kind:
        absent["README.md"] += ["registry", "REGISTRY_", "IMAGE_PUSH_ROLE_ARN", "Dockerfile"]
        absent[".github/workflows/deploy.yml"] += ["registry", "IMAGE_TAG", "Dockerfile"]
    if kind != "ecr":
        for name in text:
            absent[name] += ["IMAGE_PUSH_ROLE_ARN", "trust policy", "id-token"]
    if kind != "docker":
        for name in text:
            absent[name] += ["REGISTRY_USERNAME", "REGISTRY_PASSWORD"]
    if kind:
        absent["README.md"] += ["ENABLE_FAST_DEPLOYS", "Python executable"]
    if not (answers["staging"] and org_settings()["staging_deployment"]):
        for name in text:
            absent[name] += ["staging", "workflow_dispatch", "manual run"]
    if answers["isolation"] != "agent_queue":
        absent["dagster_cloud.yaml"] += ["agent_queue"]
        absent["pyproject.toml"] += ["agent_queue"]
    if not answers["upstream_assets"]:
        absent["README.md"] += ["upstream.py"]
    return absent


def text_files(repo: Path) -> dict[str, str]:
    return {
        path.relative_to(repo).as_posix(): path.read_text()
        for path in repo.rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize("answers", every_combination())
def test_the_combination_has_no_leftovers(answers: dict, tmp_path: Path) -> None:
    files = text_files(bake_template(tmp_path, **answers))
    found = [
        f"{name}: {what}: {match.group()!r}"
        for name, text in files.items()
        for what, pattern in LEFTOVERS.items()
        if name.endswith((".md", ".yml", ".yaml", ".toml", ".json", ".sh", ".py"))
        and (match := pattern.search(text))
        and (what != "punctuation after a skipped part" or name.endswith(".md"))
    ]
    found += [
        f"{name}: mentions {word!r}"
        for name, words in absent_words(answers).items()
        for word in words
        if word.lower() in files[name].lower()
    ]
    assert found == []


def test_the_matrix_covers_every_choice() -> None:
    combinations = [param.values[0] for param in every_combination()]
    assert {c["deployment"] for c in combinations} == set(CONTEXT["deployment"])
    assert {c["isolation"] for c in combinations} == set(CONTEXT["isolation"])
    assert {c["image_repository"] for c in combinations} == set(REGISTRIES)
    assert {(c["deployment"], c["staging"]) for c in combinations} == set(
        product(CONTEXT["deployment"], [True, False])
    )

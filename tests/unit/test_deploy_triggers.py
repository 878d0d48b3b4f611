"""What the rendered deploy workflow does for each trigger, read from the workflow itself.

GitHub cannot run here: each event's `github` context is built as GitHub documents it and the
workflow's own expressions are evaluated with testkit/github_expressions.py. The table per trigger
states the deployment, the checked-out commit, the image tag and the concurrency group.
"""

from fnmatch import fnmatch

import pytest
import yaml

from fleet.org import org_settings
from testkit.github_expressions import evaluate, render
from testkit.repos import bake_template

HEAD, MERGE, PUSHED = "a" * 40, "b" * 40, "c" * 40
RUN_ID, RUN_ATTEMPT, PR = 4242, 2, 17


def push(branch: str) -> dict:
    ref = f"refs/heads/{branch}"
    return {"event_name": "push", "ref": ref, "ref_name": branch, "sha": PUSHED, "event": {}}


def dispatch(branch: str, **inputs: str) -> dict:
    """A manual run from `branch`, with the inputs the person chose."""
    return push(branch) | {"event_name": "workflow_dispatch", "inputs": inputs}


def pull_request(action: str, author: str = "octocat") -> dict:
    """GitHub runs pull_request workflows on a merge commit of the head into the base."""
    return {
        "event_name": "pull_request",
        "ref": f"refs/pull/{PR}/merge",
        "ref_name": f"{PR}/merge",
        "sha": MERGE,
        "event": {
            "action": action,
            "pull_request": {
                "number": PR,
                "head": {"sha": HEAD},
                "base": {"ref": "main"},
                "user": {"login": author},
            },
        },
    }


def triggers(deploy: dict, github: dict) -> bool:
    """Whether the workflow's `on:` starts a run for this event."""
    events = deploy[True]  # YAML 1.1 reads the key `on` as True
    if github["event_name"] not in events:
        return False
    spec = events[github["event_name"]] or {}
    if github["event_name"] == "push":
        return any(fnmatch(github["ref_name"], branch) for branch in spec["branches"])
    if github["event_name"] == "pull_request":
        return github["event"]["action"] in spec["types"]
    return True


def inputs(deploy: dict, github: dict) -> dict:
    """GitHub's `inputs` context: a manual run's chosen inputs over the workflow's defaults."""
    if github["event_name"] != "workflow_dispatch":
        return {}
    declared = deploy[True]["workflow_dispatch"]["inputs"]
    return {name: spec.get("default") for name, spec in declared.items()} | github["inputs"]


def plan(deploy: dict, github: dict, ci_result: str = "success") -> dict:
    """The deploy job's decisions for one event, from the workflow's own expressions."""
    github = github | {"run_id": RUN_ID, "run_attempt": RUN_ATTEMPT, "repository": "org/repo"}
    contexts = {"github": github, "inputs": inputs(deploy, github), "vars": {}, "secrets": {}}
    job = deploy["jobs"]["deploy"]
    ci_runs = evaluate(deploy["jobs"]["ci"]["if"], contexts)
    status = {"cancelled": lambda: False, "always": lambda: True, "success": lambda: True}
    needs = {"ci": {"result": ci_result if ci_runs else "skipped"}}
    runs = evaluate(job["if"], contexts | {"needs": needs}, status)
    env = {key: render(str(value), contexts) for key, value in deploy["env"].items()}
    contexts["env"] = env
    env |= {key: render(str(value), contexts) for key, value in job["env"].items()}
    steps = {step["name"]: step for step in job["steps"]}
    tag_step = steps.get("Record the image for the deploy")
    return {
        "ci runs first": ci_runs,
        "deploys": runs,
        "deployment": env["DEPLOYMENT"],
        "checkout": render(steps["Check out"]["with"]["ref"], contexts),
        "image tag": env.get("IMAGE_TAG") if tag_step else None,
        "group": render(deploy["concurrency"]["group"], contexts),
        "cancels in progress": render(deploy["concurrency"]["cancel-in-progress"], contexts),
    }


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The default Serverless repo, and a Hybrid one with its own deployments and no staging."""
    answers = {
        "serverless": {},
        "hybrid": {"deployment": "hybrid-k8s", "isolation": "deployment", "staging": False},
    }
    return {
        name: yaml.safe_load(
            (
                bake_template(tmp_path_factory.mktemp(name), **given)
                / ".github/workflows/deploy.yml"
            ).read_text()
        )
        for name, given in answers.items()
    }


def test_every_trigger_of_the_serverless_default(workflows) -> None:
    org, deploy = org_settings(), workflows["serverless"]
    prod, staging = org["prod_deployment"], org["staging_deployment"]
    after_ci = {"ci runs first": True, "deploys": True, "image tag": None}
    branch = {"ci runs first": False, "deploys": True, "image tag": None}
    expected = {
        "push main": after_ci
        | {
            "deployment": prod,
            "checkout": PUSHED,
            "group": f"deploy-{prod}",
            "cancels in progress": False,
        },
        "push staging": after_ci
        | {
            "deployment": staging,
            "checkout": PUSHED,
            "group": f"deploy-{staging}",
            "cancels in progress": False,
        },
        "dispatch from main": after_ci
        | {
            "deployment": staging,
            "checkout": PUSHED,
            "group": f"deploy-{staging}",
            "cancels in progress": False,
        },
    }
    for action in ("opened", "synchronize", "reopened", "closed"):
        # The base deployment: ci-init makes the branch deployment (prerun closes it on closed).
        expected[f"pull request {action}"] = branch | {
            "deployment": prod,
            "checkout": HEAD,
            "group": f"deploy-pr-{PR}",
            "cancels in progress": True,
        }
    events = {
        "push main": push("main"),
        "push staging": push(staging),
        "dispatch from main": dispatch("main"),
    }
    events |= {
        f"pull request {a}": pull_request(a)
        for a in ("opened", "synchronize", "reopened", "closed")
    }
    assert all(triggers(deploy, github) for github in events.values())
    assert {name: plan(deploy, github) for name, github in events.items()} == expected


def test_every_trigger_of_a_hybrid_team_with_its_own_deployments(workflows) -> None:
    org, deploy = org_settings(), workflows["hybrid"]
    prod = f"sales-analytics-{org['prod_deployment']}"
    assert not triggers(deploy, push(org["staging_deployment"]))
    assert not triggers(deploy, dispatch("main"))
    assert plan(deploy, push("main")) == {
        "ci runs first": True,
        "deploys": True,
        "deployment": prod,
        "checkout": PUSHED,
        "image tag": f"{PUSHED}-{RUN_ID}-{RUN_ATTEMPT}",
        "group": f"deploy-{prod}",
        "cancels in progress": False,
    }
    for action in ("opened", "synchronize", "closed"):
        assert plan(deploy, pull_request(action)) == {
            "ci runs first": False,
            "deploys": True,
            "deployment": prod,
            "checkout": HEAD,
            "image tag": f"{HEAD}-{RUN_ID}-{RUN_ATTEMPT}",
            "group": f"deploy-pr-{PR}",
            "cancels in progress": True,
        }


@pytest.mark.parametrize("name", ["serverless", "hybrid"])
def test_a_push_whose_ci_fails_or_is_cancelled_deploys_nothing(workflows, name: str) -> None:
    for result in ("failure", "cancelled", "skipped"):
        assert plan(workflows[name], push("main"), ci_result=result)["deploys"] is False


@pytest.mark.parametrize("name", ["serverless", "hybrid"])
def test_dependabot_pull_requests_get_ci_but_no_branch_deployment(workflows, name: str) -> None:
    """Dependabot's runs get no Actions secrets: a deploy could only fail."""
    assert plan(workflows[name], pull_request("opened", author="dependabot[bot]"))["deploys"] is (
        False
    )


def test_no_two_deployments_share_a_concurrency_group(workflows) -> None:
    deploy = workflows["serverless"]
    events = [push("main"), push("staging"), dispatch("main"), pull_request("opened")]
    plans = [plan(deploy, github) for github in events]
    by_deployment = {}
    for result, github in zip(plans, events, strict=True):
        key = github["event"].get("pull_request", {}).get("number") or result["deployment"]
        by_deployment.setdefault(result["group"], set()).add(key)
    assert all(len(keys) == 1 for keys in by_deployment.values()), by_deployment


def test_every_step_after_prerun_is_skipped_when_prerun_says_skip(workflows) -> None:
    """On a closed pull request prerun closes the branch deployment and outputs `skip`."""
    for deploy in workflows.values():
        steps = deploy["jobs"]["deploy"]["steps"]
        assert steps[0]["id"] == "prerun"
        for step in steps[1:]:
            assert "steps.prerun.outputs.result" in step["if"], step["name"]


def test_the_checkout_is_the_commit_ci_init_records(workflows) -> None:
    """ci-init records the pull request's head (or the pushed commit): check out exactly that."""
    for deploy in workflows.values():
        contexts = {"github": pull_request("synchronize") | {"run_id": 1, "run_attempt": 1}}
        assert render(deploy["env"]["COMMIT"], contexts) == HEAD
        assert render(deploy["env"]["COMMIT"], {"github": push("main")}) == PUSHED


def test_a_repository_variable_switches_serverless_to_a_docker_build(workflows) -> None:
    """ENABLE_FAST_DEPLOYS is team-owned: a repository variable, not a template file edit."""
    fast = workflows["serverless"]["env"]["ENABLE_FAST_DEPLOYS"]
    assert render(fast, {"vars": {}}) == "true"
    assert render(fast, {"vars": {"ENABLE_FAST_DEPLOYS": "false"}}) == "false"

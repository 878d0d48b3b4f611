"""One team repo's life under template updates, as GitHub runs them with its default settings.

Real git (a bare repository stands in for the team's GitHub remote), real cookiecutter, cruft and
uv, the generated update script, and a fake `gh` (testkit/fake_gh.py: GitHub's API cannot run
here). The team starts as the quick start says: plain cookiecutter, then the documented
`cruft link`. The tests run in file order on one repository, like its weeks: each release of the
template goes through the update script, then through the team's CI steps as ci.yml runs them.
"""

import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from fleet.infra import team_stack
from fleet.org import org_settings, team_settings
from testkit.repos import (
    TEMPLATE_DIR,
    TOOLS_PATH,
    add_a_prompt_with_a_default,
    cli,
    commit_template_copy,
    fake_gh,
    git,
    on_a_runner,
    repo_env,
    run_in_repo,
    template_tool,
    write_org,
)

PLATFORM = "vendor/dagster-team-platform"
TEAM_DEPENDENCY = "tomli-w"  # small, pure Python, not used by the template
GITHUB_TOKEN = "ghs_workflow_github_token"  # the value the fake gh treats as GITHUB_TOKEN
APP_TOKEN = "ghs_app_installation_token"
REVENUE = '''"""The team's own asset."""

import dagster as dg


@dg.asset(key_prefix="sales_analytics", group_name="sales_analytics")
def revenue() -> int:
    return 200
'''
TEAM_CHECK_SAYS = "Our dependency imports."
TEAM_CHECK = f'python -c "import tomli_w"\necho "{TEAM_CHECK_SAYS}"\n'
TEAM_OWNED = [
    "README.md",
    "ci/team-checks.sh",
    "src/sales_analytics/defs/revenue.py",
    "tests/test_definitions.py",
]


@dataclass
class World:
    template: Path
    remote: Path
    team: Path
    gh_state: Path
    venv: Path  # the CI checkouts' environment, kept between runs like setup-uv's cache


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def release(template: Path, message: str) -> None:
    git("commit", "-q", "-am", message, cwd=template)


def run_update(
    world: World, token: str = APP_TOKEN, *args: str, **extra: str
) -> subprocess.CompletedProcess:
    """The workflow's step, in a fresh checkout of main, as on a GitHub runner."""
    checkout = world.remote.parent / "runner"
    shutil.rmtree(checkout, ignore_errors=True)
    git("clone", "-q", world.remote, checkout, cwd=world.remote.parent)
    env = (
        on_a_runner(world.gh_state, token)
        | {"FAKE_GH_GITHUB_TOKEN": GITHUB_TOKEN}
        | TOOLS_PATH
        | extra
    )
    return subprocess.run(
        [*template_tool("update"), *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def checkout(world: World, branch: str) -> Path:
    """A fresh clone at `branch`, as CI checks out a pull request."""
    path = world.remote.parent / f"ci-{branch}"
    shutil.rmtree(path, ignore_errors=True)
    git("clone", "-q", "--branch", branch, world.remote, path, cwd=world.remote.parent)
    return path


def team_ci(world: World, repo: Path, lint: bool = True) -> None:
    """ci.yml's steps in its order; each must pass.

    `uv sync --locked` makes the environment exactly the lock's, so one environment serves every
    checkout, and Dagster is not compiled to bytecode again for each.
    """
    env = {"UV_PROJECT_ENVIRONMENT": str(world.venv)}
    run_in_repo(repo, *template_tool("state"), env=TOOLS_PATH)
    run_in_repo(repo, "uv", "sync", "--locked", "--quiet", env=env)
    if lint:
        run_in_repo(repo, "uv", "run", "--no-sync", "pre-commit", "run", "--all-files", env=env)
    run_in_repo(repo, "uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", env=env)
    checks = run_in_repo(repo, "uv", "run", "--no-sync", "bash", "ci/team-checks.sh", env=env)
    assert checks.stdout == f"{TEAM_CHECK_SAYS}\n"
    drift = ["uv", "run", "--no-project", "--with", "./vendor/template-tools", "python", "-m"]
    run_in_repo(repo, *drift, "template_tools.drift")


def pulls(world: World) -> list[dict]:
    return json.loads(world.gh_state.read_text())["pulls"]


def merge_pull_request(world: World) -> None:
    """What the team does on GitHub: merge the update pull request into main."""
    git("fetch", "-q", "origin", cwd=world.team)
    git("merge", "-q", "--no-edit", "origin/template-update", cwd=world.team)
    git("push", "-q", "origin", "main", cwd=world.team)
    state = json.loads(world.gh_state.read_text())
    for pull in state["pulls"]:
        pull["open"] = False
    world.gh_state.write_text(json.dumps(state))


def team_bytes(repo: Path) -> dict[str, bytes]:
    return {name: (repo / name).read_bytes() for name in TEAM_OWNED}


def locked_version(repo: Path, package: str) -> str:
    lock = tomllib.loads((repo / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == package)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A team made as the quick start says, with its own asset and dependency, pushed."""
    root = tmp_path_factory.mktemp("lifecycle")
    template = commit_template_copy(root / "template")
    made = cli("cookiecutter", "--no-input", template, cwd=root)
    assert made.returncode == 0, made.stderr
    team = root / "sales-analytics"
    venv = root / "venv"
    env = {"UV_PROJECT_ENVIRONMENT": str(venv)}
    git("init", "-q", "-b", "main", cwd=team)
    run_in_repo(team, "uv", "sync", "--quiet", env=env)
    git("add", "-A", cwd=team)
    git("commit", "-q", "-m", "Start from dagster-team-template", cwd=team)
    (team / "src/sales_analytics/defs/revenue.py").write_text(REVENUE)
    with (team / "README.md").open("a") as readme:
        readme.write("\n## Our runbook\n\nPage the on-call analyst.\n")
    with (team / "ci/team-checks.sh").open("a") as checks:
        checks.write(TEAM_CHECK)
    run_in_repo(team, "uv", "add", "--quiet", TEAM_DEPENDENCY, env=env)
    git("add", "-A", cwd=team)
    git("commit", "-q", "-m", "Our asset and dependency", cwd=team)
    remote = root / "remote.git"
    git("init", "-q", "--bare", "-b", "main", remote, cwd=root)
    git("remote", "add", "origin", remote, cwd=team)
    git("push", "-q", "origin", "main", cwd=team)
    return World(template, remote, team, root / "gh.json", venv)


def test_a_new_team_repo_passes_its_ci(world: World) -> None:
    team_ci(world, checkout(world, "main"))


def test_a_release_that_changes_nothing_for_the_team_is_invisible_to_it(world: World) -> None:
    """A fork commit to its fleet list and docs: no pull request, CI stays green."""
    with (world.template / "fleet.toml").open("a") as fleet:
        fleet.write('# repos = ["https://github.com/acme/sales-analytics.git"]\n')
    with (world.template / "docs/index.md").open("a") as docs:
        docs.write("\nA docs fix.\n")
    release(world.template, "List the fleet; a docs fix")

    preview = run_update(world, APP_TOKEN, "--dry-run")
    updated = run_update(world)

    assert (preview.returncode, updated.returncode) == (0, 0), preview.stderr + updated.stderr
    assert preview.stdout == "The template's newer commits change nothing here: no pull request.\n"
    assert updated.stdout.startswith("The template's newer commits change nothing here")
    assert pulls(world) == []
    assert git("ls-remote", "--heads", world.remote, "template-update", cwd=world.team) == ""
    main = checkout(world, "main")
    run_in_repo(main, *template_tool("state"), env=TOOLS_PATH)
    drift = ["uv", "run", "--no-project", "--with", "./vendor/template-tools", "python", "-m"]
    run_in_repo(main, *drift, "template_tools.drift")


def test_the_update_names_a_missing_gh_or_remote_in_one_line(world: World) -> None:
    """Run by hand on a laptop: each missing piece is one line with its fix, and nothing moves."""
    laptop = world.remote.parent / "laptop"
    shutil.rmtree(laptop, ignore_errors=True)
    git("clone", "-q", world.remote, laptop, cwd=world.remote.parent)
    no_gh = repo_env() | TOOLS_PATH | {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    no_gh.pop("GITHUB_ACTIONS", None)
    missing_gh = subprocess.run(template_tool("update"), cwd=laptop, env=no_gh,
                                capture_output=True, text=True, check=False)  # fmt: skip
    logged_out = no_gh | {"PATH": f"{fake_gh(laptop.parent / 'bin')}:{no_gh['PATH']}",
                          "FAKE_GH_STATE": str(laptop.parent / "laptop-gh.json")}  # fmt: skip
    not_logged_in = subprocess.run(template_tool("update"), cwd=laptop, env=logged_out,
                                   capture_output=True, text=True, check=False)  # fmt: skip
    git("remote", "remove", "origin", cwd=laptop)
    missing_remote = subprocess.run(template_tool("update"), cwd=laptop, env=no_gh,
                                    capture_output=True, text=True, check=False)  # fmt: skip

    assert (missing_gh.returncode, missing_remote.returncode) == (1, 1)
    assert missing_gh.stderr == (
        "ERROR: gh is not on PATH. The update opens its pull request with GitHub's CLI: install "
        "it (https://cli.github.com) and log in with `gh auth login`, or see the change with "
        "--dry-run.\n"
    )
    assert (not_logged_in.returncode, not_logged_in.stderr) == (
        1,
        "ERROR: gh is not logged in to GitHub. Run `gh auth login`, or set GH_TOKEN.\n",
    )
    assert missing_remote.stderr == (
        "ERROR: This repository has no `origin` remote, where the update pushes its branch. Add "
        "it: `git remote add origin <this repository's GitHub URL>`, or see the change with "
        "--dry-run.\n"
    )
    assert git("status", "--porcelain", cwd=laptop) == ""
    assert git("branch", "--list", "template-update", cwd=laptop) == ""


def test_without_the_token_the_update_fails_and_names_it(world: World) -> None:
    result = run_update(world, token="")
    assert result.returncode == 1
    assert "ERROR: No token for the template update. Set the TEMPLATE_UPDATE_TOKEN secret" in (
        result.stderr
    )
    assert "Contents, Pull requests and Workflows: read and write" in result.stderr


def test_any_other_gh_error_fails_the_update_with_its_message(world: World) -> None:
    outage = "HTTP 502: Server Error (https://api.github.com/graphql)"
    result = run_update(world, FAKE_GH_ERROR=outage)
    assert result.returncode == 1
    assert (
        result.stderr
        == f"ERROR: `gh pr list --head template-update --state open --json url` failed: {outage}\n"
    )
    assert git("ls-remote", "--heads", world.remote, "template-update", cwd=world.team) == ""


def test_a_pin_bump_arrives_as_a_pull_request_that_passes_ci(world: World) -> None:
    template, before = world.template, team_bytes(world.team)
    edit(template / TEMPLATE_DIR / "pyproject.toml", "==1.13.27", "==1.13.26")
    edit(template / TEMPLATE_DIR / "pyproject.toml", "dagster-aws==0.29.27", "dagster-aws==0.29.26")
    actions = (template / "templates/actions.jinja").read_text()
    old_pin = re.search(r"actions/checkout@(\w+) # (v[\d.]+)", actions).group(0)
    new_pin = "actions/checkout@9c091bb21b7c1c1d1991bb908d89e4e9dddfe3e0 # v7.0.0"
    edit(template / "templates/actions.jinja", old_pin, new_pin)
    add_a_prompt_with_a_default(template)
    git("add", "-A", cwd=template)
    release(template, "Dagster 1.13.26, checkout v7.0.0, a support channel")

    preview = run_update(world, APP_TOKEN, "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert f"-        uses: {old_pin}" in preview.stdout
    assert f"+        uses: {new_pin}" in preview.stdout
    assert "SUPPORT.md" in preview.stdout
    assert pulls(world) == []  # a preview touches neither GitHub nor the remote
    assert git("ls-remote", "--heads", world.remote, "template-update", cwd=world.team) == ""

    refused = run_update(world, token=GITHUB_TOKEN)
    assert refused.returncode == 1
    assert "ERROR: GitHub refused to open the pull request: pull request create failed" in (
        refused.stderr
    )
    assert "Set the TEMPLATE_UPDATE_TOKEN secret" in refused.stderr
    assert pulls(world) == []

    opened = run_update(world)
    assert opened.returncode == 0, opened.stderr
    assert [(p["base"], p["head"]) for p in pulls(world)] == [("main", "template-update")]
    assert "What changed and why: CHANGELOG.md in " in pulls(world)[0]["body"]
    branch = checkout(world, "template-update")
    assert new_pin in (branch / ".github/workflows/ci.yml").read_text()
    assert (branch / "SUPPORT.md").read_text() == "Ask in #data-sales-analytics.\n"
    assert locked_version(branch, "dagster") == "1.13.26"
    assert f'"{TEAM_DEPENDENCY}' in (branch / "pyproject.toml").read_text()
    assert team_bytes(branch) == before
    team_ci(world, branch)
    merge_pull_request(world)


def test_a_platform_fix_reaches_the_repo_as_a_new_package_version_and_nothing_else(
    world: World,
) -> None:
    package = world.template / TEMPLATE_DIR / PLATFORM
    edit(
        package / "src/dagster_team_platform/formats.py", "is not JSON", "cannot be stored as JSON"
    )
    version = tomllib.loads((package / "pyproject.toml").read_text())["project"]["version"]
    fixed = re.sub(r"\d+$", lambda patch: str(int(patch.group()) + 1), version)
    edit(package / "pyproject.toml", f'version = "{version}"', f'version = "{fixed}"')
    release(world.template, f"dagster-team-platform {fixed}: a clearer message")

    # Someone runs `cruft update` by hand and commits without `uv lock`: CI stops, naming it.
    by_hand = checkout(world, "main")
    assert cli("cruft", "update", "--skip-apply-ask", cwd=by_hand).returncode == 0
    stale = run_in_repo(by_hand, "uv", "sync", "--locked", check=False)
    assert stale.returncode != 0
    assert "needs to be updated" in stale.stderr and "uv lock" in stale.stderr

    before = team_bytes(world.team)
    assert run_update(world).returncode == 0
    branch = checkout(world, "template-update")
    changed = git("diff", "--name-only", "origin/main", "HEAD", cwd=branch).split()
    assert sorted(changed) == [
        ".cruft.json",
        "uv.lock",
        f"{PLATFORM}/pyproject.toml",
        f"{PLATFORM}/src/dagster_team_platform/formats.py",
    ]
    assert locked_version(branch, "dagster-team-platform") == fixed
    assert team_bytes(branch) == before
    team_ci(world, branch, lint=False)
    merge_pull_request(world)


def test_people_s_commits_on_the_update_branch_survive_the_next_update(world: World) -> None:
    org = org_settings(world.template)
    prod_bucket = org["buckets"][org["prod_deployment"]]
    helper = checkout(world, "main")
    git("switch", "-q", "-c", "template-update", cwd=helper)
    (helper / "NOTES.md").write_text("Reviewed by the team.\n")
    git("add", "-A", cwd=helper)
    git("commit", "-q", "-m", "A person's commit on the update branch", cwd=helper)
    git("push", "-q", "origin", "template-update", cwd=helper)
    pushed = git("rev-parse", "HEAD", cwd=helper).strip()
    world.gh_state.write_text(
        json.dumps(json.loads(world.gh_state.read_text()) | {"pulls": [
            {"head": "template-update", "base": "main", "open": True, "url": "https://x/pull/7"}
        ]})
    )  # fmt: skip
    write_org(world.template, org | {"buckets": org["buckets"] | {"qa": f"{prod_bucket}-qa"}})
    release(world.template, "A qa deployment with its bucket")

    updated = run_update(world)

    assert updated.returncode == 0, updated.stderr
    assert "Updated the open pull request https://x/pull/7." in updated.stdout
    assert len(pulls(world)) == 1
    branch = checkout(world, "template-update")
    assert git("merge-base", "--is-ancestor", pushed, "HEAD", cwd=branch) == ""
    assert (branch / "NOTES.md").read_text() == "Reviewed by the team.\n"
    assert f'"qa": "{prod_bucket}-qa"' in next(branch.glob("src/*/storage.py")).read_text()
    answers = json.loads((branch / ".cruft.json").read_text())["context"]["cookiecutter"]
    stack = team_stack(org_settings(world.template), team_settings(answers, world.template))
    assert f"arn:aws:s3:::{prod_bucket}-qa/" in json.dumps(stack)  # its identity for qa
    deploy = yaml.safe_load((branch / ".github/workflows/deploy.yml").read_text())
    assert "qa" in deploy[True]["push"]["branches"]  # YAML 1.1 reads the key `on` as True
    team_ci(world, branch, lint=False)
    merge_pull_request(world)


def test_an_update_branch_that_conflicts_with_main_stops_the_update_until_merged(
    world: World,
) -> None:
    notes = world.team / "NOTES.md"  # the team's file, from the update branch merged before
    notes.write_text("Reviewed by Ana.\n")
    git("commit", "-q", "-am", "Ana's review", cwd=world.team)
    git("push", "-q", "origin", "main", cwd=world.team)
    helper = checkout(world, "template-update")
    (helper / "NOTES.md").write_text("Reviewed by Bo.\n")
    git("commit", "-q", "-am", "Bo's review, on the update branch", cwd=helper)
    git("push", "-q", "origin", "template-update", cwd=helper)
    pushed = git("ls-remote", "--heads", world.remote, "template-update", cwd=helper)

    stopped = run_update(world)

    assert stopped.returncode == 1
    assert stopped.stderr == (
        "ERROR: The template-update branch conflicts with main. Nothing was changed. Merge by "
        "hand, then run this again: git switch template-update && git merge origin/main, "
        "resolve, commit, push.\n"
    )
    assert git("ls-remote", "--heads", world.remote, "template-update", cwd=helper) == pushed
    # What the message says: merge by hand, resolve, commit, push; then the update runs.
    merge = ["git", "merge", "-q", "origin/main"]
    assert subprocess.run(merge, cwd=helper, capture_output=True, check=False).returncode == 1
    (helper / "NOTES.md").write_text("Reviewed by Ana and Bo.\n")
    git("commit", "-q", "-am", "Merge main", cwd=helper)
    git("push", "-q", "origin", "template-update", cwd=helper)
    assert run_update(world).returncode == 0
    merge_pull_request(world)
    assert notes.read_text() == "Reviewed by Ana and Bo.\n"


def test_a_storage_change_not_merged_yet_fails_the_drift_check(world: World) -> None:
    org = org_settings(world.template)
    prod_bucket = org["buckets"][org["prod_deployment"]]
    region = "ap-southeast-2" if org["region"] != "ap-southeast-2" else "us-east-2"
    buckets = org["buckets"] | {org["prod_deployment"]: f"{prod_bucket}-v2"}
    write_org(world.template, org | {"buckets": buckets, "region": region})
    release(world.template, "Rename the prod bucket, move region")

    main = checkout(world, "main")
    drift = run_in_repo(main, *template_tool("drift"), env=TOOLS_PATH, check=False)
    assert drift.returncode == 1
    assert "ERROR: src/sales_analytics/storage.py differs from the org's current template" in (
        drift.stderr
    )

    updated = run_update(world)
    assert updated.returncode == 0, updated.stderr
    branch = checkout(world, "template-update")
    storage = (branch / "src/sales_analytics/storage.py").read_text()
    assert f'REGION = "{region}"' in storage
    assert f'"{prod_bucket}-v2"' in storage
    team_ci(world, branch, lint=False)
    merge_pull_request(world)


def test_a_conflict_fails_ci_first_with_our_message(world: World) -> None:
    pyproject = world.team / "pyproject.toml"
    edit(pyproject, '"pytest==9.2.0"', '"pytest==9.1.0"')
    git("commit", "-q", "-am", "Pin pytest our way (not allowed)", cwd=world.team)
    git("push", "-q", "origin", "main", cwd=world.team)
    edit(world.template / TEMPLATE_DIR / "pyproject.toml", '"pytest==9.2.0"', '"pytest==9.2.1"')
    release(world.template, "pytest 9.2.1")

    updated = run_update(world)

    assert updated.returncode == 0, updated.stderr
    assert "did not apply cleanly" in updated.stdout
    # cruft leaves conflict markers, or the hunk in pyproject.toml.rej when git lacks the base.
    left = r"^- pyproject\.toml(: conflict markers|\.rej: a hunk the update could not apply)$"
    assert re.search(left, pulls(world)[-1]["body"], re.MULTILINE)
    branch = checkout(world, "template-update")
    state = run_in_repo(branch, *template_tool("state"), env=TOOLS_PATH, check=False)
    assert state.returncode == 1
    assert state.stderr.startswith("ERROR: pyproject.toml")
    assert "A template update did not apply cleanly. Merge each rejected hunk" in state.stderr

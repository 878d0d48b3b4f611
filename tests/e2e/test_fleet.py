"""The fleet audit over real repositories made with cruft from a committed template, with faults.

One fleet is built per session: eight repositories, each with one seeded fault except the owner
`finance` and the reader `support`, which together are the clean fleet.
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from uv import find_uv_bin

from fleet.org import org_settings
from fleet.template import changes_nothing, commits_behind
from testkit.repos import (
    TEMPLATE,
    TEMPLATE_DIR,
    cli,
    commit_template_copy,
    edit,
    git,
    repo_env,
    run_in_repo,
)


def fleet(*args: str | Path, cwd: Path = TEMPLATE, env: dict | None = None):
    """Run the fleet command as a person does, from the template checkout, with uv on PATH."""
    uv = {"PATH": f"{Path(find_uv_bin()).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "fleet", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, check=False,
        env=repo_env() | uv | (env or {}),
    )  # fmt: skip


def create(
    template: Path, folder: Path, slug: str, checkout: str = "", upstreams: str = ""
) -> Path:
    """A team repository made with `cruft create`, committed."""
    context = json.dumps({"team_name": slug.title(), "upstream_assets": upstreams})
    extra = ["--checkout", checkout] if checkout else []
    made = cli("cruft", "create", "--no-input", *extra, "--extra-context", context, template,
               cwd=folder)  # fmt: skip
    assert made.returncode == 0, made.stderr
    repo = folder / slug
    commit(repo, "Generated")
    return repo


def commit(repo: Path, message: str) -> None:
    if not (repo / ".git").is_dir():
        git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", message, cwd=repo)


def add_asset(repo: Path, name: str, code: str) -> None:
    """A team's own asset module: code alone, nothing else to regenerate."""
    package = repo.name.replace("-", "_")
    (repo / "src" / package / "defs" / f"{name}.py").write_text(
        f"from datetime import timedelta\n\nimport dagster as dg\n\n{code}"
    )


REVENUE = """
@dg.asset(key_prefix="finance", group_name="finance", freshness_policy=dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26)))
def revenue() -> int:
    return 1
"""
COLLIDING = """
@dg.asset(key=["marketing", "orders"])
def orders_copy() -> int:
    return 1
"""


def set_upstream_window(repo: Path, key: str, count: int, period: str) -> None:
    path = repo / "src" / repo.name.replace("-", "_") / "defs" / "upstreams.yaml"
    data = yaml.safe_load(path.read_text())
    for entry in data["upstreams"]:
        if entry["key"] == key:
            entry["freshness"] = {"fail_after": {"count": count, "period": period}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="session")
def fleet_repos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """The template two releases after v1, then a commit that changes nothing teams get (the
    fork's fleet list and docs), and the fleet's repositories by name."""
    template = commit_template_copy(tmp_path_factory.mktemp("template") / "dagster-team-template")
    v1 = git("rev-parse", "HEAD", cwd=template).strip()
    for version in ("v2", "v3"):
        with (template / TEMPLATE_DIR / ".gitignore").open("a") as ignored:
            ignored.write(f"# {version}\n")
        commit(template, version)
    folder = tmp_path_factory.mktemp("fleet")
    repos = {
        "finance": create(template, folder, "finance"),
        "support": create(template, folder, "support", upstreams="finance/revenue"),
        "sales": create(template, folder, "sales", upstreams="finance/revenue"),
        "marketing": create(template, folder, "marketing"),
        "risk": create(template, folder, "risk"),
        "legacy": create(template, folder, "legacy", checkout=v1),
        "ops": create(template, folder, "ops", upstreams="hr/orders"),
        "hr": create(template, folder, "hr", upstreams="ops/orders,crm/accounts"),
    }
    # The owner publishes finance/revenue with its own 26-hour policy; support agrees, sales not.
    add_asset(repos["finance"], "revenue", REVENUE)
    set_upstream_window(repos["support"], "finance/revenue", 26, "hour")
    edit(repos["marketing"] / "dagster_cloud.yaml", r'location_name: "marketing"',
         'location_name: "sales"')  # fmt: skip
    prod_bucket = org_settings()["buckets"][org_settings()["prod_deployment"]]
    edit(repos["risk"] / "src/risk/storage.py", f'"{prod_bucket}"', '"rogue-bucket"')
    add_asset(repos["risk"], "collision", COLLIDING)
    with (repos["ops"] / ".github/workflows/ci.yml").open("a") as workflow:
        workflow.write("# a local tweak\n")
    for repo in repos.values():
        run_in_repo(repo, "uv", "lock", "--quiet")
        commit(repo, "Team changes")
    with (template / "fleet.toml").open("a") as fleet_list:  # a release no team gets
        fleet_list.write('# repos = ["https://github.com/acme/finance.git"]\n')
    with (template / "docs/index.md").open("a") as docs:
        docs.write("\nA docs fix.\n")
    commit(template, "v4: the fleet list and a docs fix")
    return template, repos


@pytest.fixture(scope="session")
def faulty(fleet_repos, tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict, Path]:
    """The audit of the whole fleet: its table, its JSON, and its Markdown report."""
    template, repos = fleet_repos
    out = tmp_path_factory.mktemp("audit")
    manifest = out / "fleet.toml"
    manifest.write_text(f"repos = {json.dumps([str(path) for path in repos.values()])}\n")
    cache = ["--template", template, "--cache", out / "cache"]
    table = fleet("audit", "--markdown", out / "report.md", "--alert-policies",
                  out / "alert-policies.yaml", *cache, manifest)  # fmt: skip
    machine = fleet("audit", "--json", *cache, manifest)
    assert machine.stdout.startswith("{"), machine.stderr
    return table, json.loads(machine.stdout), out


def findings(report: dict, repo: str, check: str) -> list[str]:
    return [f["message"] for f in report["findings"] if (f["repo"], f["check"]) == (repo, check)]


def test_the_faulty_fleet_fails_with_one_line_per_problem(faulty) -> None:
    table, report, _ = faulty
    assert table.returncode == 1
    assert not report["ok"]
    for finding in report["findings"]:
        assert f"ERROR: {finding['repo']}: {finding['check']}: {finding['message']}" in table.stdout


def test_a_duplicate_location_name_is_reported_against_both_repos(faulty) -> None:
    _, report, _ = faulty
    for repo, other in (("marketing", "sales"), ("sales", "marketing")):
        (message,) = findings(report, repo, "location-name")
        assert f"code location 'sales' is also deployed by {other}" in message
        assert "duplicate location name" in message  # dagster-cloud-cli's own model says so


def test_a_rogue_bucket_is_reported_against_its_repo(faulty) -> None:
    _, report, _ = faulty
    (message,) = findings(report, "risk", "storage")
    assert "BUCKETS" in message and "rogue-bucket" in message
    assert message.endswith("so the file was edited here: undo the edit (`cruft diff` shows it).")
    assert [f for f in report["findings"] if f["check"] == "storage" and f["repo"] != "risk"] == []


def test_a_repo_two_template_commits_behind_is_reported(faulty) -> None:
    _, report, _ = faulty
    (message,) = findings(report, "legacy", "template-version")
    assert "is 2 template commits behind" in message
    behind = {repo["name"]: repo["commits_behind"] for repo in report["repos"]}
    # v4 touched only the fleet list and docs: no repository is behind for it.
    assert behind["legacy"] == 2 and set(behind.values()) == {0, 2}
    vendored = TEMPLATE / TEMPLATE_DIR / "vendor/dagster-team-platform/pyproject.toml"
    version = tomllib.loads(vendored.read_text())["project"]["version"]
    assert {repo["platform_version"] for repo in report["repos"]} == {version}


def test_a_repo_newer_than_the_template_checkout_is_a_finding_even_from_a_warm_cache(
    fleet_repos, faulty, tmp_path: Path
) -> None:
    """A platform checkout that was not pulled: the audit names the repo and what to do.

    The cache the full audit filled holds the newer history; it must not answer for this one.
    """
    template, repos = fleet_repos
    _, _, out = faulty
    stale = tmp_path / "unpulled-template"
    git("branch", "-f", "before-v2", "HEAD~2", cwd=template)
    git("clone", "-q", "--no-local", "--single-branch", "--branch", "before-v2", template, stale,
        cwd=tmp_path)  # fmt: skip
    for cache in (tmp_path / "empty-cache", out / "cache"):
        audit = fleet("audit", "--json", "--template", stale, "--cache", cache, repos["finance"])
        assert "Traceback" not in audit.stderr, audit.stderr
        report = json.loads(audit.stdout)
        (message,) = findings(report, "finance", "template-version")
        assert "which the template's history does not have, so its drift is not checked" in message
        assert "Pull the template checkout the audit reads (`--template`)" in message
        assert findings(report, "finance", "drift") == []


def test_drifted_template_files_are_reported(faulty) -> None:
    _, report, _ = faulty
    assert findings(report, "ops", "drift") == [
        "template-owned .github/workflows/ci.yml was edited in this repository, and template "
        "updates overwrite it. Undo it (`cruft diff` shows the edit), or propose the change in "
        "the org's template."
    ]
    assert any("storage.py was edited" in msg for msg in findings(report, "risk", "drift"))
    assert findings(report, "legacy", "drift") == []  # behind is not drifted


def test_a_dangling_upstream_is_reported_against_the_reader(faulty) -> None:
    _, report, _ = faulty
    (message,) = findings(report, "hr", "upstream")
    assert "crm/accounts, which no other repository defines" in message


def test_an_asset_key_collision_is_reported_against_the_repo_outside_its_prefix(faulty) -> None:
    _, report, _ = faulty
    assert findings(report, "risk", "key-collision") == [
        "defines asset marketing/orders, outside its own prefix, and marketing defines it too. "
        'Keep every key under this team\'s prefix (key_prefix="risk").'
    ]
    assert findings(report, "marketing", "key-collision") == []  # its own key


def test_a_cycle_is_reported_and_no_deploy_order_given(faulty) -> None:
    _, report, _ = faulty
    for repo in ("ops", "hr"):
        (message,) = findings(report, repo, "cycle")
        assert "ops -> hr -> ops" in message or "hr -> ops -> hr" in message
    assert report["deploy_order"] is None


def test_a_freshness_expectation_the_owner_overrides_is_reported(faulty) -> None:
    _, report, _ = faulty
    assert findings(report, "sales", "freshness") == [
        "expects finance/revenue at least every 1 day, but finance's own policy (every 26 hours) "
        "overrides it in Dagster+. Agree one window with finance and declare that."
    ]
    assert findings(report, "support", "freshness") == []


def test_every_fault_is_against_the_right_repo_and_nothing_else_is_reported(faulty) -> None:
    _, report, _ = faulty
    assert [f for f in report["findings"] if not f["message"].endswith(".")] == []  # sentences
    assert {(f["repo"], f["check"]) for f in report["findings"]} == {
        ("marketing", "location-name"), ("sales", "location-name"),
        ("marketing", "drift"),  # its dagster_cloud.yaml is template-owned
        ("risk", "storage"), ("risk", "drift"),
        ("legacy", "template-version"), ("ops", "drift"), ("hr", "upstream"),
        ("risk", "key-collision"),
        ("ops", "cycle"), ("hr", "cycle"), ("sales", "freshness"),
    }  # fmt: skip


def test_the_markdown_report_draws_who_reads_whom(faulty) -> None:
    _, _, out = faulty
    report = (out / "report.md").read_text()
    assert "```mermaid\nflowchart LR" in report
    assert 'finance -->|"finance/revenue"| sales' in report
    assert "crm/accounts (undefined)" in report
    assert "| finance | sales, support |" in report


def test_the_merged_alert_policies_hold_every_teams_policies(faulty, fleet_repos) -> None:
    _, repos = fleet_repos
    merged = yaml.safe_load((faulty[2] / "alert-policies.yaml").read_text())["alert_policies"]
    names = [policy["name"] for policy in merged]
    assert len(names) == len(set(names))
    for slug in repos:
        assert f"{slug}-asset-failures" in names
    # Declared in upstreams.yaml alone: the policy on them is derived, notifying as the file's.
    (support,) = [policy for policy in merged if policy["name"] == "support-upstreams"]
    assert support["alert_targets"] == [{"asset_key_target": {"asset_key": ["finance", "revenue"]}}]
    (own,) = [policy for policy in merged if policy["name"] == "support-asset-failures"]
    assert support["notification_service"] == own["notification_service"]


def test_the_clean_fleet_passes_with_its_deploy_order(fleet_repos) -> None:
    template, repos = fleet_repos
    result = fleet("audit", "--json", "--template", template, repos["finance"], repos["support"])
    report = json.loads(result.stdout)
    assert (result.returncode, report["findings"]) == (0, [])
    assert report["deploy_order"] == ["finance", "support"]
    downstream = {repo["name"]: repo["downstream"] for repo in report["repos"]}
    assert downstream == {"finance": ["support"], "support": []}


def test_an_asset_renamed_in_code_alone_reaches_the_audit(fleet_repos, faulty, tmp_path) -> None:
    """finance renames revenue to income by editing its module: its reader support is told."""
    template, repos = fleet_repos
    cache = ["--cache", faulty[2] / "cache"]  # the full audit's: finance's old keys are in it
    finance = Path(shutil.copytree(repos["finance"], tmp_path / "finance"))
    module = finance / "src/finance/defs/revenue.py"
    module.write_text(module.read_text().replace("def revenue()", "def income()"))

    result = fleet("audit", "--json", "--no-drift", "--template", template, *cache, finance,
                   repos["support"])  # fmt: skip

    report = json.loads(result.stdout)
    assets = {repo["name"]: repo["assets"] for repo in report["repos"]}
    assert "finance/income" in assets["finance"] and "finance/revenue" not in assets["finance"]
    (message,) = findings(report, "support", "upstream")
    assert "finance/revenue, which no other repository defines" in message


def test_a_repo_whose_definitions_do_not_load_is_named_with_what_to_run(
    fleet_repos, tmp_path: Path
) -> None:
    template, repos = fleet_repos
    support = Path(shutil.copytree(repos["support"], tmp_path / "support"))
    (support / "src/support/defs/broken.py").write_text('raise RuntimeError("half-written")\n')
    unlocked = Path(shutil.copytree(repos["finance"], tmp_path / "unlocked" / "finance"))
    (unlocked / "uv.lock").unlink()

    result = fleet("audit", "--json", "--no-drift", "--template", template, "--cache",
                   tmp_path / "cache", support, unlocked)  # fmt: skip

    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    (message,) = findings(report, "support", "assets")
    assert "its definitions do not load, so its asset keys are unknown (" in message
    assert "RuntimeError: half-written" in message and "`uv run dg check defs`" in message
    (message,) = findings(report, "finance", "assets")
    assert message.startswith("has no uv.lock") and "Run `uv lock` in it" in message
    # support reads finance/revenue: with finance's keys unknown, that is not called dangling.
    assert findings(report, "support", "upstream") == []


def test_a_repo_the_template_cannot_render_is_a_finding_and_the_rest_is_audited(
    fleet_repos, faulty, tmp_path: Path
) -> None:
    template, repos = fleet_repos
    support = Path(shutil.copytree(repos["support"], tmp_path / "support"))
    state = json.loads((support / ".cruft.json").read_text())
    state["context"]["cookiecutter"]["owner"] = "nobody"  # the hook refuses it
    (support / ".cruft.json").write_text(json.dumps(state))

    result = fleet("audit", "--json", "--template", template, "--cache", faulty[2] / "cache",
                   repos["finance"], support)  # fmt: skip

    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    (message,) = findings(report, "support", "drift")
    assert message.startswith("cannot be compared with the template at ")
    assert "FailedHookException" in message
    assert [f["check"] for f in report["findings"]] == ["drift"]


def test_git_urls_are_cloned_and_bad_input_is_named_while_the_rest_is_audited(
    fleet_repos, tmp_path: Path
) -> None:
    template, repos = fleet_repos
    broken = tmp_path / "broken.toml"
    broken.write_text("repos = [\n")
    not_team = tmp_path / "not-a-team-repo"
    not_team.mkdir()
    env = {"GH_TOKEN": "", "GITHUB_TOKEN": ""}
    result = fleet(
        "audit", "--json", "--template", template, f"file://{repos['finance']}",
        repos["support"], broken, not_team, tmp_path / "missing",
        "https://127.0.0.1:9/acme/private.git", env=env,
    )  # fmt: skip
    report = json.loads(result.stdout)
    errors = {f["repo"]: f["message"] for f in report["findings"]}
    assert errors["broken.toml"].startswith(f"The manifest {broken} is not valid TOML")
    assert errors["not-a-team-repo"].startswith("not-a-team-repo is not a team repository")
    assert errors["missing"].startswith(f"{tmp_path / 'missing'} does not exist")
    assert "no token is set. For private repositories set GH_TOKEN" in errors["private"]
    assert [repo["name"] for repo in report["repos"]] == ["finance", "support"]
    assert len(report["findings"]) == 4
    assert all(message.endswith(".") for message in errors.values())


def test_a_bad_manifest_alone_is_one_line(fleet_repos, tmp_path: Path) -> None:
    template, _ = fleet_repos
    manifest = tmp_path / "fleet.toml"
    manifest.write_text('repos = "https://github.com/acme/finance.git"\n')
    result = fleet("audit", "--template", template, manifest)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"ERROR: The manifest {manifest} must have exactly one key, `repos`, a list of git URLs "
        'or paths, like `repos = ["https://github.com/<org>/<repo>.git"]`.\n'
    )


FAKE_GH = """#!{python}
# GitHub's API cannot be reached from the test machine: this stands in for `gh`, answering
# `issue list` from a JSON file of open issues and recording every call.
import json, sys
from pathlib import Path
state = Path({state!r})
data = json.loads(state.read_text())
args = sys.argv[1:]
data["calls"].append(args + ([Path(args[args.index("--body-file") + 1]).read_text()]
                             if "--body-file" in args else []))
state.write_text(json.dumps(data))
if args[:2] == ["issue", "list"]:
    print(json.dumps(data["open"]))
"""


@pytest.mark.parametrize("open_issues", [[], [{"number": 7, "title": "Fleet audit"}]])
def test_the_weekly_run_opens_or_updates_one_issue_with_the_report(
    fleet_repos, tmp_path: Path, open_issues: list
) -> None:
    template, repos = fleet_repos
    state = tmp_path / "gh.json"
    state.write_text(json.dumps({"open": open_issues, "calls": []}))
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text(FAKE_GH.format(python=sys.executable, state=str(state)))
    gh.chmod(0o755)
    path = f"{gh.parent}{os.pathsep}{os.environ['PATH']}"
    result = fleet("issue", "--template", template, "--no-drift", repos["finance"], repos["hr"],
                   env={"PATH": path})  # fmt: skip
    assert result.returncode == 1  # hr's upstreams are undefined here
    *_, call = json.loads(state.read_text())["calls"]
    expected = (
        ["issue", "edit", "7"] if open_issues else ["issue", "create", "--title", "Fleet audit"]
    )
    assert call[: len(expected)] == expected
    assert call[-1].startswith("# Fleet audit") and "**hr** (upstream)" in call[-1]


def test_a_release_that_changes_only_other_teams_files_leaves_a_repo_current(
    fleet_repos, tmp_path: Path
) -> None:
    """A Dockerfile fix reaches Hybrid teams only: a Serverless team is not behind for it."""
    template, _ = fleet_repos
    fork = tmp_path / "template"
    git("clone", "-q", template, fork, cwd=tmp_path)
    before = git("rev-parse", "HEAD", cwd=fork).strip()
    dockerfile = next((fork / TEMPLATE_DIR).glob("*Dockerfile*"))
    with dockerfile.open("a") as image:
        image.write("# a Hybrid-only fix\n")
    commit(fork, "v5: the Dockerfile")
    serverless = {"team_name": "Pay", "team_slug": "pay"}
    hybrid = serverless | {"deployment": "hybrid-k8s"}
    cache = tmp_path / "cache"
    assert commits_behind(fork, before) == 1
    assert changes_nothing(fork, before, serverless, cache)
    assert not changes_nothing(fork, before, hybrid, cache)


def test_a_read_team_is_listed_with_all_that_refers_to_it_and_retired_to_a_green_audit(
    fleet_repos, tmp_path: Path
) -> None:
    """The retirement sequence of the fleet docs, step by step: readers first, then the team."""
    template, repos = fleet_repos
    org = org_settings(template)
    support = Path(shutil.copytree(repos["support"], tmp_path / "support"))

    listed = fleet("references", "--template", template, "finance", repos["finance"], support)

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "finance: code location finance, package finance, asset keys finance/…"
    assert "  support: finance/revenue" in lines
    assert "  support: support-upstreams targets finance/revenue" in lines
    assert "Deploy before: support" in lines
    production = org["buckets"][org["prod_deployment"]]
    assert (
        f"  s3://{production}/{org['storage_prefix']}/finance/ ({org['prod_deployment']})" in lines
    )
    (identities,) = [line for line in lines if line.startswith("Identities: ")]
    assert f"dagster-finance-{org['prod_deployment']}, " in identities
    assert (
        f"dagster-finance-branches (stack {org['organization']}-dagster-team-finance" in identities
    )

    # 1. The reader stops reading finance: its asset and its declaration go (the alert policy on
    # it is derived from the declaration); its CI passes.
    assets = support / "src/support/defs/assets.py"
    code = assets.read_text()
    assets.write_text(code[: code.index("\n\n@dg.asset(\n    key_prefix")] + "\n")
    declarations = support / "src/support/defs/upstreams.yaml"
    data = yaml.safe_load(declarations.read_text())
    data["upstreams"] = [u for u in data["upstreams"] if u["key"] != "finance/revenue"]
    declarations.write_text(yaml.safe_dump(data, sort_keys=False))
    commit(support, "Stop reading finance, which is retired")
    assert (
        " passed"
        in run_in_repo(support, "uv", "run", "pytest", "-q", "-p", "no:cacheprovider").stdout
    )

    # 2. Nothing refers to finance any more: the platform team removes it from the list.
    after = fleet("references", "--template", template, "finance", repos["finance"], support)
    assert "Read by (their upstreams.yaml):\n  nobody\n" in after.stdout
    assert "Deploy before: nothing (no repository reads it)" in after.stdout

    # 3. The fleet without finance audits clean.
    audit = fleet("audit", "--json", "--template", template, "--cache", tmp_path / "cache", support)
    assert (audit.returncode, json.loads(audit.stdout)["findings"]) == (0, []), audit.stderr


def test_an_unknown_team_is_named_with_the_listed_ones(fleet_repos) -> None:
    template, repos = fleet_repos
    result = fleet("references", "--template", template, "billing", repos["finance"])
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "ERROR: No listed repository is team 'billing'. Listed: finance.\n"

"""Sessions for the template repository. `nox` runs the default ones, exactly what CI runs."""

import hashlib
import json
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
#: The platform package and the template tools, installed from their folders as a team's build
#: installs them, never imported from the source tree (which every bake copies into team repos).
#: Rebuilt on every run: uv keeps a folder's build until its pyproject.toml changes.
UNITS = ["./dagster-team-platform", "./template-tools"]
REBUILT = ["--reinstall-package", "dagster-team-platform",
           "--reinstall-package", "dagster-team-template-tools"]  # fmt: skip
TEST_REQUIREMENTS = [*nox.project.dependency_groups(PYPROJECT, "test"), *UNITS, *REBUILT]
#: The default run in parts, by folder, which the template's CI runs side by side: each test file
#: is in exactly one (tests/unit/test_tiers.py checks it). `fast` needs no generated venv, server
#: or daemon: it is the edit loop. tests/image has a session of its own.
PARTS = {
    "fast": ["tests/unit", "tests/fleet", "dagster-team-platform/tests"],
    "e2e": ["tests/e2e"],
    "generated": ["tests/generated"],
    "executable": ["tests/executable"],
}
DEFAULT_RUN = [folder for folders in PARTS.values() for folder in folders]
NOT_SLOW = ("-m", "not slow")  # the fork's repeat of the suite: `nox -s slow`


@nox.session(default=False)
def org(session: nox.Session) -> None:
    """Check the org settings in templates/org.jinja, in seconds, before the full suite."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "org"))
    session.run("python", "-m", "fleet.org")


@nox.session
def tests(session: nox.Session) -> None:
    """Every test: bakes, hooks and rules; generated repos in fresh venvs; real servers; updates.

    Four workers on two cores: most of an end-to-end test's time is spent waiting on servers,
    sensors and uv. `-- tests/e2e` (or another folder, or file) runs those alone.
    """
    session.install(*TEST_REQUIREMENTS)
    selection = session.posargs or [*NOT_SLOW, *DEFAULT_RUN]
    session.run("pytest", "--numprocesses", "4", "--durations", "15", *selection)


@nox.session(default=False)
def fast(session: nox.Session) -> None:
    """The edit loop: bakes, hooks, rules and the platform package in-process, in under a minute."""
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", "--numprocesses", "2", *PARTS["fast"], *session.posargs)


@nox.session(default=False)
@nox.parametrize("name", [nox.param(name, id=name) for name in PARTS if name != "fast"])
def part(session: nox.Session, name: str) -> None:
    """One heavy part of the default run, as one of the template's CI jobs: `nox -s "part(e2e)"`."""
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", "--numprocesses", "4", "--durations", "15", *NOT_SLOW, *PARTS[name])


@nox.session(default=False)
def slow(session: nox.Session) -> None:
    """What the default run leaves out: the whole suite again in a fork with another org."""
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session(default=False)
def image(session: nox.Session) -> None:
    """Build a Hybrid team repo's Dockerfile with buildah and load the definitions in the image.

    Needs root and `apt-get install buildah debootstrap`; the base images are made locally.
    """
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", *(session.posargs or ["tests/image"]))


@nox.session
def lint(session: nox.Session) -> None:
    """Lint the template repository itself (the template folder is linted once baked)."""
    session.install("pre-commit==4.7.0")
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs site strictly, in this checkout's org values: any warning, placeholder
    left or asset from another host fails. `nox -s docs -- site` writes it to ./site."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("python", "-m", "fleet.docs_site", *session.posargs)


@nox.session(default=False, venv_backend="none")
def diagrams(session: nox.Session) -> None:
    """Render docs/diagrams/*.mmd to SVG with mermaid-cli, so the site draws them offline.

    Needs Node.js and a Chromium (`CHROMIUM`, default /usr/bin/chromium). Each SVG starts with
    the hash of its source, which the docs tests compare.
    """
    tmp = Path(session.create_tmp())
    browser = {
        "executablePath": session.env.get("CHROMIUM", "/usr/bin/chromium"),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }
    (tmp / "puppeteer.json").write_text(json.dumps(browser))
    (tmp / "mermaid.json").write_text(json.dumps({"flowchart": {"htmlLabels": False}}))
    for source in sorted(Path("docs/diagrams").glob("*.mmd")):
        svg = source.with_suffix(".svg")
        session.run(
            "npx", "--yes", "-p", "@mermaid-js/mermaid-cli@11.17.0", "mmdc",
            "-p", str(tmp / "puppeteer.json"), "-c", str(tmp / "mermaid.json"),
            "-t", "neutral", "-b", "white", "-i", str(source), "-o", str(svg),
            env={"PUPPETEER_SKIP_DOWNLOAD": "1"}, external=True,
        )  # fmt: skip
        svg.write_text(f"{diagram_stamp(source)}\n{svg.read_text().rstrip()}\n")


def diagram_stamp(source: Path) -> str:
    """The first line of a rendered diagram: which source, at which content."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    return f"<!-- rendered from {source.name} sha256:{digest} by nox -s diagrams -->"


@nox.session(default=False)
def fleet(session: nox.Session) -> None:
    """Audit every team repo together, `nox -s fleet -- audit [--json] [MANIFEST | REPO ...]`, or
    write the org's and every team's CloudFormation: `nox -s fleet -- infra --out infra`."""
    session.install(
        *nox.project.dependency_groups(PYPROJECT, "fleet"), "./template-tools", *REBUILT
    )
    # Its upstream declarations only, which need PyYAML alone: no Dagster in the audit's venv.
    session.install("--no-deps", "./dagster-team-platform", *REBUILT)
    session.run("python", "-m", "fleet", *(session.posargs or ["audit"]))


@nox.session(default=False)
def bake(session: nox.Session) -> None:
    """Write an example team repo to ./baked for inspection: `nox -s bake -- key=value ...`."""
    session.install("cookiecutter==2.7.1")
    session.run(
        "cookiecutter", "--no-input", "--overwrite-if-exists", "-o", "baked", ".", *session.posargs
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Time the template against create-dagster, shared storage against S3 and pickle, and the
    fleet audit over 100 repos.

    `nox -s bench -- --repeats 5 --rows 10000000`; `--only storage` or `--only template`.
    """
    session.install(*TEST_REQUIREMENTS, "create-dagster==1.13.27")
    root = {"PYTHONPATH": "."}  # testkit (baking, servers, git) and the fleet
    session.run("python", "bench/bench.py", *session.posargs, env=root)
    session.run("python", "bench/bench_fleet.py", env=root)

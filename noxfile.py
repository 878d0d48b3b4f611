"""Sessions for the template repository. `nox` runs the default ones, exactly what CI runs."""

import nox

nox.needs_version = ">=2025.2.9"

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
TEST_REQUIREMENTS = nox.project.dependency_groups(PYPROJECT, "test")


@nox.session(default=False)
def org(session: nox.Session) -> None:
    """Check the org settings in templates/org.jinja, in seconds, before the full suite."""
    session.install("jinja2==3.1.6")
    session.run("python", "tests/org.py")


@nox.session
def tests(session: nox.Session) -> None:
    """Bake every supported combination and check files, hooks and rules."""
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", *(session.posargs or ["-m", "not generated and not e2e"]))


@nox.session
def matrix(session: nox.Session) -> None:
    """Run representative generated repos' own tests, checks and lint in fresh venvs."""
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", "-m", "generated", *session.posargs)


@nox.session
def e2e(session: nox.Session) -> None:
    """Two generated repos exchange assets through real S3 servers and the local default."""
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", "-m", "e2e", "--durations=0", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint the template repository itself (the template folder is linted once baked)."""
    session.install("pre-commit==4.7.0")
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs site strictly: any warning fails."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    site = f"{session.create_tmp()}/site"
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(default=False)
def bake(session: nox.Session) -> None:
    """Write an example team repo to ./baked for inspection: `nox -s bake -- key=value ...`."""
    session.install("cookiecutter==2.7.1")
    session.run(
        "cookiecutter", "--no-input", "--overwrite-if-exists", "-o", "baked", ".", *session.posargs
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Time the template against create-dagster, and shared storage against S3 and pickle.

    `nox -s bench -- --repeats 5 --rows 10000000`; `--only storage` or `--only template`.
    """
    session.install(*TEST_REQUIREMENTS, "create-dagster==1.13.27")
    session.run("python", "tests/bench.py", *session.posargs)

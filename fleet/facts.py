"""What the audit knows about one team repository, read from its files alone."""

import ast
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dagster_team_platform import alert_policies, declarations

from fleet.sources import SourceError

PLATFORM = "vendor/dagster-team-platform"
#: Every setting storage.py gives the platform's StorageSettings, retention included.
STORAGE_CONSTANTS = (
    "BUCKETS",
    "BRANCH_BASE",
    "PREFIX",
    "BRANCH_PREFIX",
    "REGION",
    "LOCAL_DIR",
    "HISTORY_DAYS",
)


@dataclass
class Repo:
    """The facts of one repository that the fleet checks compare."""

    name: str
    path: Path
    package: str
    answers: dict
    locations: list[dict]
    template_commit: str | None
    storage: dict
    #: asset key -> the owner's fail window in seconds (None: no policy); None: not loaded
    assets: dict[str, int | None] | None
    #: declared upstreams: key, owner, fail_after_seconds (None: no freshness)
    upstreams: list[dict] = field(default_factory=list)
    #: its alert policies as synced: its file's and the policy on its declared upstreams
    alert_policies: list[dict] = field(default_factory=list)
    #: the vendored platform package's version; None before the repo carried one
    platform_version: str | None = None

    @property
    def location_names(self) -> list[str]:
        return [location.get("location_name") for location in self.locations]

    @property
    def agent_queues(self) -> list[str]:
        return [location["agent_queue"] for location in self.locations if "agent_queue" in location]


def read_repo(name: str, path: Path) -> Repo:
    """Read a team repository's facts; SourceError when it is not one or cannot be read."""
    try:
        return _read_repo(name, path)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as error:
        raise SourceError(
            f"{name} cannot be read ({type(error).__name__}: {error}). Check that the "
            "repository's files are readable and that it was generated from this template."
        )


def _read_repo(name: str, path: Path) -> Repo:
    for required in ("dagster_cloud.yaml", "pyproject.toml"):
        if not (path / required).is_file():
            raise SourceError(
                f"{name} is not a team repository: it has no {required}. List only repositories "
                "generated from this template."
            )
    project = toml(path / "pyproject.toml").get("tool", {}).get("dg", {}).get("project", {})
    package = project.get("root_module")
    if not package:
        raise SourceError(
            f"{name} is not a team repository: pyproject.toml has no [tool.dg.project] "
            "root_module. List only repositories generated from this template."
        )
    state = path / ".cruft.json"
    cruft = json.loads(state.read_text()) if state.is_file() else {}
    declared = upstreams(name, package, path / "src" / package / "defs" / "upstreams.yaml")
    return Repo(
        name=name,
        path=path,
        package=package,
        answers=answers(name, path, cruft),
        locations=(load_yaml(path / "dagster_cloud.yaml") or {}).get("locations") or [],
        template_commit=cruft.get("commit"),
        storage=storage_constants((path / "src" / package / "storage.py").read_text()),
        assets=None,
        upstreams=declared,
        alert_policies=alert_policies.with_upstreams(
            (load_yaml(path / "alert_policies.yaml") or {}).get("alert_policies") or [],
            package.replace("_", "-"),
            [upstream["key"] for upstream in declared],
        ),
        platform_version=platform_version(path),
    )


def platform_version(path: Path) -> str | None:
    """The version of the platform package the repository carries in vendor/, if it does."""
    project = path / PLATFORM / "pyproject.toml"
    return toml(project).get("project", {}).get("version") if project.is_file() else None


def answers(name: str, path: Path, cruft: dict) -> dict:
    """The team's answers: cruft's state, or the file repositories kept before they were linked."""
    if cruft:
        return cruft.get("context", {}).get("cookiecutter", {})
    legacy = path / ".template-answers.json"
    if legacy.is_file():
        return json.loads(legacy.read_text())
    raise SourceError(
        f"{name} is not a team repository: it has no .cruft.json. List only repositories "
        "generated from this template."
    )


def toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SourceError(f"{path.name} is not valid TOML ({error}). Fix it in the repository.")


def load_yaml(path: Path) -> object:
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SourceError(f"{path.name} is not valid YAML ({error}). Fix it in the repository.")


def storage_constants(source: str) -> dict:
    """The shared-storage settings a storage.py assigns at module level, as values."""
    constants = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in STORAGE_CONSTANTS:
                constants[target.id] = ast.literal_eval(node.value)
    return constants


def upstreams(name: str, package: str, path: Path) -> list[dict]:
    """defs/upstreams.yaml's entries, read by the platform's own declarations module."""
    try:
        declared = declarations.as_json(declarations.load(package, path))
    except declarations.UpstreamDeclarationError as error:
        raise SourceError(f"{name}: {error} Fix it in the repository.") from None
    return [
        {
            "key": upstream["key"],
            "owner": upstream["owner"],
            "fail_after_seconds": (upstream["freshness"] or {}).get("fail_after_seconds"),
        }
        for upstream in declared
    ]

"""What the audit knows about one team repository, read from its files alone."""

import ast
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fleet.sources import SourceError

SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
STORAGE_CONSTANTS = ("BUCKETS", "BRANCH_BASE", "PREFIX", "BRANCH_PREFIX", "REGION", "LOCAL_DIR")


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
    #: asset key -> the owner's fail window in seconds (None: no policy); None: no manifest
    assets: dict[str, int | None] | None
    #: declared upstreams: key, owner, fail_after_seconds (None: no freshness)
    upstreams: list[dict] = field(default_factory=list)
    alert_policies: list[dict] = field(default_factory=list)

    @property
    def location_names(self) -> list[str]:
        return [location.get("location_name") for location in self.locations]

    @property
    def agent_queues(self) -> list[str]:
        return [location["agent_queue"] for location in self.locations if "agent_queue" in location]


def read_repo(name: str, path: Path) -> Repo:
    """Read a team repository's facts; SourceError when it is not one or a file is unreadable."""
    for required in ("dagster_cloud.yaml", "pyproject.toml", ".template-answers.json"):
        if not (path / required).is_file():
            raise SourceError(
                f"{name} is not a team repository: it has no {required}. List only repositories "
                "generated from this template (cruft create)"
            )
    project = toml(path / "pyproject.toml").get("tool", {}).get("dg", {}).get("project", {})
    package = project.get("root_module")
    if not package:
        raise SourceError(
            f"{name} is not a team repository: pyproject.toml has no [tool.dg.project] "
            "root_module. List only repositories generated from this template"
        )
    cruft = path / ".cruft.json"
    defs = path / "src" / package / "defs"
    return Repo(
        name=name,
        path=path,
        package=package,
        answers=json.loads((path / ".template-answers.json").read_text()),
        locations=(load_yaml(path / "dagster_cloud.yaml") or {}).get("locations") or [],
        template_commit=json.loads(cruft.read_text()).get("commit") if cruft.is_file() else None,
        storage=storage_constants((path / "src" / package / "storage.py").read_text()),
        assets=asset_manifest(defs / "asset_keys.json"),
        upstreams=upstreams(defs / "upstreams.yaml"),
        alert_policies=(load_yaml(path / "alert_policies.yaml") or {}).get("alert_policies") or [],
    )


def toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SourceError(f"{path.name} is not valid TOML ({error}). Fix it in the repository")


def load_yaml(path: Path) -> object:
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SourceError(f"{path.name} is not valid YAML ({error}). Fix it in the repository")


def storage_constants(source: str) -> dict:
    """The shared-storage settings a storage.py assigns at module level, as values."""
    constants = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in STORAGE_CONSTANTS:
                constants[target.id] = ast.literal_eval(node.value)
    return constants


def asset_manifest(path: Path) -> dict[str, int | None] | None:
    """defs/asset_keys.json: each asset key with its freshness fail window, if it has one."""
    if not path.is_file():
        return None
    assets = json.loads(path.read_text()).get("assets", {})
    return {key: value.get("fail_after_seconds") for key, value in assets.items()}


def upstreams(path: Path) -> list[dict]:
    """defs/upstreams.yaml's entries, with the fail window in seconds."""
    entries = (load_yaml(path) or {}).get("upstreams") or []
    return [
        {
            "key": entry.get("key"),
            "owner": entry.get("owner"),
            "fail_after_seconds": seconds((entry.get("freshness") or {}).get("fail_after")),
        }
        for entry in entries
    ]


def seconds(duration: dict | None) -> int | None:
    if not duration:
        return None
    return int(duration["count"]) * SECONDS[duration["period"]]

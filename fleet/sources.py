"""Where the team repositories come from: a manifest, local paths or git URLs."""

import base64
import os
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN")


class SourceError(Exception):
    """A repository or manifest that cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class Source:
    """One repository as listed: its name in reports and where it is read from."""

    name: str
    location: str


def read_manifest(path: Path) -> list[Source]:
    """The repositories a manifest lists: `repos = ["<git URL or path>", ...]` in TOML."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise SourceError(f"Cannot read the manifest {path} ({error.strerror}). Check the path.")
    except tomllib.TOMLDecodeError as error:
        raise SourceError(
            f"The manifest {path} is not valid TOML ({error}). Write it as "
            '`repos = ["https://github.com/<org>/<repo>.git", ...]`.'
        )
    repos = data.get("repos")
    unknown = sorted(set(data) - {"repos"})
    if not isinstance(repos, list) or not all(isinstance(r, str) for r in repos) or unknown:
        raise SourceError(
            f"The manifest {path} must have exactly one key, `repos`, a list of git URLs or "
            'paths, like `repos = ["https://github.com/<org>/<repo>.git"]`'
            + (f"; it also has {', '.join(unknown)}" if unknown else "")
            + "."
        )
    return [source(entry, relative_to=path.parent) for entry in repos]


def source(entry: str, relative_to: Path = Path()) -> Source:
    """A REPO argument or manifest entry; relative paths are relative to the manifest."""
    if "://" in entry or entry.startswith("git@"):
        return Source(entry.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1], entry)
    path = (relative_to / entry).expanduser().resolve()
    return Source(path.name, str(path))


def is_remote(source: Source) -> bool:
    return "://" in source.location or source.location.startswith("git@")


def checkout(source: Source, into: Path) -> Path:
    """A local directory with the repository's files: the path itself, or a shallow clone."""
    if not is_remote(source):
        path = Path(source.location)
        if not path.is_dir():
            raise SourceError(f"{path} does not exist. Check the path, or list a git URL.")
        return path
    token = next((os.environ[v] for v in TOKEN_VARIABLES if os.environ.get(v)), "")
    config = []
    if token and source.location.startswith("https://"):
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        config = ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
    target = into / source.name
    try:
        result = subprocess.run(
            ["git", *config, "clone", "--quiet", "--depth", "1", source.location, str(target)],
            capture_output=True,
            text=True,
            check=False,
            env=os.environ | {"GIT_TERMINAL_PROMPT": "0"},
        )
    except FileNotFoundError:
        raise SourceError(f"Cannot clone {source.location}: git is not on PATH. Install git.")
    if result.returncode != 0:
        reason = " ".join(result.stderr.strip().splitlines()[-1:])
        if source.location.startswith("https://") and not token:
            raise SourceError(
                f"Cannot clone {source.location} ({reason}) and no token is set. For private "
                "repositories set GH_TOKEN to a token that can read them (Contents: read)."
            )
        raise SourceError(
            f"Cannot clone {source.location} ({reason}). Check the URL and that the token in "
            "GH_TOKEN can read the repository."
        )
    return target

"""`shared-storage`: list an asset's stored versions, and roll it back without running any code.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

It acts where a run of this repo would write: the local shared directory, or with
DAGSTER_CLOUD_DEPLOYMENT_NAME set, that deployment's storage (a branch deployment's own prefix,
never production's). Only this team's assets: the command refuses others, and so do the bucket's
write rules. A rollback publishes the earlier version again as the newest, so readers load it on
their next run, and records it in Dagster as a materialization of the asset, with both version
ids in its metadata.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

from .io_manager import S3, SharedStorageIOManager
from .layout import PARTITION_FILE, object_stem, partition_key
from .store import Superseded, Version

LOCAL_WEBSERVER = "http://localhost:3000"  # where `dg dev` serves
#: Exit codes, distinct so scripts can tell a rollback Dagster did not record from a failure
#: (2 is argparse's, for arguments it cannot parse).
DONE, FAILED, NOT_RECORDED = 0, 1, 3
EXIT_CODES = (
    f"exit codes: {DONE} done; {FAILED} refused or failed, nothing was rolled back; 2 the "
    f"arguments are wrong; {NOT_RECORDED} rolled back, but Dagster has no record of it"
)


class Refused(Exception):
    """What the user asked for cannot be done; the message says why and what to do."""


class NotRecorded(Exception):
    """The rollback is done and Dagster could not be told; the message says how to record it."""


def main(
    io_manager: SharedStorageIOManager, organization: str, argv: Sequence[str] | None = None
) -> int:
    """The command, for this repo's IO manager and Dagster+ organization (its storage.py)."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.command == "history":
            print(history(io_manager, arguments.asset, arguments.partition))
        else:
            done, event = rollback(io_manager, arguments)
            print(done)
            record(event, arguments.dagster_url, organization)
    except Refused as refusal:
        print(f"ERROR: {refusal}", file=sys.stderr)
        return FAILED
    except NotRecorded as missing:
        print(f"WARNING: {missing}", file=sys.stderr)
        return NOT_RECORDED
    return DONE


def history(io_manager: SharedStorageIOManager, asset: str, partition: str | None) -> str:
    """A header, then one line per version, newest first: id, time, format, the run that wrote
    it (or the version a rollback restored), and which is current."""
    store, stem = _located(io_manager, asset, partition)
    versions = _versions(store, stem, asset)
    width = max(len(version.id) for version in versions)
    lines = [f"{'version':<{width}}  {'published (UTC)':<23}  {'format':<7}  written by"]
    for version in versions:
        writer = version.run_id or (
            f"rollback to {version.restored_from}" if version.restored_from else "unknown"
        )
        mark = "  <- current" if version.current else ""
        when = f"{version.published_at:%Y-%m-%d %H:%M:%S.%f}"[:-3]
        lines.append(f"{version.id:<{width}}  {when}  {version.kind:<7}  {writer}{mark}")
    return "\n".join(lines)


def rollback(
    io_manager: SharedStorageIOManager, arguments: argparse.Namespace
) -> tuple[str, dict | None]:
    """Make an earlier version current again; what it did, and the event that records it."""
    owner = arguments.asset.split("/")[0]
    if owner != io_manager.team:
        raise Refused(
            f"{arguments.asset} belongs to team {owner!r}; this repo may only roll back its own "
            f"assets, under {io_manager.team}/. Ask team {owner!r} to run this in their repo."
        )
    store, stem = _located(io_manager, arguments.asset, arguments.partition)
    versions = _versions(store, stem, arguments.asset)
    target = _target(versions, arguments)
    where = f"{arguments.asset}{_where(arguments.partition)}"
    if target.current:
        return f"{where} is already at version {target.id}: nothing changed.", None
    with io_manager.explained_errors():
        try:
            restored = store.rollback(target, expected=versions[0].id)
        except Superseded as newer:
            raise Refused(
                f"{where} changed while this ran: version {newer.current.id} was published at "
                f"{newer.current.published_at:%H:%M:%S.%f} UTC, after the version this rollback "
                "would replace. Nothing was rolled back; run `shared-storage history` and "
                "decide again."
            ) from None
    uri = S3 + target.path if io_manager.base.startswith(S3) else target.path
    done = (
        f"Rolled back {where} to version {target.id} (written "
        f"{target.published_at:%Y-%m-%d %H:%M:%S} UTC); it is now version {restored.id} at "
        f"{uri}. Readers load it on their next run."
    )
    event = {
        "asset_key": arguments.asset.split("/"),  # a list: a string is read as one key part
        "description": f"Rolled back to version {target.id} with `shared-storage rollback`.",
        "metadata": {"uri": uri, "version": restored.id, "restored_version": target.id},
    } | ({"partition": arguments.partition} if arguments.partition else {})
    return done, event


def _located(io_manager: SharedStorageIOManager, asset: str, partition: str | None):
    """The store, and where the asset's value (or one of its partitions) is kept."""
    store = io_manager.store(io_manager.base)
    key_parts = asset.split("/")
    if partition is None:
        return store, object_stem(store.root, key_parts, None)
    folder = object_stem(store.root, key_parts, None)
    with io_manager.explained_errors():
        stored = _partitions(store.files(folder, recursive=True), folder)
    dirs = stored.get(partition) or (partition if partition in stored.values() else None)
    if dirs is None:
        listed = ", ".join(sorted(stored)[:20]) + (", ..." if len(stored) > 20 else "")
        raise Refused(
            f"{asset} has no partition {partition!r} at {folder}/. "
            + (f"Its stored partitions: {listed}." if stored else "It has no stored partitions.")
            + " Give the partition key as Dagster shows it (a multi-partition key as a|b)."
        )
    return store, object_stem(store.root, key_parts, dirs)


def _partitions(files: set[str], folder: str) -> dict[str, str]:
    """Each stored partition's Dagster key, and the folders it is kept in."""
    found = {}
    for file in files:
        dirs, _, name = file.removeprefix(folder + "/").rpartition("/")
        if dirs and name.partition(".")[0] == PARTITION_FILE:
            found[partition_key(dirs)] = dirs
    return found


def _versions(store, stem: str, asset: str) -> list[Version]:
    versions = store.history(stem)
    if not versions:
        raise Refused(
            f"No stored versions of {asset} at {stem}.*. Check the asset key (team/name, as in "
            "the UI), the --partition, and DAGSTER_CLOUD_DEPLOYMENT_NAME."
        )
    return versions


def _target(versions: list[Version], arguments: argparse.Namespace) -> Version:
    """The version asked for: by id, by the run that wrote it, or the one before the current."""
    if arguments.to:
        chosen = [version for version in versions if version.id == arguments.to]
    elif arguments.run:
        chosen = [version for version in versions if version.run_id == arguments.run][:1]
    else:
        chosen = versions[1:2]
    if not chosen:
        asked = arguments.to or arguments.run
        what = f"version {asked!r}" if arguments.to else f"version written by run {asked!r}"
        raise Refused(
            f"{arguments.asset}{_where(arguments.partition)} has no "
            f"{what if asked else 'version before the current one'}. "
            "`shared-storage history` lists the versions there are."
        )
    return chosen[0]


def record(event: dict | None, dagster_url: str | None, organization: str) -> None:
    """Report the materialization to Dagster's REST API: Dagster+'s, or a local webserver's."""
    if event is None:
        return
    try:
        _report(event, dagster_url, organization)
    except OSError as error:
        raise NotRecorded(
            f"The rollback is done, but Dagster has no record of it: {error}. Do not run the "
            "rollback again: it would roll back once more. To record it, open the asset's page "
            "in the Dagster UI (`dg dev`, or the deployment) and report a materialization with "
            f"the metadata {json.dumps(event['metadata'])}."
        ) from error


def _report(event: dict, dagster_url: str | None, organization: str) -> None:
    deployment = os.environ.get("DAGSTER_CLOUD_DEPLOYMENT_NAME")
    headers = {"Content-Type": "application/json"}
    if dagster_url is None and deployment:
        base = os.environ.get("DAGSTER_CLOUD_URL") or f"https://{organization}.dagster.cloud"
        dagster_url = f"{base}/{deployment}"
        headers["Dagster-Cloud-Api-Token"] = os.environ.get("DAGSTER_CLOUD_API_TOKEN", "")
    request = urllib.request.Request(
        f"{dagster_url or LOCAL_WEBSERVER}/report_asset_materialization/",
        data=json.dumps(event).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise OSError(f"{error.url} answered {error.code} {error.read().decode()[:200]}") from None
    except urllib.error.URLError as error:
        raise OSError(f"{request.full_url} is unreachable ({error.reason})") from None
    if "error" in answer:
        raise OSError(f"{request.full_url} answered {answer['error']}")


def _where(partition: str | None) -> str:
    return f" partition {partition}" if partition else ""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shared-storage",
        description="Versions of this team's assets in the org's shared storage.",
        epilog=EXIT_CODES,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in [
        ("history", "list an asset's stored versions, newest first"),
        ("rollback", "make an earlier version of one of this team's assets current again"),
    ]:
        command = commands.add_parser(name, help=summary, description=summary, epilog=EXIT_CODES)
        command.add_argument("asset", help="the asset key as in the UI, e.g. team/orders")
        command.add_argument(
            "--partition",
            help="a partition key as Dagster shows it (a multi-partition key as 2024-01-01|eu), "
            "or the folders of its uri (day=2024-01-01/region=eu)",
        )
    target = commands.choices["rollback"].add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="VERSION", help="a version id from `history`")
    target.add_argument("--run", metavar="RUN_ID", help="the version this Dagster run wrote")
    target.add_argument(
        "--previous", action="store_true", help="the version before the current one"
    )
    commands.choices["rollback"].add_argument(
        "--dagster-url",
        help=f"where to record the rollback: default Dagster+ in a deployment, else "
        f"{LOCAL_WEBSERVER} (dg dev)",
    )
    return parser

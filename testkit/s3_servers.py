"""Real S3 servers on 127.0.0.1, on free ports, always stopped by whoever starts them."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from fleet.org import org_settings

BIN = Path(sys.executable).parent
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def s3_client(endpoint: str, key_id: str = "test", secret: str = "test"):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=org_settings()["region"],
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


@contextmanager
def running(
    command: list,
    probe: Callable[[], object],
    env: dict[str, str],
    timeout: float = 30,
    cwd: Path | None = None,
) -> Iterator[None]:
    """Start a server, wait until `probe` succeeds, and always stop it."""
    process = subprocess.Popen(
        command, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=cwd,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited early with code {process.returncode}")
            try:
                probe()
                break
            except (BotoCoreError, ClientError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def eventually(call: Callable[[], object], seconds: float = 30) -> object:
    """`call()`, retried while the server is still setting itself up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except (BotoCoreError, ClientError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def seaweedfs(data_dir: Path, buckets: list[str]) -> Iterator[str]:
    """SeaweedFS's all-in-one server, every port explicit and bound to 127.0.0.1 only."""
    ports = {
        name: free_port()
        for name in ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                     "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port",
                     "admin.port.grpc", "debug.port"]
    }  # fmt: skip
    command = [BIN / "weed", "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
               f"-bucket={','.join(buckets)}", *(f"-{name}={port}" for name, port in ports.items())]  # fmt: skip
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        with running(command, s3_client(endpoint).list_buckets, CREDENTIALS):
            yield endpoint
    finally:  # it leaves a socket per port in /tmp, whatever TMPDIR says
        for port in ports.values():
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


@contextmanager
def moto_with_iam(unauthenticated_setup_calls: int) -> Iterator[str]:
    """moto's S3 and IAM, enforcing IAM policies once the first setup calls are spent."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"INITIAL_NO_AUTH_ACTION_COUNT": str(unauthenticated_setup_calls)}
    # moto's own API answers without spending any of the unauthenticated setup calls.
    probe = partial(urllib.request.urlopen, f"{endpoint}/moto-api/data.json")
    with running([BIN / "moto_server", "-H", "127.0.0.1", "-p", str(port)], probe, env):
        yield endpoint


class Requests:
    """Every S3 request a boto3 client makes from now on, by operation."""

    def __init__(self, client) -> None:
        self.counts: dict[str, int] = {}
        client.meta.events.register("before-call.s3.*", self.count)

    def count(self, model, **_) -> None:
        self.counts[model.name] = self.counts.get(model.name, 0) + 1

"""Talking to a Dagster webserver the tests started on 127.0.0.1: GraphQL, and waiting on it."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def gql(url: str, query: str, **variables: object) -> dict:
    """The query's data; fails the test on any GraphQL error."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.load(response)
    assert "errors" not in body, body["errors"]
    return body["data"]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 420) -> object:
    """The condition's first truthy result, while the server may still be starting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except (urllib.error.URLError, ConnectionError):
            result = None
        if result:
            return result
        time.sleep(2)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}")

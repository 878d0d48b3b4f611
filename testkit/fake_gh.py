"""A stand-in for the `gh` CLI that behaves like GitHub with its default settings.

GitHub's API cannot be reached from the test machine, so this fake answers the few calls the
update script makes, from a JSON state file (FAKE_GH_STATE), and records every call there.
Like GitHub by default, it refuses to open pull requests for the workflow's GITHUB_TOKEN (the
value in FAKE_GH_GITHUB_TOKEN).
"""

import json
import os
import sys
from pathlib import Path

REFUSED = (
    "pull request create failed: GraphQL: GitHub Actions is not permitted to create or approve "
    "pull requests (createPullRequest)"
)


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def main(args: list[str]) -> int:
    path = Path(os.environ["FAKE_GH_STATE"])
    state = json.loads(path.read_text()) if path.exists() else {"calls": [], "pulls": []}
    state["calls"].append(args)
    path.write_text(json.dumps(state))
    if args[:2] == ["auth", "setup-git"]:  # local git configuration, no API call
        return 0
    if args[:2] == ["auth", "status"]:  # logged in only through GH_TOKEN here
        if os.environ.get("GH_TOKEN"):
            return 0
        print("You are not logged into any GitHub hosts. To log in, run: gh auth login")
        return 1
    if os.environ.get("FAKE_GH_ERROR"):  # GitHub's API answers every call with this error
        print(os.environ["FAKE_GH_ERROR"], file=sys.stderr)
        return 1
    if args[:2] == ["pr", "list"]:
        head = option(args, "--head")
        pulls = [{"url": p["url"]} for p in state["pulls"] if p["head"] == head and p["open"]]
        print(json.dumps(pulls))
        return 0
    if args[:2] == ["pr", "create"]:
        if os.environ.get("GH_TOKEN") == os.environ.get("FAKE_GH_GITHUB_TOKEN"):
            print(REFUSED, file=sys.stderr)
            return 1
        url = f"https://github.com/acme-fake/team/pull/{len(state['pulls']) + 1}"
        pull = {"head": option(args, "--head"), "base": option(args, "--base"), "open": True}
        state["pulls"].append(pull | {"url": url, "body": option(args, "--body")})
        path.write_text(json.dumps(state))
        print(url)
        return 0
    print(f"fake gh: unsupported call {args}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The docs site, built strictly and in the fork's own values.

Pages write org values as placeholders no reader can take for a real organisation, so read on
GitHub they say what to fill in. The built site shows the fork's values instead, so its teams
copy commands that work for them: `<your-org>/dagster-team-template` becomes the fork's path
from `repo_url` in mkdocs.yml, the rest come from templates/org.jinja. mkdocs.yml loads this
module as a hook; `python -m fleet.docs_site [SITE]` (`uvx nox -s docs`) builds the site.
"""

import html
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from fleet.org import TEMPLATE, org_settings

# A script, stylesheet, font or image a page fetches when viewed (links to click are fine).
EXTERNAL_ASSET = re.compile(r'<(?:script|img|link)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]*)"')


def placeholders(org: dict, repo_url: str) -> dict[str, str]:
    """Each placeholder with its value; the fork's path first, it contains `<your-org>`."""
    return {
        "<your-org>/dagster-team-template": urlparse(repo_url).path.strip("/").removesuffix(".git"),
        "<your-org>": org["github_organization"],
        "<prod-deployment>": org["prod_deployment"],
        "<prod-bucket>": org["buckets"][org["prod_deployment"]],
        "<storage-prefix>": org["storage_prefix"],
    }


def on_page_markdown(markdown: str, config, **_) -> str:
    """MkDocs' hook: the page with the fork's values for the placeholders."""
    for placeholder, value in placeholders(org_settings(), config["repo_url"]).items():
        markdown = markdown.replace(placeholder, value)
    return markdown


def build(site: Path, template: Path = TEMPLATE) -> list[str]:
    """Build the site strictly (a warning fails it) into `site`; the problems found in it."""
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=template, env=os.environ | {"PYTHONPATH": str(template), "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if built.returncode != 0:
        return [f"mkdocs build failed:\n{built.stderr.strip()}"]
    found, org = [], org_settings(template)
    for page in sorted(site.rglob("*.html")):
        text = page.read_text()
        name = page.relative_to(site)
        found += [f"{name} loads {url} from another host" for url in EXTERNAL_ASSET.findall(text)]
        found += [
            f"{name} still shows {placeholder}"
            for placeholder in placeholders(org, "")
            if html.escape(placeholder) in text
        ]
    return found


def main(args: list[str]) -> int:
    """Build into the folder given, or into a scratch folder only to check the site."""
    with tempfile.TemporaryDirectory() as scratch:
        found = build(Path(args[0]).resolve() if args else Path(scratch) / "site")
    if found:
        print("The docs site is broken:", file=sys.stderr)
        print("".join(f"ERROR: {problem}\n" for problem in found), file=sys.stderr, end="")
        return 1
    print(f"Built the docs site in {args[0]}." if args else "The docs site builds cleanly.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Validate dagster_cloud.yaml as Dagster+'s deploy validates it, offline and without noise.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

`dagster-cloud ci check` runs dagster-cloud-cli's `check_dagster_cloud_yaml` but is deprecated
and says so on every run; `dg plus deploy` calls the same check. CI calls it directly, in the
project's environment, where dagster-dg-cli brings dagster-cloud-cli at the template's pin:
`PYTHONPATH=vendor/template-tools/src uv run --no-sync python -m template_tools.cloud_config`.
"""

import sys
from pathlib import Path

from dagster_cloud_cli.commands.ci.checks import check_dagster_cloud_yaml

FILE = Path("dagster_cloud.yaml")


def main() -> int:
    result = check_dagster_cloud_yaml(FILE)
    for error in result.errors:
        print(f"ERROR: {FILE}: {error}", file=sys.stderr)
    if result.errors:
        print(f"{FILE} would be refused by the deploy: fix the lines above.", file=sys.stderr)
        return 1
    print(f"{FILE} is valid for Dagster+.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

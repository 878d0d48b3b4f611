#!/usr/bin/env bash
# Team-owned: `cruft update` never touches this file.
# This team's own CI steps. CI runs this file after the template's checks, from the repository
# root inside the project's environment; a failure fails CI and blocks the deploy.
# Add commands below, e.g. `dbt parse`.
set -euo pipefail

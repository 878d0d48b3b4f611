"""Keep a team repository in step with the org's template, apart from the code it deploys.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
`state` (half-merged updates), `update` (the weekly pull request), `drift` (template-owned
files that differ from the template) and `cloud_config` (dagster_cloud.yaml as the deploy checks
it) each run as `python -m template_tools.<name>`.
"""

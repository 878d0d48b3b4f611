"""A second, valid org that differs from this checkout's in every value a test could lean on."""

GLOBEX = {
    "organization": "globex",
    "github_organization": "globex",
    "prod_deployment": "live",
    "staging_deployment": "preprod",
    "buckets": {"live": "globex-data-live", "preprod": "globex-data-preprod"},
    "storage_prefix": "assets/dagster",
    "region": "us-east-1",
    "local_storage_dir": "~/.globex/shared-assets",
    "storage_history_days": 7,
    "registry": "ghcr.io/globex",
}

"""The other teams' assets declared in defs/upstreams.yaml, as Dagster definitions.

Template-owned: teams edit the declarations, never this file. For each upstream: a stub labelled
with its owner, a freshness policy and check, and (with declared columns) a blocking contract
check on the owner's recorded schema. Sensors, running by default, evaluate the checks and log
the owners' failed runs. Check names carry this team's package: several teams may check one asset.
"""

import json
import time
import warnings
from collections.abc import Sequence

import dagster as dg

from .upstream_declarations import Upstream, load, owner_of

PACKAGE = __name__.partition(".")[0]
LOCATION = PACKAGE.replace("_", "-")
FRESHNESS_CHECK = f"{PACKAGE}_freshness"
CONTRACT_CHECK = f"{PACKAGE}_contract"
# Read by Dagster's freshness-check sensor: a passing check need not run again before this time.
FRESH_UNTIL = "dagster/fresh_until_timestamp"
COLUMN_SCHEMA = "dagster/column_schema"
SENSOR_INTERVAL = 30


def upstream_definitions() -> dg.Definitions:
    """Stubs, checks and sensors for the upstreams declared in upstreams.yaml."""
    upstreams = load(PACKAGE)
    if not upstreams:
        return dg.Definitions()
    freshness_checks = [freshness_check(upstream) for upstream in upstreams if upstream.freshness]
    contracted = [upstream for upstream in upstreams if upstream.columns]
    contract_checks = [contract_check(upstream) for upstream in contracted]
    sensors = [failure_sensor(upstreams)]
    if freshness_checks:
        sensors.append(freshness_sensor(freshness_checks))
    if contract_checks:
        sensors.append(contract_sensor(contracted, contract_checks))
    return dg.Definitions(
        assets=[stub(upstream) for upstream in upstreams],
        asset_checks=freshness_checks + contract_checks,
        sensors=sensors,
    )


def stub(upstream: Upstream) -> dg.AssetSpec:
    """The other team's asset, in its owner's group, so the UI shows who to ask."""
    freshness = upstream.freshness
    return dg.AssetSpec(
        key=upstream.path,
        group_name=upstream.owner.replace("-", "_"),
        owners=[f"team:{upstream.owner}"],
        tags={"owner": upstream.owner},
        description=(
            (f"{upstream.description}\n\n" if upstream.description else "")
            + f"Owned by code location `{upstream.owner}`; `{LOCATION}` reads it "
            + f"(declared in `src/{PACKAGE}/defs/upstreams.yaml`)."
        ),
        # Applies only when the owner's own definition declares no freshness policy.
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=freshness.fail_after, warn_window=freshness.warn_after
        )
        if freshness
        else None,
    )


def freshness_check(upstream: Upstream) -> dg.AssetChecksDefinition:
    """Fails when the last update is older than fail_after, warns after warn_after."""
    freshness = upstream.freshness

    @dg.asset_check(
        asset=upstream.path,
        name=FRESHNESS_CHECK,
        description=f"{LOCATION} expects an update at least every {freshness.fail_after}.",
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        record = context.instance.get_latest_materialization_event(dg.AssetKey(upstream.path))
        now = time.time()
        if record is None:
            return dg.AssetCheckResult(
                passed=False,
                description=f"{upstream.key} has never been materialized. Ask {upstream.owner}.",
            )
        age = now - record.timestamp
        limit = freshness.warn_after or freshness.fail_after
        metadata = {
            "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(record.timestamp),
            "age_seconds": round(age),
        }
        if age <= limit.total_seconds():
            metadata[FRESH_UNTIL] = dg.MetadataValue.timestamp(
                record.timestamp + limit.total_seconds()
            )
            return dg.AssetCheckResult(passed=True, metadata=metadata)
        late = age > freshness.fail_after.total_seconds()
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR if late else dg.AssetCheckSeverity.WARN,
            description=f"{upstream.key} was last updated {round(age)} s ago. Ask {upstream.owner}.",
            metadata=metadata,
        )

    return check


def contract_check(upstream: Upstream) -> dg.AssetChecksDefinition:
    """Fails when the latest materialization's recorded schema lacks a declared column or type."""

    @dg.asset_check(
        asset=upstream.path,
        name=CONTRACT_CHECK,
        blocking=True,
        description=f"Columns {LOCATION} relies on: "
        + ", ".join(f"{c.name} ({c.type})" if c.type else c.name for c in upstream.columns),
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        record = context.instance.get_latest_materialization_event(dg.AssetKey(upstream.path))
        if record is None:
            problems = [f"{upstream.key} has never been materialized"]
        else:
            schema = record.asset_materialization.metadata.get(COLUMN_SCHEMA)
            recorded = {c.name: c.type for c in schema.value.columns} if schema else None
            problems = (
                upstream.schema_problems(recorded)
                if recorded is not None
                else [f"{upstream.key}'s latest materialization records no {COLUMN_SCHEMA}"]
            )
        return dg.AssetCheckResult(
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(problems) + f". Ask {upstream.owner}." if problems else None,
            metadata={"problems": dg.MetadataValue.json(problems)},
        )

    return check


def freshness_sensor(checks: Sequence[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Dagster's sensor for freshness checks: it also re-runs a failed one after a new update.

    Dagster calls it superseded by freshness policies, but those stay with the owner's code
    location; this team's own checks need it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name=f"{PACKAGE}_upstream_freshness",
            minimum_interval_seconds=SENSOR_INTERVAL,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )


def contract_sensor(
    upstreams: Sequence[Upstream], checks: Sequence[dg.AssetChecksDefinition]
) -> dg.SensorDefinition:
    """Runs the contract checks of each upstream another location has just materialized."""

    @dg.sensor(
        name=f"{PACKAGE}_upstream_contracts",
        asset_selection=dg.AssetSelection.checks(*checks),
        minimum_interval_seconds=SENSOR_INTERVAL,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen = json.loads(context.cursor or "{}")
        latest = {}
        for upstream in upstreams:
            records = context.instance.fetch_materializations(
                dg.AssetKey(upstream.path), limit=1
            ).records
            latest[upstream.key] = records[0].storage_id if records else 0
        updated = [u for u in upstreams if latest[u.key] > seen.get(u.key, 0)]
        keys = [dg.AssetCheckKey(dg.AssetKey(u.path), CONTRACT_CHECK) for u in updated]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(asset_check_keys=keys)] if keys else [],
            cursor=json.dumps(latest),
        )

    return sensor


def failure_sensor(upstreams: Sequence[Upstream]) -> dg.SensorDefinition:
    """Logs, in this team's deployment, every failed run of an owner that planned an upstream."""
    owners = sorted({upstream.owner for upstream in upstreams})
    keys = {dg.AssetKey(upstream.path) for upstream in upstreams}

    @dg.run_failure_sensor(
        name=f"{PACKAGE}_upstream_failures",
        monitored_jobs=[dg.CodeLocationSelector(location_name=owner) for owner in owners],
        minimum_interval_seconds=SENSOR_INTERVAL,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def sensor(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        planned = context.instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
        affected = sorted(
            {record.asset_key for record in planned} & keys, key=lambda key: key.to_user_string()
        )
        if affected:
            steps = context.get_step_failure_events()
            error = steps[0].step_failure_data.error if steps else None
            while error and error.cause:  # the user's own exception, under Dagster's wrapper
                error = error.cause
            reason = error.message.strip() if error else context.failure_event.message
            context.log.error(
                f"Upstream run failed: run {run.run_id} of {owner_of(affected[0].to_user_string())} "
                f"did not update {', '.join(key.to_user_string() for key in affected)}, which "
                f"{LOCATION} reads. {reason}"
            )

    return sensor

"""The other teams' assets a team declares in its defs/upstreams.yaml, as Dagster definitions.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

Teams edit the declarations, never this file. For each upstream: a stub labelled with its owner,
a freshness policy and check, and (with declared columns) a blocking contract check on the
owner's recorded schema. Sensors, running by default, evaluate the checks and log the owners'
failed runs. Check names carry this team's package: several teams may check one asset.
"""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from .declarations import Upstream, load, owner_of

# Dagster tags each run a sensor launches with the sensor's name.
SENSOR_NAME_TAG = "dagster/sensor_name"
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
COLUMN_SCHEMA = "dagster/column_schema"
SENSOR_INTERVAL = 30


@dataclass(frozen=True)
class Reader:
    """The team that reads the upstreams: its checks and sensors carry its package's name."""

    package: str

    @property
    def location(self) -> str:
        return self.package.replace("_", "-")

    @property
    def freshness_check(self) -> str:
        return f"{self.package}_freshness"

    @property
    def contract_check(self) -> str:
        return f"{self.package}_contract"


def upstream_definitions(
    package: str, declarations: Path, own: dg.Definitions | None = None
) -> dg.Definitions:
    """Stubs, checks and sensors for the upstreams a team's package declares in `declarations`;
    given the team's `own` definitions, it first refuses a read of an undeclared upstream."""
    reader = Reader(package)
    upstreams = load(package, declarations)
    if own is not None:
        refuse_undeclared_reads(package, own, {upstream.key for upstream in upstreams})
    if not upstreams:
        return dg.Definitions()
    watched = [upstream for upstream in upstreams if upstream.freshness]
    freshness_checks = [freshness_check(reader, upstream) for upstream in watched]
    contracted = [upstream for upstream in upstreams if upstream.columns]
    contract_checks = [contract_check(reader, upstream) for upstream in contracted]
    sensors = [failure_sensor(reader, upstreams)]
    if freshness_checks:
        sensors.append(freshness_sensor(reader, watched, freshness_checks))
    if contract_checks:
        sensors.append(contract_sensor(reader, contracted, contract_checks))
    return dg.Definitions(
        assets=[stub(reader, upstream) for upstream in upstreams],
        asset_checks=freshness_checks + contract_checks,
        sensors=sensors,
    )


def refuse_undeclared_reads(package: str, own: dg.Definitions, declared: set[str]) -> None:
    """Fail loading, naming each asset that reads another team's asset nothing here provides,
    and the upstreams.yaml lines to add: Dagster alone says only that no op produces the input.
    An asset spec of the key in the team's own modules (the way before upstreams.yaml) counts."""
    specs = [
        spec
        for item in own.assets or []
        for spec in (item.specs if isinstance(item, dg.AssetsDefinition) else [item])
        if isinstance(spec, dg.AssetSpec)
    ]
    provided = declared | {spec.key.to_user_string() for spec in specs}
    missing = sorted(
        {
            (dep.asset_key.to_user_string(), spec.key.to_user_string())
            for spec in specs
            for dep in spec.deps
            if dep.asset_key.path[0] != package and dep.asset_key.to_user_string() not in provided
        }
    )
    if missing:
        reasons = "".join(f"\n  {reader} reads {key}" for key, reader in missing)
        entries = "".join(
            f"\n  - key: {key}\n    owner: {owner_of(key)}"
            for key in sorted({k for k, _ in missing})
        )
        raise dg.DagsterInvalidDefinitionError(
            f"Assets read other teams' assets that defs/upstreams.yaml does not declare:{reasons}"
            f"\nDeclare each under `upstreams:` in defs/upstreams.yaml (the owner is the code "
            f"location that publishes it; by the naming rule, its key's first part):{entries}"
        )


def stub(reader: Reader, upstream: Upstream) -> dg.AssetSpec:
    """The other team's asset, in its owner's group, so the UI shows who to ask."""
    freshness = upstream.freshness
    return dg.AssetSpec(
        key=upstream.path,
        group_name=upstream.owner.replace("-", "_"),
        owners=[f"team:{upstream.owner}"],
        tags={"owner": upstream.owner},
        description=(
            (f"{upstream.description}\n\n" if upstream.description else "")
            + f"Owned by code location `{upstream.owner}`; `{reader.location}` reads it "
            + f"(declared in `src/{reader.package}/defs/upstreams.yaml`)."
        ),
        # Applies only when the owner's own definition declares no freshness policy.
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=freshness.fail_after, warn_window=freshness.warn_after
        )
        if freshness
        else None,
    )


def lateness(
    upstream: Upstream, updated_at: float | None, now: float
) -> dg.AssetCheckSeverity | None:
    """How late the upstream is: None while fresh, WARN past warn_after, ERROR past fail_after."""
    freshness = upstream.freshness
    if updated_at is None or now - updated_at > freshness.fail_after.total_seconds():
        return dg.AssetCheckSeverity.ERROR
    if freshness.warn_after and now - updated_at > freshness.warn_after.total_seconds():
        return dg.AssetCheckSeverity.WARN
    return None


def last_update(instance: dg.DagsterInstance, upstream: Upstream) -> float | None:
    record = instance.get_latest_materialization_event(dg.AssetKey(upstream.path))
    return record.timestamp if record else None


def recorded_lateness(evaluation: dg.AssetCheckEvaluation) -> dg.AssetCheckSeverity | None:
    return None if evaluation.passed else evaluation.severity


def freshness_check(reader: Reader, upstream: Upstream) -> dg.AssetChecksDefinition:
    """Fails when the last update is older than fail_after, warns after warn_after."""

    @dg.asset_check(
        asset=upstream.path,
        name=reader.freshness_check,
        description=f"{reader.location} expects an update at least every "
        f"{upstream.freshness.fail_after}.",
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        updated_at = last_update(context.instance, upstream)
        if updated_at is None:
            return dg.AssetCheckResult(
                passed=False,
                description=f"{upstream.key} has never been materialized. Ask {upstream.owner}.",
            )
        now = time.time()
        late = lateness(upstream, updated_at, now)
        metadata = {
            "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(updated_at),
            "age_seconds": round(now - updated_at),
        }
        if late is None:
            return dg.AssetCheckResult(passed=True, metadata=metadata)
        return dg.AssetCheckResult(
            passed=False,
            severity=late,
            description=f"{upstream.key} was last updated {round(now - updated_at)} s ago. "
            f"Ask {upstream.owner}.",
            metadata=metadata,
        )

    return check


def contract_check(reader: Reader, upstream: Upstream) -> dg.AssetChecksDefinition:
    """Fails when the latest materialization's recorded schema lacks a declared column or type."""

    @dg.asset_check(
        asset=upstream.path,
        name=reader.contract_check,
        blocking=True,
        description=f"Columns {reader.location} relies on: "
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


def freshness_sensor(
    reader: Reader, upstreams: Sequence[Upstream], checks: Sequence[dg.AssetChecksDefinition]
) -> dg.SensorDefinition:
    """Runs a freshness check when its result would change, never while one of its runs is going.

    Dagster's own freshness-check sensor launches another run on every tick while the re-check
    after an owner's update is still queued: on a busy deployment, runs pile up.
    """
    name = f"{reader.package}_upstream_freshness"
    keys = {dg.AssetCheckKey(dg.AssetKey(u.path), reader.freshness_check): u for u in upstreams}

    @dg.sensor(
        name=name,
        asset_selection=dg.AssetSelection.checks(*checks),
        minimum_interval_seconds=SENSOR_INTERVAL,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        instance = context.instance
        going = dg.RunsFilter(tags={SENSOR_NAME_TAG: name}, statuses=UNFINISHED)
        if instance.get_runs(filters=going, limit=1):
            return dg.SkipReason("A freshness check launched by this sensor is still running.")
        summaries = instance.event_log_storage.get_asset_check_summary_records(list(keys))
        now = time.time()
        due = []
        for key, upstream in keys.items():
            completed = summaries[key].last_completed_check_execution_record
            late = lateness(upstream, last_update(instance, upstream), now)
            if completed is None or late != recorded_lateness(completed.evaluation):
                due.append(key)
        return dg.SensorResult(run_requests=[dg.RunRequest(asset_check_keys=due)] if due else [])

    return sensor


def contract_sensor(
    reader: Reader, upstreams: Sequence[Upstream], checks: Sequence[dg.AssetChecksDefinition]
) -> dg.SensorDefinition:
    """Runs the contract checks of each upstream another location has just materialized."""

    @dg.sensor(
        name=f"{reader.package}_upstream_contracts",
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
        keys = [dg.AssetCheckKey(dg.AssetKey(u.path), reader.contract_check) for u in updated]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(asset_check_keys=keys)] if keys else [],
            cursor=json.dumps(latest),
        )

    return sensor


def failure_sensor(reader: Reader, upstreams: Sequence[Upstream]) -> dg.SensorDefinition:
    """Logs, in this team's deployment, every failed run of an owner that planned an upstream."""
    owners = sorted({upstream.owner for upstream in upstreams})
    keys = {dg.AssetKey(upstream.path) for upstream in upstreams}

    @dg.run_failure_sensor(
        name=f"{reader.package}_upstream_failures",
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
                f"{reader.location} reads. {reason}"
            )

    return sensor

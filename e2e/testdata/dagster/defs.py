"""The code location of the real-Dagster end-to-end test (e2e/dagster_test.go).

Every job uses boto3's default credential chain and nothing else: the run
worker's environment has no AWS keys or profiles, only what
`dagster-oidc exec` provides. Configured by the environment:

  E2E_S3_ENDPOINT   MinIO's S3 URL
  E2E_DAGSTER_OIDC  the dagster-oidc binary, for the OIDCIdentity resource
  E2E_PROGRESS_DIR  long_run appends one JSON line per event to
                    <dir>/<run id>.jsonl: {"event": "put", "n", "access_key"},
                    {"event": "error", "code"}, {"event": "signal", "name", "pid"};
                    etl_steps' step workers keep their exec status in
                    <dir>/<run id>-<step key>.status.json
  E2E_CODE_SERVER_MARKER  set for the code server only: loading this file
                    lists MinIO's buckets and writes {"credential_method",
                    "buckets", "run_id", "job_name"} there

resumable's first worker dies; run monitoring (dagster-daemon) resumes it.
always_dies's workers all die; run monitoring fails it once the attempts
are used up.

etl_steps runs each step as `dagster-oidc exec --aws -- dagster api
execute_step --compressed-input-json ...`, the command line the
k8s_job_executor and docker_executor give their step workers, through a
local step handler.
"""

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError
from dagster import (
    Definitions,
    EnvVar,
    In,
    InitExecutorContext,
    Nothing,
    OpExecutionContext,
    executor,
    in_process_executor,
    job,
    op,
)
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.events import DagsterEvent
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.step_delegating import StepDelegatingExecutor
from dagster._core.executor.step_delegating.step_handler.base import (
    CheckStepHealthResult,
    StepHandler,
    StepHandlerContext,
)
from dagster_oidc import OIDCIdentity


def s3() -> Any:
    return boto3.client("s3", endpoint_url=os.environ["E2E_S3_ENDPOINT"])


def ensure_bucket(client: Any, bucket: str) -> None:
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


@op
def write_orders(context: OpExecutionContext) -> None:
    client = s3()
    ensure_bucket(client, "etl-daily")
    key = f"orders/{context.run_id}.json"
    client.put_object(Bucket="etl-daily", Key=key, Body=json.dumps({"run_id": context.run_id}).encode())
    method = boto3.Session().get_credentials().method
    context.log.info(f"wrote s3://etl-daily/{key} with credentials from {method}")


@op(ins={"after": In(Nothing)})
def check_identity(context: OpExecutionContext, identity: OIDCIdentity) -> None:
    """The resource's token and boto3 session, reading back what write_orders wrote."""
    claims = identity.claims()
    session = identity.boto3_session()
    client = session.client("s3", endpoint_url=os.environ["E2E_S3_ENDPOINT"])
    body = client.get_object(Bucket="etl-daily", Key=f"orders/{context.run_id}.json")["Body"].read()
    assert json.loads(body)["run_id"] == context.run_id
    context.log.info(
        f"OIDCIdentity: token of {len(identity.id_token().split('.'))} parts, subject {claims.get('sub')}, "
        f"read the object back with credentials from {session.get_credentials().method}"
    )


@job
def etl_daily() -> None:
    check_identity(after=write_orders())


@op
def adhoc_query(context: OpExecutionContext) -> None:
    context.log.info("adhoc ran")


@job
def adhoc() -> None:
    adhoc_query()


@op
def keep_writing(context: OpExecutionContext) -> None:
    path = os.path.join(os.environ["E2E_PROGRESS_DIR"], f"{context.run_id}.jsonl")

    def record(**fields: Any) -> None:
        with open(path, "a") as f:
            f.write(json.dumps(fields) + "\n")

    # Note SIGTERM, then let Dagster handle it (it maps SIGTERM to SIGINT).
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        record(event="signal", name=signal.Signals(signum).name, pid=os.getpid())
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

    client = s3()
    used: list[str] = []

    def note_key(request: Any, **_: Any) -> None:
        # The access key this request is really signed with.
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        if "Credential=" in auth:
            used.append(auth.split("Credential=")[1].split("/")[0])

    client.meta.events.register("before-send.s3", note_key)
    ensure_bucket(client, "long-run")
    n = 0
    while True:
        n += 1
        try:
            client.put_object(Bucket="long-run", Key=f"{context.run_id}/tick-{n}", Body=b"tick")
            record(event="put", n=n, access_key=used[-1] if used else "")
        except ClientError as e:
            record(event="error", n=n, code=e.response["Error"]["Code"])
        time.sleep(2)


@job(executor_def=in_process_executor)
def long_run() -> None:
    keep_writing()


class ExecStepHandler(StepHandler):
    """Each step as a local `dagster-oidc exec --aws -- dagster api execute_step` process."""

    def __init__(self, binary: str, status_dir: str) -> None:
        self._binary, self._status_dir = binary, status_dir
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def name(self) -> str:
        return "dagster-oidc exec"

    def _key(self, ctx: StepHandlerContext) -> str:
        (key,) = ctx.execute_step_args.step_keys_to_execute or []
        return key

    def launch_step(self, ctx: StepHandlerContext) -> Iterator[DagsterEvent]:
        args, key = ctx.execute_step_args, self._key(ctx)
        status = os.path.join(self._status_dir, f"{args.run_id}-{key}.status.json")
        cmd = [self._binary, "exec", "--aws", "--status-file", status, "--", *args.get_command_args()]
        # as the docker_executor does
        env = {**os.environ, "DAGSTER_RUN_JOB_NAME": ctx.dagster_run.job_name, "DAGSTER_RUN_STEP_KEY": key}
        self._procs[key] = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
        yield DagsterEvent.step_worker_starting(
            ctx.get_step_context(key), message="Launching step under dagster-oidc exec", metadata={}
        )

    def check_step_health(self, ctx: StepHandlerContext) -> CheckStepHealthResult:
        proc = self._procs.get(self._key(ctx))
        if proc is not None and proc.poll() not in (None, 0):
            return CheckStepHealthResult.unhealthy(f"the step worker exited {proc.returncode}")
        return CheckStepHealthResult.healthy()

    def terminate_step(self, ctx: StepHandlerContext) -> Iterator[DagsterEvent]:
        proc = self._procs.get(self._key(ctx))
        if proc is not None:
            proc.terminate()
        yield from ()


@executor(name="exec_steps", requirements=multiple_process_executor_requirements())
def exec_step_executor(init_context: InitExecutorContext) -> StepDelegatingExecutor:
    handler = ExecStepHandler(os.environ["E2E_DAGSTER_OIDC"], os.environ["E2E_PROGRESS_DIR"])
    return StepDelegatingExecutor(handler, retries=RetryMode.DISABLED)


@op
def extract(context: OpExecutionContext) -> None:
    client = s3()
    ensure_bucket(client, "etl-steps")
    client.put_object(Bucket="etl-steps", Key=f"{context.run_id}/extract", Body=b"extract")
    context.log.info(f"step extract, pid {os.getpid()}, run {os.environ.get('DAGSTER_RUN_ID')}")


@op(ins={"after": In(Nothing)})
def load(context: OpExecutionContext) -> None:
    s3().put_object(Bucket="etl-steps", Key=f"{context.run_id}/load", Body=b"load")
    context.log.info(f"step load, pid {os.getpid()}, run {os.environ.get('DAGSTER_RUN_ID')}")


@job(executor_def=exec_step_executor)
def etl_steps() -> None:
    load(after=extract())


@op
def finish_when_resumed(context: OpExecutionContext) -> None:
    """The first attempt's worker dies of SIGKILL, as an OOM kill ends it; the
    attempt run monitoring resumes writes to S3 and finishes. Each attempt
    appends {"attempt", "pid", "credential_method"} to
    <E2E_PROGRESS_DIR>/<run id>-attempts.jsonl."""
    path = os.path.join(os.environ["E2E_PROGRESS_DIR"], f"{context.run_id}-attempts.jsonl")
    attempt = 1
    if os.path.exists(path):
        with open(path) as f:
            attempt += sum(1 for _ in f)
    method = boto3.Session().get_credentials().method
    with open(path, "a") as f:
        f.write(json.dumps({"attempt": attempt, "pid": os.getpid(), "credential_method": method}) + "\n")
    if attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    client = s3()
    ensure_bucket(client, "resumed")
    client.put_object(
        Bucket="resumed", Key=f"{context.run_id}.json", Body=json.dumps({"attempt": attempt}).encode()
    )
    context.log.info(
        f"finished on attempt {attempt}, wrote s3://resumed/{context.run_id}.json "
        f"with credentials from {method}"
    )


@job(executor_def=in_process_executor)
def resumable() -> None:
    finish_when_resumed()


@op
def die(context: OpExecutionContext) -> None:
    """Every attempt's worker dies of SIGKILL."""
    os.kill(os.getpid(), signal.SIGKILL)


@job(executor_def=in_process_executor)
def always_dies() -> None:
    die()


def _code_server_check(marker: str) -> None:
    """What the code server itself can do, with the profile's identity and no run."""
    session = boto3.Session()
    buckets = session.client("s3", endpoint_url=os.environ["E2E_S3_ENDPOINT"]).list_buckets()["Buckets"]
    with open(marker, "w") as f:
        json.dump(
            {
                "credential_method": session.get_credentials().method,
                "buckets": len(buckets),
                "run_id": os.environ.get("DAGSTER_RUN_ID", ""),
                "job_name": os.environ.get("DAGSTER_RUN_JOB_NAME", ""),
            },
            f,
        )


if os.environ.get("E2E_CODE_SERVER_MARKER"):
    _code_server_check(os.environ["E2E_CODE_SERVER_MARKER"])


defs = Definitions(
    jobs=[etl_daily, adhoc, long_run, etl_steps, resumable, always_dies],
    resources={"identity": OIDCIdentity(binary=EnvVar("E2E_DAGSTER_OIDC"))},
)

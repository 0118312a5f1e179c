"""The code location of the real-Dagster end-to-end test (e2e/dagster_test.go).

Every job uses boto3's default credential chain and nothing else: the run
worker's environment has no AWS keys or profiles, only what
`dagster-oidc exec` provides. Configured by the environment:

  E2E_S3_ENDPOINT   MinIO's S3 URL
  E2E_DAGSTER_OIDC  the dagster-oidc binary, for the OIDCIdentity resource
  E2E_PROGRESS_DIR  long_run appends one JSON line per event to
                    <dir>/<run id>.jsonl: {"event": "put", "n", "access_key"},
                    {"event": "error", "code"}, {"event": "signal", "name", "pid"}
"""

import json
import os
import signal
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError
from dagster import Definitions, EnvVar, In, Nothing, OpExecutionContext, in_process_executor, job, op

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
        f"OIDCIdentity: token of {len(identity.id_token().split('.'))} parts, groups {claims.get('groups')}, "
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


defs = Definitions(
    jobs=[etl_daily, adhoc, long_run],
    resources={"identity": OIDCIdentity(binary=EnvVar("E2E_DAGSTER_OIDC"))},
)

"""Jobs the launcher's unit tests run with a real Dagster run worker."""

import os
import signal
import time

from dagster import Definitions, OpExecutionContext, in_process_executor, job, op


@op
def quick(context: OpExecutionContext) -> None:
    context.log.info(f"job name from the launcher: {os.environ.get('DAGSTER_RUN_JOB_NAME')}")


@job
def quick_job() -> None:
    quick()


@op
def slow(context: OpExecutionContext) -> None:
    marker = os.environ.get("SLOW_MARKER")
    if marker:
        open(marker, "w").close()
    for _ in range(600):
        time.sleep(0.1)


@job
def slow_job() -> None:
    slow()


@op
def killed(context: OpExecutionContext) -> None:
    """The worker process (in-process executor) dies as the OOM killer would end it."""
    os.kill(os.getpid(), signal.SIGKILL)


@job(executor_def=in_process_executor)
def killed_job() -> None:
    killed()


defs = Definitions(jobs=[quick_job, slow_job, killed_job])

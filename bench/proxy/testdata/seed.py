"""Fills the benchmark's Dagster instance ($DAGSTER_HOME) with runs, so the
runs page query returns a page of real runs: seed.py N runs each job N times
in-process (no run launcher, no network)."""

import sys

from dagster import DagsterInstance
from defs import defs


def main() -> None:
    n = int(sys.argv[1])
    instance = DagsterInstance.get()
    for name in ("hello", "orders_job"):
        job = defs.get_job_def(name)
        for _ in range(n):
            result = job.execute_in_process(instance=instance)
            if not result.success:
                sys.exit(f"seed: {name} failed")


if __name__ == "__main__":
    main()

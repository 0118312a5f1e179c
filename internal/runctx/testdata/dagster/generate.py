"""Run-worker command lines as the installed Dagster serialises them.

Writes serdes.json next to this file: for each case, the argv and
environment a launcher gives a run or step worker (ExecuteRunArgs,
ResumeRunArgs, ExecuteStepArgs from dagster._grpc.types, through Dagster's
own serdes) and what internal/runctx must read from them. The expected
values are the inputs given to Dagster, not anything parsed.

    python generate.py          # rewrite serdes.json (after a Dagster upgrade)
    python generate.py --check  # exit 1 if the installed Dagster serialises differently

Run with the venv of scripts/deps.sh python; python/tests runs --check.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import zlib
from typing import Any

import dagster
from dagster._core.code_pointer import FileCodePointer, ModuleCodePointer
from dagster._core.instance.ref import InstanceRef
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._grpc.types import ExecuteRunArgs, ExecuteStepArgs, ResumeRunArgs
from dagster._serdes import deserialize_value, serialize_value

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "serdes.json")
RUN_ID = "5f2c5a3e-8d1b-4c7a-9e0f-1a2b3c4d5e6f"


def instance_ref() -> InstanceRef:
    """The InstanceRef of a default DAGSTER_HOME at /opt/dagster/dagster_home."""
    with tempfile.TemporaryDirectory() as home:
        text = serialize_value(InstanceRef.from_dir(home)).replace(home, "/opt/dagster/dagster_home")
    return deserialize_value(text, InstanceRef)


INSTANCE = instance_ref()


def origin(job: str, entry_point: list[str] | None, module: bool) -> JobPythonOrigin:
    pointer = (
        ModuleCodePointer("analytics.definitions", "defs", "/opt/dagster/app")
        if module
        else FileCodePointer("/opt/dagster/app/defs.py", "defs", "/opt/dagster/app")
    )
    repo = RepositoryPythonOrigin(
        executable_path="/opt/venv/bin/python",
        code_pointer=pointer,
        container_image="registry.example.com/analytics:2026.03.1" if module else None,
        entry_point=entry_point,
        container_context={"k8s": {"namespace": "dagster"}} if module else None,
    )
    return JobPythonOrigin(job, repo)


def cases() -> list[dict[str, Any]]:
    k8s = origin("etl_daily", ["dagster"], module=True)
    local = origin("etl_daily", None, module=False)
    step = ExecuteStepArgs(k8s, RUN_ID, ["load_orders"], INSTANCE, print_serialized_events=True)
    two = ExecuteStepArgs(k8s, RUN_ID, ["load_orders", "transform"], INSTANCE)

    def want(command: str, step: str = "") -> dict[str, str]:
        return {"id": RUN_ID, "job": "etl_daily", "step": step, "command": command}

    return [
        {
            "name": "execute_run, entry point dagster (K8s, ECS, Docker launchers)",
            "argv": list(ExecuteRunArgs(k8s, RUN_ID, INSTANCE).get_command_args()),
            "want": want("execute_run"),
        },
        {
            "name": "execute_run, python -m dagster (ExecRunLauncher, set_exit_code_on_failure)",
            "argv": list(ExecuteRunArgs(local, RUN_ID, INSTANCE, set_exit_code_on_failure=True).get_command_args()),
            "want": want("execute_run"),
        },
        {
            "name": "resume_run",
            "argv": list(ResumeRunArgs(k8s, RUN_ID, INSTANCE).get_command_args()),
            "want": want("resume_run"),
        },
        {
            "name": "execute_step, compressed argv (k8s_job_executor)",
            "argv": list(step.get_command_args()),
            "want": want("execute_step", "load_orders"),
        },
        {
            "name": "execute_step, compressed environment variable",
            "argv": list(step.get_command_args(skip_serialized_namedtuple=True)),
            "env": {e["name"]: e["value"] for e in step.get_command_env()},
            "want": want("execute_step", "load_orders"),
        },
        {
            "name": "execute_step of two steps: no single step key",
            "argv": list(two.get_command_args()),
            "want": want("execute_step"),
        },
    ]


def document() -> dict[str, Any]:
    return {"dagster_version": dagster.__version__, "cases": cases()}


def normalised(doc: dict[str, Any]) -> Any:
    """The document with compressed arguments decompressed (zlib output may differ between builds)."""

    def inflate(s: str) -> Any:
        return json.loads(zlib.decompress(base64.b64decode(s)))

    out = json.loads(json.dumps(doc))
    for case in out["cases"]:
        argv = case["argv"]
        for i, a in enumerate(argv[:-1]):
            if a == "--compressed-input-json":
                argv[i + 1] = inflate(argv[i + 1])
        for k, v in case.get("env", {}).items():
            case["env"][k] = inflate(v)
    return out


def main() -> int:
    doc = document()
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as f:
            committed = json.load(f)
        if normalised(committed) != normalised(doc):
            sys.stderr.write(
                f"{OUT} differs from what dagster {dagster.__version__} serialises "
                f"(it was generated with {committed.get('dagster_version')}): "
                "run it without --check, then go test ./internal/runctx\n"
            )
            return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

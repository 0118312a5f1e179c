"""Fixtures: a real DagsterInstance (SQLite, temporary DAGSTER_HOME) whose run
launcher is ExecRunLauncher with the stand-in wrapper of fake_dagster_oidc.py."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance
from dagster._core.code_pointer import FileCodePointer
from dagster._core.instance_for_test import instance_for_test
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.test_utils import create_run_for_test

HERE = Path(__file__).parent


@pytest.fixture
def fake_binary(tmp_path: Path) -> str:
    """An executable `dagster-oidc` that runs fake_dagster_oidc.py with this Python."""
    path = tmp_path / "dagster-oidc"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "fake_dagster_oidc.py"} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def launcher_config(binary: str, **extra: Any) -> dict[str, Any]:
    return {
        "run_launcher": {
            "module": "dagster_oidc",
            "class": "ExecRunLauncher",
            "config": {"binary": binary, "profile": "runs", "aws": True, "start_timeout": 30.0, **extra},
        }
    }


@pytest.fixture
def instance(fake_binary: str) -> Iterator[DagsterInstance]:
    with instance_for_test(overrides=launcher_config(fake_binary)) as inst:
        yield inst


def job_origin(job: str) -> JobPythonOrigin:
    pointer = FileCodePointer(str(HERE / "jobs.py"), "defs", str(HERE))
    return JobPythonOrigin(job, RepositoryPythonOrigin(sys.executable, pointer, None, None, None))


def create_run(instance: DagsterInstance, job: str) -> DagsterRun:
    return create_run_for_test(instance, job_name=job, job_code_origin=job_origin(job))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("FAKE_EXEC", "FAKE_EXEC_ARGV", "SLOW_MARKER"):
        monkeypatch.delenv(k, raising=False)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

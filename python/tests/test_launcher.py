"""ExecRunLauncher with a real DagsterInstance and real Dagster run workers,
behind the stand-in wrapper of fake_dagster_oidc.py."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster._core.events import DagsterEventType
from dagster._core.launcher.base import WorkerStatus
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.test_utils import poll_for_finished_run

from dagster_oidc import ExecRunLauncher
from dagster_oidc.status import TAG_PID, TAG_STATUS_FILE

from .conftest import create_run


def launcher(instance: DagsterInstance) -> ExecRunLauncher:
    rl = instance.run_launcher
    assert isinstance(rl, ExecRunLauncher)
    return rl


def messages(instance: DagsterInstance, run_id: str) -> list[str]:
    return [e.message or "" for e in instance.all_logs(run_id)]


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_run_succeeds_with_identity(
    instance: DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv_file = tmp_path / "argv.json"
    monkeypatch.setenv("FAKE_EXEC_ARGV", str(argv_file))
    run = create_run(instance, "quick_job")
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    finished = poll_for_finished_run(instance, run.run_id, timeout=120)
    launcher(instance).join()
    logs = messages(instance, run.run_id)
    assert finished.status == DagsterRunStatus.SUCCESS, logs
    argv = json.loads(argv_file.read_text())
    dash = argv.index("--")
    assert argv[:dash] == [
        "--profile",
        "runs",
        "exec",
        "--aws",
        "--status-file",
        finished.tags[TAG_STATUS_FILE],
    ]
    # the real worker command line, python -m dagster for a code location without an entry point
    assert argv[dash + 1 : dash + 6] == [sys.executable, "-m", "dagster", "api", "execute_run"]
    assert json.loads(argv[-1])["pipeline_run_id"] == run.run_id
    tags = finished.tags
    assert tags["dagster-oidc/aws-role"] == "arn:aws:iam::123456789012:role/etl-daily-writer"
    assert tags["dagster-oidc/subject-hash"] == "4c10fb2f099705bf1ce473ab2e88aa45"
    assert tags["dagster-oidc/source"] == "file"
    assert not any("session" in k for k in tags), tags  # a session name may hold an email
    assert any("started by dagster-oidc exec with identity: profile runs, source file" in m for m in logs), (
        logs
    )
    assert any("job name from the launcher: quick_job" in m for m in logs), logs
    assert any("dagster-oidc exec exited 0: the run worker" in m for m in logs), logs
    assert launcher(instance).check_run_worker_health(finished).status == WorkerStatus.SUCCESS
    assert oct(os.stat(Path(tags[TAG_STATUS_FILE]).parent).st_mode & 0o777) == "0o700"


def test_refusal_is_the_run_failure(instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EXEC", "deny")
    run = create_run(instance, "quick_job")
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    launcher(instance).join()
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None and finished.status == DagsterRunStatus.FAILURE
    failures = [
        e.message or ""
        for e in instance.all_logs(run.run_id)
        if e.dagster_event and e.dagster_event.event_type == DagsterEventType.RUN_FAILURE
    ]
    assert len(failures) == 1, failures
    assert "refused to start the run worker of job quick_job (exit 4, denied): no rule grants" in failures[0]
    assert "dagster-oidc explain" in failures[0]
    health = launcher(instance).check_run_worker_health(finished)
    assert health.status == WorkerStatus.FAILED and "no rule grants" in (health.msg or "")


def test_wrapper_crash_is_the_run_failure(instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EXEC", "crash")
    run = create_run(instance, "quick_job")
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    launcher(instance).join()
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None and finished.status == DagsterRunStatus.FAILURE
    assert any("exited 1 without starting the run worker" in m for m in messages(instance, run.run_id))


def test_missing_binary(tmp_path: Path) -> None:
    from dagster._core.instance_for_test import instance_for_test

    from .conftest import launcher_config

    with instance_for_test(overrides=launcher_config(str(tmp_path / "nope"))) as inst:
        run = create_run(inst, "quick_job")
        inst.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
        finished = inst.get_run_by_id(run.run_id)
        assert finished is not None and finished.status == DagsterRunStatus.FAILURE
        assert any("Could not start dagster-oidc" in m for m in messages(inst, run.run_id))


def test_terminate_after_a_restart(
    instance: DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A launcher that did not start the run (a restarted daemon or webserver)
    checks its health and terminates it from the run's tags alone."""
    marker = tmp_path / "slow-started"
    monkeypatch.setenv("SLOW_MARKER", str(marker))
    run = create_run(instance, "slow_job")
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    wait_for(marker.exists, timeout=120)
    fresh = ExecRunLauncher(**{k: v for k, v in launcher(instance).inst_data.config_dict.items()})  # type: ignore[union-attr]
    fresh.register_instance(instance)
    started = instance.get_run_by_id(run.run_id)
    assert started is not None
    health = fresh.check_run_worker_health(started)
    assert health.status == WorkerStatus.RUNNING and health.run_worker_id == started.tags[TAG_PID]
    assert fresh.terminate(run.run_id)
    finished = poll_for_finished_run(instance, run.run_id, timeout=60)
    launcher(instance).join()
    assert finished.status == DagsterRunStatus.CANCELED, messages(instance, run.run_id)
    assert any("Sent SIGTERM to dagster-oidc exec" in m for m in messages(instance, run.run_id))
    assert not fresh.terminate(run.run_id)  # already finished
    # a reused pid is not ours
    assert fresh.check_run_worker_health(finished).status != WorkerStatus.RUNNING


def monitoring_instance(fake_binary: str, resume: bool) -> AbstractContextManager[DagsterInstance]:
    """An instance whose run monitoring resumes runs (max_resume_run_attempts 1), or does not."""
    from dagster._core.instance_for_test import instance_for_test

    from .conftest import launcher_config

    overrides = launcher_config(fake_binary)
    if resume:
        overrides["run_monitoring"] = {"enabled": True, "max_resume_run_attempts": 1}
    return instance_for_test(overrides=overrides)


def assert_left_to_monitoring(inst: DagsterInstance, run_id: str, resume: bool, why: str) -> None:
    """Without resumption the dead worker's run fails with why; with it the run stays
    STARTED for the monitoring daemon, whose health check then finds the worker dead."""
    after = inst.get_run_by_id(run_id)
    assert after is not None
    logs = messages(inst, run_id)
    assert any(why in m for m in logs), "\n".join(logs)
    if resume:
        assert after.status == DagsterRunStatus.STARTED, logs
        assert any(
            "Left to run monitoring: it resumes the run while attempts remain (max_resume_run_attempts: 1)"
            in m
            for m in logs
        ), logs
        assert launcher(inst).check_run_worker_health(after).status == WorkerStatus.FAILED
    else:
        assert after.status == DagsterRunStatus.FAILURE, logs


@pytest.mark.parametrize("resume", [False, True])
def test_killed_worker(fake_binary: str, resume: bool) -> None:
    with monitoring_instance(fake_binary, resume) as inst:
        run = create_run(inst, "killed_job")
        inst.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
        launcher(inst).join(timeout=120)
        assert_left_to_monitoring(
            inst, run.run_id, resume, "The run worker exited 137 before the run finished"
        )


@pytest.mark.parametrize("resume", [False, True])
def test_wrapper_killed_while_the_worker_ran(
    fake_binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resume: bool
) -> None:
    marker = tmp_path / "slow-started"
    monkeypatch.setenv("SLOW_MARKER", str(marker))
    with monitoring_instance(fake_binary, resume) as inst:
        run = create_run(inst, "slow_job")
        inst.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
        wait_for(marker.exists, timeout=120)
        started = inst.get_run_by_id(run.run_id)
        assert started is not None
        os.killpg(int(started.tags[TAG_PID]), signal.SIGKILL)  # the wrapper and its worker
        launcher(inst).join(timeout=60)
        assert_left_to_monitoring(
            inst, run.run_id, resume, "dagster-oidc exec was killed by SIGKILL while the run worker (pid"
        )


def test_health_without_a_process(instance: DagsterInstance) -> None:
    run = create_run(instance, "quick_job")
    instance.add_run_tags(
        run.run_id, {TAG_PID: str(os.getpid()), TAG_STATUS_FILE: "/nonexistent/status.json"}
    )
    tagged = instance.get_run_by_id(run.run_id)
    assert tagged is not None
    # our own pid is alive but its command line does not name the status file
    assert launcher(instance).check_run_worker_health(tagged).status == WorkerStatus.NOT_FOUND


def test_resume_run_wraps_resume_run(
    instance: DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run monitoring's resume goes through the wrapper too, with its own status file."""
    from dagster._core.launcher.base import ResumeRunContext

    argv_file = tmp_path / "argv.json"
    monkeypatch.setenv("FAKE_EXEC_ARGV", str(argv_file))
    monkeypatch.setenv("FAKE_EXEC", "deny")
    run = create_run(instance, "quick_job")
    launcher(instance).resume_run(ResumeRunContext(run, None, 1))
    launcher(instance).join()
    argv = json.loads(argv_file.read_text())
    assert argv[argv.index("--") + 1 :][1:5] == ["-m", "dagster", "api", "resume_run"]
    assert argv[argv.index("--status-file") + 1].endswith("/status-1.json")
    resumed = instance.get_run_by_id(run.run_id)
    assert resumed is not None and resumed.tags[TAG_STATUS_FILE].endswith("/status-1.json")


def test_identity_of_a_worker_over_before_the_first_look(
    instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXEC", "instant")
    run = create_run(instance, "quick_job")
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    launcher(instance).join()
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None
    assert finished.tags["dagster-oidc/aws-role"] == "arn:aws:iam::123456789012:role/etl-daily-writer"
    # it never recorded the run's end, so the launcher does
    assert finished.status == DagsterRunStatus.FAILURE
    assert any("exited 0 before the run finished" in m for m in messages(instance, run.run_id))


def test_terminate_while_exec_still_starts(
    tmp_path: Path, fake_binary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM before the worker started: the run ends CANCELED, not FAILURE."""
    from dagster._core.instance_for_test import instance_for_test

    from .conftest import launcher_config

    monkeypatch.setenv("FAKE_EXEC", "hang")
    with instance_for_test(overrides=launcher_config(fake_binary, start_timeout=0.5)) as inst:
        run = create_run(inst, "quick_job")
        inst.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
        started = inst.get_run_by_id(run.run_id)
        assert started is not None
        wait_for(lambda: launcher(inst)._live_pid(started) is not None)  # the shell has exec'd the stand-in
        assert launcher(inst).terminate(run.run_id)
        launcher(inst).join()
        finished = inst.get_run_by_id(run.run_id)
        assert finished is not None and finished.status == DagsterRunStatus.CANCELED
        logs = messages(inst, run.run_id)
        assert any(
            "dagster-oidc exec was killed by SIGTERM without starting the run worker" in m for m in logs
        ), logs

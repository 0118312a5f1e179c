"""ExecRunLauncher: each run worker as a local `dagster-oidc exec ... -- dagster api execute_run` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import Array, Field, Noneable, StringSource
from dagster import _check as check
from dagster._core.events import EngineEventData
from dagster._core.launcher.base import (
    CheckRunHealthResult,
    LaunchRunContext,
    ResumeRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._grpc.types import ExecuteRunArgs, ResumeRunArgs
from dagster._serdes import ConfigurableClass
from dagster._serdes.config_class import ConfigurableClassData

from dagster_oidc.status import (
    EXITED,
    REFUSED,
    RUNNING,
    TAG_PID,
    TAG_STATUS_FILE,
    ExecStatus,
    read_status,
    tail,
)

# How often the launcher looks at a starting wrapper's status file.
_POLL_SECONDS = 0.05


def _ended(returncode: int) -> str:
    """How a process ended, from its Popen returncode (negative: killed by that signal)."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited {returncode}"


class ExecRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run worker on this host, wrapped in ``dagster-oidc exec``.

    The worker gets its credentials from the wrapper (a loopback credential
    endpoint for AWS, an external_account file for GCP) and its run context
    from its own arguments. The launcher reports the wrapper's refusals
    (policy denied, login required, STS errors) as the run's failure with the
    wrapper's message, records the identity each run got as an engine event
    and run tags, terminates runs with SIGTERM through the wrapper, and finds
    its runs again after a restart (pid and status file in the run's tags).

    Configuration (``run_launcher.config`` in dagster.yaml):

    - ``binary``: path of dagster-oidc (default: ``dagster-oidc`` on PATH)
    - ``profile``: the dagster-oidc profile (default: the config file's)
    - ``aws``, ``gcp``: pass ``--aws``/``--gcp`` (default: what the profile has)
    - ``exec_args``: more ``exec`` flags, e.g. ``["--aws-mode", "token-file"]``
    - ``env_vars``: ``KEY`` (copied from the launcher's environment) or
      ``KEY=VALUE`` entries added to the worker's environment
    - ``state_dir``: where each run's status file and output go
      (default ``$DAGSTER_HOME/dagster-oidc``)
    - ``start_timeout``: seconds launch_run waits for the wrapper to start the
      worker or refuse (default 60); the outcome is reported either way
    """

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        binary: str = "dagster-oidc",
        profile: str | None = None,
        aws: bool = False,
        gcp: bool = False,
        exec_args: Sequence[str] | None = None,
        env_vars: Sequence[str] | None = None,
        state_dir: str | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self._inst_data = inst_data
        self.binary = check.str_param(binary, "binary")
        self.profile = check.opt_str_param(profile, "profile")
        self.aws = aws
        self.gcp = gcp
        self.exec_args = list(exec_args or [])
        self.env_vars = list(env_vars or [])
        self._state_dir = state_dir
        self.start_timeout = float(start_timeout)
        self._lock = threading.Lock()
        self._watchers: dict[str, threading.Thread] = {}
        super().__init__()

    # ConfigurableClass

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            "binary": Field(StringSource, is_required=False, default_value="dagster-oidc"),
            "profile": Field(Noneable(StringSource), is_required=False, default_value=None),
            "aws": Field(bool, is_required=False, default_value=False),
            "gcp": Field(bool, is_required=False, default_value=False),
            "exec_args": Field(Array(str), is_required=False, default_value=[]),
            "env_vars": Field(Array(str), is_required=False, default_value=[]),
            "state_dir": Field(Noneable(StringSource), is_required=False, default_value=None),
            "start_timeout": Field(float, is_required=False, default_value=60.0),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> ExecRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    # Launching

    def exec_command(self, worker: Sequence[str], status_file: str) -> list[str]:
        """``dagster-oidc exec <options> --status-file F -- <worker...>``."""
        cmd = [self.binary]
        if self.profile:
            cmd += ["--profile", self.profile]
        cmd.append("exec")
        if self.aws:
            cmd.append("--aws")
        if self.gcp:
            cmd.append("--gcp")
        cmd += [*self.exec_args, "--status-file", status_file, "--", *worker]
        return cmd

    def _worker(self, args: type[ExecuteRunArgs] | type[ResumeRunArgs], run: DagsterRun) -> list[str]:
        """The run worker's command line, as Dagster's own launchers build it."""
        return list(
            args(
                job_origin=check.not_none(run.job_code_origin),
                run_id=run.run_id,
                instance_ref=self._instance.get_ref(),
                set_exit_code_on_failure=True,
            ).get_command_args()
        )

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        self._start(run, self._worker(ExecuteRunArgs, run), attempt=0)

    @property
    def supports_resume_run(self) -> bool:
        return True

    def resume_run(self, context: ResumeRunContext) -> None:
        run = context.dagster_run
        self._start(run, self._worker(ResumeRunArgs, run), attempt=context.resume_attempt_number or 1)

    def run_dir(self, run_id: str) -> str:
        """The directory of a run's status files and output."""
        base = self._state_dir or os.path.join(self._instance.root_directory, "dagster-oidc")
        return os.path.join(base, "runs", run_id)

    def _environment(self, run: DagsterRun) -> dict[str, str]:
        env = dict(os.environ)
        for entry in self.env_vars:
            key, sep, value = entry.partition("=")
            if sep:
                env[key] = value
            elif key in os.environ:
                env[key] = os.environ[key]
        # The same variables the container launchers set; exec reads the run
        # id and job name from the worker's arguments first.
        env["DAGSTER_RUN_JOB_NAME"] = run.job_name
        origin = run.remote_job_origin
        if origin is not None:
            env["DAGSTER_CODE_LOCATION"] = origin.location_name
        return env

    def _start(self, run: DagsterRun, worker: Sequence[str], attempt: int) -> None:
        run_dir = self.run_dir(run.run_id)
        os.makedirs(run_dir, mode=0o700, exist_ok=True)
        suffix = f"-{attempt}" if attempt else ""
        status_file = os.path.join(run_dir, f"status{suffix}.json")
        output = os.path.join(run_dir, f"output{suffix}.log")
        cmd = self.exec_command(worker, status_file)
        try:
            with open(output, "ab") as out:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self._environment(run),
                    # its own session: a Ctrl-C or a restart of the process
                    # that launched it does not stop the run
                    start_new_session=True,
                )
        except OSError as e:
            self._instance.report_run_failed(
                run, f"Could not start dagster-oidc ({self.binary}): {e.strerror or e}"
            )
            return
        self._instance.add_run_tags(run.run_id, {TAG_PID: str(proc.pid), TAG_STATUS_FILE: status_file})
        self._instance.report_engine_event(
            f"Started dagster-oidc exec (pid {proc.pid}) for the run worker; its output goes to {output}",
            run,
            EngineEventData(metadata={"pid": str(proc.pid), "command": " ".join(cmd[: cmd.index("--")])}),
            cls=self.__class__,
        )
        settled = threading.Event()
        watcher = threading.Thread(
            target=self._watch,
            args=(run.run_id, proc, status_file, output, settled),
            name=f"dagster-oidc-{run.run_id}",
            daemon=True,
        )
        with self._lock:
            self._watchers[run.run_id] = watcher
        watcher.start()
        settled.wait(self.start_timeout)

    def _watch(
        self,
        run_id: str,
        proc: subprocess.Popen[bytes],
        status_file: str,
        output: str,
        settled: threading.Event,
    ) -> None:
        """Report the identity once the worker runs, then the end of the wrapper."""
        reported = False
        try:
            while proc.poll() is None:
                status = read_status(status_file)
                if status is not None and status.state in (RUNNING, EXITED):
                    self._report_identity(run_id, status)
                    reported = True
                    break
                time.sleep(_POLL_SECONDS)
            settled.set()
            code = proc.wait()
            final = read_status(status_file)
            if not reported and final is not None and final.state == EXITED:
                # the worker was over before the first look
                self._report_identity(run_id, final)
            self._report_exit(run_id, code, final, output)
        finally:
            settled.set()
            with self._lock:
                self._watchers.pop(run_id, None)

    def _report_identity(self, run_id: str, status: ExecStatus) -> None:
        run = self._instance.get_run_by_id(run_id)
        if run is None:
            return
        ident = status.identity
        tags = ident.tags()
        if tags:
            self._instance.add_run_tags(run_id, tags)
        self._instance.report_engine_event(
            f"Run worker (pid {status.pid}) started by dagster-oidc exec with identity: {ident.summary()}",
            run,
            EngineEventData(metadata={k: v for k, v in tags.items()}),
            cls=self.__class__,
        )

    def _report_exit(self, run_id: str, code: int, status: ExecStatus | None, output: str) -> None:
        run = self._instance.get_run_by_id(run_id)
        if run is None:
            return
        if status is not None and status.state == REFUSED:
            self._end_unfinished(
                run,
                f"dagster-oidc exec refused to start the run worker of job {run.job_name} "
                f"(exit {status.exit_code}, {status.kind or 'error'}): {status.refusal()}",
            )
            return
        detail = " | ".join(tail(output).strip().splitlines()[-5:])
        if status is None or status.state not in (EXITED, RUNNING):
            self._end_unfinished(
                run, f"dagster-oidc exec {_ended(code)} without starting the run worker: {detail}"
            )
            return
        if status.state == RUNNING:
            # exec itself was killed (kill -9, OOM) while its worker ran.
            self._end_unfinished(
                run,
                f"dagster-oidc exec {_ended(code)} while the run worker (pid {status.pid or '?'}) ran: "
                f"{detail}",
                resumable=True,
            )
            return
        self._instance.report_engine_event(
            f"dagster-oidc exec {_ended(code)}: the run worker (pid {status.pid}) exited {status.exit_code}",
            run,
            EngineEventData(
                metadata={"exec_exit_code": str(code), "worker_exit_code": str(status.exit_code)}
            ),
            cls=self.__class__,
        )
        run = self._instance.get_run_by_id(run_id)
        if run is not None:
            # The worker ended without finishing the run (killed, out of memory).
            self._end_unfinished(
                run,
                f"The run worker exited {status.exit_code} before the run finished; see {output}",
                resumable=status.exit_code != 0,
            )

    def _end_unfinished(self, run: DagsterRun, message: str, resumable: bool = False) -> None:
        """End a run its worker did not finish: CANCELED while it was being canceled, else FAILURE.

        A run whose worker died (``resumable``) is left STARTED when run
        monitoring resumes runs (``max_resume_run_attempts`` > 0): the
        monitoring daemon's health check finds the worker gone and resumes
        the run, or fails it once the attempts are used up.
        """
        if run.is_finished:
            return
        if run.status == DagsterRunStatus.CANCELING:
            self._instance.report_run_canceled(run, message)
        elif resumable and self._monitoring_resumes():
            attempts = self._instance.run_monitoring_max_resume_run_attempts
            self._instance.report_engine_event(
                f"{message}. Left to run monitoring: it resumes the run while attempts remain "
                f"(max_resume_run_attempts: {attempts}), then fails it",
                run,
                cls=self.__class__,
            )
        else:
            self._instance.report_run_failed(run, message)

    def _monitoring_resumes(self) -> bool:
        """Whether the instance's run monitoring resumes runs whose worker died."""
        return bool(
            self._instance.run_monitoring_enabled
            and self._instance.run_monitoring_max_resume_run_attempts > 0
        )

    # Termination and monitoring

    def _live_pid(self, run: DagsterRun) -> int | None:
        """The wrapper's pid, if that process still runs this run's wrapper."""
        pid_tag, status_file = run.tags.get(TAG_PID), run.tags.get(TAG_STATUS_FILE)
        if not pid_tag or not status_file:
            return None
        pid = int(pid_tag)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return None
        if sys.platform.startswith("linux"):
            # Guard against a reused pid: the command line names the status file.
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if status_file.encode() not in f.read().split(b"\0"):
                        return None
                with open(f"/proc/{pid}/stat", "rb") as f:
                    if f.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                        return None  # exited, not yet reaped
            except OSError:
                return None
        return pid

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        pid = self._live_pid(run)
        if pid is None:
            self._instance.report_engine_event(
                "No dagster-oidc exec process to send the termination request to",
                run,
                cls=self.__class__,
            )
            return False
        os.kill(pid, signal.SIGTERM)
        self._instance.report_engine_event(
            f"Sent SIGTERM to dagster-oidc exec (pid {pid}), which forwards it to the run worker",
            run,
            cls=self.__class__,
        )
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        pid = self._live_pid(run)
        if pid is not None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        status_file = run.tags.get(TAG_STATUS_FILE)
        status = read_status(status_file) if status_file else None
        if status is None:
            return CheckRunHealthResult(
                WorkerStatus.NOT_FOUND, msg="No dagster-oidc exec process for this run"
            )
        if status.state == EXITED:
            if status.exit_code == 0:
                return CheckRunHealthResult(WorkerStatus.SUCCESS)
            return CheckRunHealthResult(WorkerStatus.FAILED, msg=f"The run worker exited {status.exit_code}")
        if status.state == REFUSED:
            return CheckRunHealthResult(WorkerStatus.FAILED, msg=status.refusal())
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            msg=f"dagster-oidc exec (pid {status.pid or '?'}) is gone without a final status",
        )

    def join(self, timeout: int = 30) -> None:
        """Wait for the watchers of this process's runs (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                watchers = list(self._watchers.values())
            if not watchers:
                return
            for w in watchers:
                w.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return

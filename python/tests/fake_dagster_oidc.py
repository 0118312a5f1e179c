"""A stand-in for the dagster-oidc binary in the launcher's unit tests.

It behaves like `dagster-oidc [--profile P] exec [flags] --status-file F --
CMD...` as far as a launcher can see (the status document of
internal/cli/exec_status.go, pinned by TestExecStatusFile; stderr
"error: ..." plus a hint line; exit codes), without an identity provider:

  FAKE_EXEC=run   (default) write "running" with an identity, run CMD,
                  forward SIGTERM and SIGINT to it, write "exited", exit
                  with its code (128+N when signal N killed it)
  FAKE_EXEC=deny  refuse like a policy denial: "refused", exit 4
  FAKE_EXEC=crash exit 1 at once, with no status (a wrapper that died)
  FAKE_EXEC=instant  only the final "exited" status, exit 0: a worker over
                  before the launcher's first look (CMD does not run)
  FAKE_EXEC=hang  no status, wait for a signal and die of it, as exec does
                  when stopped while it still exchanges

FAKE_EXEC_ARGV, when set, is a file the wrapper's argv is written to.
"""

import json
import os
import signal
import subprocess
import sys


def write(path: str, doc: dict[str, object]) -> None:
    doc = {"v": 1, "exit_code": 0, **doc}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


def main() -> None:
    argv = sys.argv[1:]
    if os.environ.get("FAKE_EXEC_ARGV"):
        with open(os.environ["FAKE_EXEC_ARGV"], "w") as f:
            json.dump(argv, f)
    dash = argv.index("--")
    opts, child = argv[:dash], argv[dash + 1 :]
    status = opts[opts.index("--status-file") + 1]
    mode = os.environ.get("FAKE_EXEC", "run")
    if mode == "crash":
        sys.exit(1)
    if mode == "hang":
        signal.pause()
    identity = {
        "profile": "runs",
        "source": "file",
        "issuer": "https://id.example.com",
        "subject_hash": "4c10fb2f099705bf1ce473ab2e88aa45",
        "token_expiry": "2030-01-01T00:00:00Z",
        "aws_role": "arn:aws:iam::123456789012:role/etl-daily-writer",
        "aws_session_name": "etl-run",
        "aws_expiry": "2030-01-01T00:00:00Z",
        "job_name": os.environ.get("DAGSTER_RUN_JOB_NAME", ""),
    }
    if mode == "deny":
        error = "no rule grants a target: rule 1 (arn:aws:iam::1:role/etl-daily-writer): condition false"
        hint = "run: dagster-oidc explain (shows the claims and why each rule did or did not match)"
        write(
            status,
            {
                "state": "refused",
                "identity": identity,
                "exit_code": 4,
                "kind": "denied",
                "error": error,
                "hint": hint,
            },
        )
        sys.stderr.write(f"error: {error}\n{hint}\n")
        sys.exit(4)
    if mode == "instant":
        write(status, {"state": "exited", "identity": identity, "pid": 4242, "exit_code": 0})
        sys.exit(0)
    proc = subprocess.Popen(child)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: proc.send_signal(s))
    write(status, {"state": "running", "identity": identity, "pid": proc.pid})
    code = proc.wait()
    code = 128 - code if code < 0 else code
    write(status, {"state": "exited", "identity": identity, "pid": proc.pid, "exit_code": code})
    sys.exit(code)


if __name__ == "__main__":
    main()

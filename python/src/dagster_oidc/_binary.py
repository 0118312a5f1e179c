"""Running the `dagster-oidc` binary and reading what it reports."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

# Exit codes of dagster-oidc (docs/troubleshooting.md).
EXIT_USAGE = 2
EXIT_LOGIN_REQUIRED = 3
EXIT_DENIED = 4

_KINDS = {EXIT_USAGE: "usage", EXIT_LOGIN_REQUIRED: "login_required", EXIT_DENIED: "denied"}


class DagsterOIDCError(Exception):
    """`dagster-oidc` refused or failed; `message` and `hint` are what it printed."""

    def __init__(self, args: Sequence[str], exit_code: int, message: str, hint: str = "") -> None:
        self.command = list(args)
        self.exit_code = exit_code
        self.message = message
        self.hint = hint
        self.kind = _KINDS.get(exit_code, "error")
        text = f"dagster-oidc {' '.join(self.command)} exited {exit_code}: {message}"
        super().__init__(f"{text}\n{hint}" if hint else text)


def parse_stderr(stderr: str) -> tuple[str, str]:
    """The error and hint dagster-oidc printed: its last `error: ...` line and the line after."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("error: "):
            hint = lines[i + 1] if i + 1 < len(lines) else ""
            return lines[i][len("error: ") :], hint
    return (lines[-1] if lines else "no message"), ""


def run_json(
    binary: str,
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> Any:
    """Run `binary args...` without a terminal and decode its stdout as JSON."""
    try:
        proc = subprocess.run(
            [binary, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as e:
        raise DagsterOIDCError(args, 127, f"{binary} not found ({e.strerror})") from e
    if proc.returncode != 0:
        message, hint = parse_stderr(proc.stderr)
        raise DagsterOIDCError(args, proc.returncode, message, hint)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise DagsterOIDCError(args, 1, f"output is not JSON ({e.msg})") from e

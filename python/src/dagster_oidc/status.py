"""The status document `dagster-oidc exec --status-file` keeps for a launcher."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RUNNING = "running"
EXITED = "exited"
REFUSED = "refused"

# Run tags the launcher sets, all under one prefix.
TAG_PREFIX = "dagster-oidc/"
TAG_PID = TAG_PREFIX + "pid"
TAG_STATUS_FILE = TAG_PREFIX + "status-file"

# identity fields → run tag names (values are strings, empty ones omitted).
# Not the session name: a template may put an email in it, and tags show in
# the UI (the audit trail keeps only its hash).
_IDENTITY_TAGS = {
    "profile": "profile",
    "source": "source",
    "subject_hash": "subject-hash",
    "token_expiry": "token-expiry",
    "aws_role": "aws-role",
    "aws_expiry": "aws-expiry",
    "gcp": "gcp",
    "gcp_service_account": "gcp-service-account",
}


@dataclass(frozen=True)
class Identity:
    """Under which identity a run worker runs (no token, only names, hashes and times)."""

    profile: str = ""
    environment: str = ""
    source: str = ""
    issuer: str = ""
    subject_hash: str = ""
    token_expiry: str = ""
    aws_role: str = ""
    aws_session_name: str = ""
    aws_expiry: str = ""
    gcp: bool = False
    gcp_service_account: str = ""
    run_id: str = ""
    job_name: str = ""
    step: str = ""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Identity:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in doc.items() if k in known})

    def tags(self) -> dict[str, str]:
        """The identity as run tags."""
        out = {}
        for attr, tag in _IDENTITY_TAGS.items():
            value = getattr(self, attr)
            if value:
                out[TAG_PREFIX + tag] = "true" if value is True else str(value)
        return out

    def summary(self) -> str:
        """One line for the event log."""
        parts = [f"profile {self.profile or '?'}", f"source {self.source or '?'}"]
        if self.subject_hash:
            parts.append(f"subject {self.subject_hash}")
        if self.aws_role:
            parts.append(f"AWS role {self.aws_role}")
        if self.gcp:
            parts.append(
                f"GCP as {self.gcp_service_account}" if self.gcp_service_account else "GCP (federated)"
            )
        if self.token_expiry:
            parts.append(f"token until {self.token_expiry}")
        return ", ".join(parts)


@dataclass(frozen=True)
class ExecStatus:
    """One version of the status file."""

    state: str
    pid: int = 0
    exit_code: int = 0
    kind: str = ""
    error: str = ""
    hint: str = ""
    identity: Identity = field(default_factory=Identity)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ExecStatus:
        return cls(
            state=str(doc.get("state", "")),
            pid=int(doc.get("pid") or 0),
            exit_code=int(doc.get("exit_code") or 0),
            kind=str(doc.get("kind") or ""),
            error=str(doc.get("error") or ""),
            hint=str(doc.get("hint") or ""),
            identity=Identity.from_json(doc.get("identity") or {}),
        )

    def refusal(self) -> str:
        """The refusal as exec printed it: the error and its hint."""
        text = self.error or f"exited {self.exit_code}"
        return f"{text}\n{self.hint}" if self.hint else text


def read_status(path: str) -> ExecStatus | None:
    """The current status, or None when there is none (yet) or it is unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("v") != 1:
        return None
    return ExecStatus.from_json(doc)


def tail(path: str, limit: int = 4000) -> str:
    """The last `limit` characters of a text file ("" when absent)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""

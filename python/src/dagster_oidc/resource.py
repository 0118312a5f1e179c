"""OIDCIdentity: the ID token and refreshing AWS sessions inside ops, through the dagster-oidc binary."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from dagster_oidc._binary import run_json

if TYPE_CHECKING:
    import boto3


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class OIDCIdentity(ConfigurableResource):  # type: ignore[type-arg]
    """The run's identity, from the dagster-oidc binary.

    ``id_token()`` and ``claims()`` come from ``dagster-oidc token --format
    json``, cached in the resource until the binary's ``refresh_at``;
    ``boto3_session(role)`` returns a session whose credentials botocore
    refreshes through ``dagster-oidc aws credential-process``. In a run
    started by ``dagster-oidc exec`` the binary also sees the run (it reads
    ``DAGSTER_RUN_ID`` and ``DAGSTER_RUN_JOB_NAME``, which exec sets), so role
    rules on ``run.job`` apply.
    """

    binary: str = Field(default="dagster-oidc", description="path of the dagster-oidc binary")
    profile: str | None = Field(default=None, description="dagster-oidc profile (default: the config file's)")
    role: str | None = Field(default=None, description="default role ARN of boto3_session()")
    region_name: str | None = Field(default=None, description="region of boto3_session()")

    _token: dict[str, Any] | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _global_args(self) -> list[str]:
        return ["--profile", self.profile] if self.profile else []

    def _token_doc(self) -> dict[str, Any]:
        with self._lock:
            doc = self._token
            now = datetime.now(timezone.utc)
            if doc is None or now >= _parse_time(doc["refresh_at"]):
                doc = run_json(self.binary, [*self._global_args(), "token", "--format", "json"])
                self._token = doc
            return doc

    def id_token(self) -> str:
        """The current ID token (never log it)."""
        return str(self._token_doc()["id_token"])

    def claims(self) -> dict[str, Any]:
        """The current token's claims, less the profile's private_claims."""
        return dict(self._token_doc()["claims"])

    def credential_process(self, role: str | None = None) -> dict[str, Any]:
        """One `aws credential-process` document (Version, AccessKeyId, ..., Expiration)."""
        args = [*self._global_args(), "aws", "credential-process"]
        role = role or self.role
        if role:
            args += ["--role", role]
        doc: dict[str, Any] = run_json(self.binary, args)
        return doc

    def boto3_session(self, role: str | None = None) -> boto3.Session:
        """A boto3 session for `role` (default: the resource's, else the first the policy allows)."""
        import boto3
        from botocore.credentials import RefreshableCredentials
        from botocore.session import get_session

        def refresh() -> dict[str, str]:
            doc = self.credential_process(role)
            return {
                "access_key": doc["AccessKeyId"],
                "secret_key": doc["SecretAccessKey"],
                "token": doc["SessionToken"],
                "expiry_time": doc["Expiration"],
            }

        creds = RefreshableCredentials.create_from_metadata(
            metadata=refresh(), refresh_using=refresh, method="dagster-oidc"
        )
        core = get_session()
        core._credentials = creds
        return boto3.Session(botocore_session=core, region_name=self.region_name)

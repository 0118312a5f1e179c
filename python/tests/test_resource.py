"""OIDCIdentity against a stand-in binary that prints what dagster-oidc's
`token --format json` and `aws credential-process` print, and counts calls."""

from __future__ import annotations

import json
import stat
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dagster_oidc import DagsterOIDCError, OIDCIdentity

STANDIN = r"""
import json, os, sys
args = sys.argv[1:]
with open(os.environ["CALLS"], "a") as f:
    f.write(json.dumps(args) + "\n")
if os.environ.get("REFUSE"):
    sys.stderr.write("error: no rule grants a target: rule 1 (arn:aws:iam::1:role/r): condition false\n"
                     "run: dagster-oidc explain (shows the claims and why each rule did or did not match)\n")
    sys.exit(4)
if "token" in args:
    print(json.dumps({
        "id_token": "header.payload.sig", "expiry": os.environ["EXPIRY"],
        "refresh_at": os.environ["REFRESH_AT"], "source": "device", "profile": "dev",
        "claims": {"sub": "alice", "groups": ["data-eng"]},
    }))
elif "credential-process" in args:
    n = sum(1 for _ in open(os.environ["CALLS"]))
    print(json.dumps({
        "Version": 1, "AccessKeyId": f"ASIA{n:016d}", "SecretAccessKey": "s",
        "SessionToken": "t", "Expiration": os.environ["EXPIRY"],
    }))
"""


def iso(d: datetime) -> str:
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    script = tmp_path / "standin.py"
    script.write_text(STANDIN)
    path = tmp_path / "dagster-oidc"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("CALLS", str(tmp_path / "calls"))
    now = datetime.now(timezone.utc)
    monkeypatch.setenv("EXPIRY", iso(now + timedelta(hours=1)))
    monkeypatch.setenv("REFRESH_AT", iso(now + timedelta(minutes=58)))
    return str(path)


def calls(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp_path / "calls").read_text().splitlines()]


def test_token_cached_until_refresh_at(binary: str, tmp_path: Path) -> None:
    ident = OIDCIdentity(binary=binary, profile="dev")
    assert ident.id_token() == "header.payload.sig"
    assert ident.claims()["groups"] == ["data-eng"]
    assert calls(tmp_path) == [["--profile", "dev", "token", "--format", "json"]]


def test_token_asked_again_after_refresh_at(
    binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFRESH_AT", iso(datetime.now(timezone.utc) - timedelta(seconds=1)))
    ident = OIDCIdentity(binary=binary)
    ident.id_token()
    ident.claims()
    assert calls(tmp_path) == [["token", "--format", "json"]] * 2


def test_refusal_raises_with_the_message(binary: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFUSE", "1")
    with pytest.raises(DagsterOIDCError) as e:
        OIDCIdentity(binary=binary).boto3_session()
    assert e.value.exit_code == 4 and e.value.kind == "denied"
    assert e.value.message.startswith("no rule grants")
    assert "dagster-oidc explain" in e.value.hint


def test_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(DagsterOIDCError) as e:
        OIDCIdentity(binary=str(tmp_path / "nope")).id_token()
    assert e.value.exit_code == 127


def test_boto3_session_refreshes_through_credential_process(
    binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Credentials that expire within botocore's refresh window are renewed on use.
    monkeypatch.setenv("EXPIRY", iso(datetime.now(timezone.utc) + timedelta(minutes=5)))
    ident = OIDCIdentity(binary=binary, role="arn:aws:iam::123456789012:role/reader", region_name="eu-west-1")
    session = ident.boto3_session()
    assert session.region_name == "eu-west-1"
    first = session.get_credentials().get_frozen_credentials().access_key
    second = session.get_credentials().get_frozen_credentials().access_key
    assert first != second
    assert calls(tmp_path)[0] == [
        "aws",
        "credential-process",
        "--role",
        "arn:aws:iam::123456789012:role/reader",
    ]
    assert session.get_credentials().method == "dagster-oidc"

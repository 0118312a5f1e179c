"""The status document of `dagster-oidc exec --status-file`, as the launcher reads it."""

import json
from pathlib import Path

from dagster_oidc.status import REFUSED, read_status

DOC = {
    "v": 1,
    "state": "running",
    "pid": 42,
    "exit_code": 0,
    "identity": {
        "profile": "runs",
        "source": "kubernetes",
        "issuer": "https://id.example.com",
        "subject_hash": "4c10fb2f099705bf1ce473ab2e88aa45",
        "token_expiry": "2030-01-01T00:00:00Z",
        "gcp": True,
        "gcp_service_account": "etl@analytics.iam.gserviceaccount.com",
        "run_id": "r",
        "job_name": "etl_daily",
        "some_future_field": "ignored",
    },
}


def test_identity_tags_and_summary(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_text(json.dumps(DOC))
    st = read_status(str(path))
    assert st is not None and st.pid == 42
    assert st.identity.tags() == {
        "dagster-oidc/profile": "runs",
        "dagster-oidc/source": "kubernetes",
        "dagster-oidc/subject-hash": "4c10fb2f099705bf1ce473ab2e88aa45",
        "dagster-oidc/token-expiry": "2030-01-01T00:00:00Z",
        "dagster-oidc/gcp": "true",
        "dagster-oidc/gcp-service-account": "etl@analytics.iam.gserviceaccount.com",
    }
    assert "GCP as etl@analytics.iam.gserviceaccount.com" in st.identity.summary()


def test_unreadable_or_other_versions(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    assert read_status(str(path)) is None
    path.write_text("{not json")
    assert read_status(str(path)) is None
    path.write_text(json.dumps({**DOC, "v": 2}))
    assert read_status(str(path)) is None
    path.write_text(json.dumps({"v": 1, "state": REFUSED, "exit_code": 4, "error": "e", "hint": "h"}))
    st = read_status(str(path))
    assert st is not None and st.refusal() == "e\nh"

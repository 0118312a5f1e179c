"""internal/runctx/testdata/dagster/serdes.json is what the installed Dagster
serialises: a Dagster upgrade that changes run-worker arguments fails here
(and the Go parser is then tested against the regenerated file)."""

import subprocess
import sys
from pathlib import Path

GENERATOR = Path(__file__).parents[2] / "internal" / "runctx" / "testdata" / "dagster" / "generate.py"


def test_serdes_testdata_matches_installed_dagster() -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr

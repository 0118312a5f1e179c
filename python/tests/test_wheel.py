"""The package builds as a wheel (the documented `pip install ./python`
builds one the same way) that carries its modules and py.typed."""

import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).parents[1]


def test_wheel_builds(tmp_path: Path) -> None:
    # --no-build-isolation: the venv's pinned setuptools, no network
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(PACKAGE),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("dagster_oidc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("__init__.py", "launcher.py", "resource.py", "status.py", "_binary.py", "py.typed"):
        assert f"dagster_oidc/{module}" in names, sorted(names)
    assert not any(n.startswith("tests/") for n in names)

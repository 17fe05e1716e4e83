"""The systemd units pass `systemd-analyze verify` where the tool exists."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "systemd"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize(
    "unit", ["meshkeeper.service", "meshkeeper-api.service", "meshkeeper-daemon.service"]
)
def test_unit_verifies(unit, tmp_path):
    # Point the unit at this checkout's executable and an existing user, as an install would.
    text = (UNITS / unit).read_text()
    text = text.replace(
        "/opt/meshkeeper/.venv/bin/meshkeeper", str(Path(sys.executable).parent / "meshkeeper")
    )
    text = text.replace("User=meshkeeper", "User=root").replace("Group=meshkeeper", "Group=root")
    copy = tmp_path / unit
    copy.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in result.stderr.splitlines() if unit in line or "meshkeeper" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_units_keep_their_promises():
    for unit in ("meshkeeper.service", "meshkeeper-api.service", "meshkeeper-daemon.service"):
        text = (UNITS / unit).read_text()
        for line in (
            "Type=notify",
            "Restart=on-failure",
            "NoNewPrivileges=true",
            "ProtectSystem=strict",
            "PrivateTmp=true",
            "ReadWritePaths=/var/lib/meshkeeper",
            "EnvironmentFile=/etc/meshkeeper/env",
            "User=meshkeeper",
            "WatchdogSec=",
        ):
            assert line in text, (unit, line)
    assert "AmbientCapabilities=CAP_NET_RAW" in (UNITS / "meshkeeper-daemon.service").read_text()
    assert "AmbientCapabilities" not in (UNITS / "meshkeeper-api.service").read_text()

"""Every benchmark's small mode runs and ends with its JSON figures, so none of them rots."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run_all import BENCHES

pytestmark = pytest.mark.peer  # nft / fping when present; skips without them

BENCH = Path(__file__).resolve().parent.parent / "bench"
NEEDS_REAL_DATA = {"topology"}


@pytest.mark.parametrize("name", sorted(n for n in BENCHES if (BENCH / f"{n}.py").exists()))
def test_quick_mode(name, request):
    if name in NEEDS_REAL_DATA:
        request.getfixturevalue("shared_data")
    result = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, result.stderr[-3000:]
    figures = json.loads(lines[-1])
    assert figures["bench"] == name
    assert BENCHES[name](figures), "the harness can read its figures"

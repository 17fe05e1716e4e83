"""Fixtures shared by every test: the real-data folder and (below) a real PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path | None:
    """../shared/data, or MESHKEEPER_SHARED_DATA; None when neither exists and neither was asked for."""
    configured = os.environ.get("MESHKEEPER_SHARED_DATA")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    if path.is_dir():
        return path
    if configured:
        # CI names the folder: a missing folder there is a failure, not a skip.
        raise pytest.UsageError(f"MESHKEEPER_SHARED_DATA={configured} is not a directory")
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data folder; realdata tests skip on a clone without it."""
    path = _shared_data_dir()
    if path is None:
        pytest.skip("real data folder (../shared/data) not present")
    return path

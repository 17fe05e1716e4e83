"""The API while the daemon polls (issue 16): `bench/api_load.py --polling`, for `make bench`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_load import main  # noqa: E402

if __name__ == "__main__":
    sys.argv.insert(1, "--polling")
    sys.exit(main())

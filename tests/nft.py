"""nftables for tests: run `nft`, and clear the tables a killed earlier run left behind."""

from __future__ import annotations

import os
import re
import subprocess


def nft(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run nft with these arguments (and a ruleset on stdin)."""
    return subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True, timeout=10)


def drop_stale_tables(prefix: str) -> None:
    """Delete tables named <prefix><pid> whose process is gone (a killed earlier run)."""
    listing = nft("list", "tables").stdout
    for pid in re.findall(rf"table ip {prefix}(\d+)\b", listing):
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            nft("delete", "table", "ip", f"{prefix}{pid}")
        except PermissionError:
            pass

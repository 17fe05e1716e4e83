"""A big CSV import beside live edits and reads: how long does an edit wait for the import?

One client POSTs a members CSV (20,000 rows; --quick 2,000) to `import.csv` of a served API
while another PATCHes a member and GETs a record every 0.25 s. Before issue 11 the import
held the outbox lock from its first row to its commit and every edit waited for all of it;
now it holds the lock only for the last step (its events, one COPY). The peer figure is the
same edit with no import running.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.stack import fresh_database, served  # noqa: E402

NAME = "httpx clients on threads (one importing, one editing and reading)"
HEADER = "name,primary_email_address,phone_number\n"
PACE_S = 0.25


def members_csv(rows: int) -> bytes:
    """`rows` valid members."""
    lines = (f"Member {n},m{n}@example.org,+1212555{n % 10000:04d}" for n in range(rows))
    return (HEADER + "\n".join(lines) + "\n").encode()


def edit_and_read(client: httpx.Client, path: str, n: int) -> tuple[float, float]:
    """One PATCH and one GET of the member; (edit seconds, read seconds)."""
    t0 = time.perf_counter()
    answer = client.patch(path, json={"notes": f"edit {n}"})
    t1 = time.perf_counter()
    read = client.get(path)
    t2 = time.perf_counter()
    assert answer.status_code == 200 and read.status_code == 200, (answer.text, read.text)
    return t1 - t0, t2 - t1


def main() -> int:
    """Measure, print the figures and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = 2000 if args.quick else 20_000
    database_url, engine = fresh_database()
    data = members_csv(rows)
    with served(database_url, engine) as stack:
        headers = {"Authorization": f"Bearer {stack.token}"}
        with httpx.Client(base_url=stack.url, headers=headers, timeout=600) as client:
            member = client.post("/api/v1/members/", json={"name": "Edited"}).json()
            path = f"/api/v1/members/{member['id']}/"
            alone = [edit_and_read(client, path, n)[0] for n in range(20)]
            result: dict[str, float | int] = {}

            def run_import() -> None:
                t0 = time.perf_counter()
                answer = client.post(
                    "/api/v1/members/import.csv",
                    content=data,
                    headers={"Content-Type": "text/csv"},
                )
                result["status"] = answer.status_code
                result["seconds"] = time.perf_counter() - t0

            importer = threading.Thread(target=run_import)
            importer.start()
            edits: list[float] = []
            reads: list[float] = []
            n = 0
            while importer.is_alive():
                edit, read = edit_and_read(client, path, n)
                edits.append(edit)
                reads.append(read)
                n += 1
                time.sleep(PACE_S)
            importer.join()
    engine.dispose()
    figures = {
        "bench": "import_lock",
        "generator": NAME,
        "rows": rows,
        "import_status": result["status"],
        "import_s": round(float(result["seconds"]), 2),
        "edits_during": len(edits),
        "edit_max_s": round(max(edits), 3),
        "edit_p50_ms": round(statistics.median(edits) * 1000, 1),
        "read_max_s": round(max(reads), 3),
        "alone_p50_ms": round(statistics.median(alone) * 1000, 1),
    }
    print(
        f"import of {rows} members: {figures['import_s']} s (HTTP {figures['import_status']}); "
        f"{len(edits)} edits meanwhile, slowest {figures['edit_max_s']} s, p50 "
        f"{figures['edit_p50_ms']} ms (alone {figures['alone_p50_ms']} ms); slowest read "
        f"{figures['read_max_s']} s"
    )
    print(json.dumps(figures))
    ok = figures["import_status"] == 200 and figures["edit_max_s"] < 3.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

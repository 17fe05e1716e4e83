"""Reading a running MeshDB through its API: every page of every list, `Token` auth.

MeshDB pages with DRF's PageNumberPagination (`{"count", "next", "previous", "results"}`,
`page_size` taken from the query, src/meshapi/util/drf_utils.py) and authenticates API
clients with DRF's TokenAuthentication (`Authorization: Token <key>`, src/meshdb/settings.py).
This lives in the CLI: the domain (ipam/) does no I/O beyond its database.
"""

from __future__ import annotations

from typing import Any

import httpx

from ipam.errors import Invalid
from ipam.imports.meshdb_plan import RESOURCES

PAGE_SIZE = 1000  # MeshDB sets no max_page_size; large pages mean few round trips


def fetch_all(
    url: str, token: str, *, progress: bool = False, timeout: float = 60.0
) -> dict[str, list[dict[str, Any]]]:
    """Every record of every MeshDB list endpoint under `url` (e.g. https://db.example/api/v1/)."""
    from tqdm import tqdm

    base = url.rstrip("/") + "/"
    records: dict[str, list[dict[str, Any]]] = {}
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    with httpx.Client(headers=headers, timeout=timeout) as client:
        bar = tqdm(desc="MeshDB", unit="record", disable=not progress, leave=False)
        try:
            for resource in RESOURCES:
                records[resource] = _fetch(client, f"{base}{resource}/", bar)
        finally:
            bar.close()
    return records


def _fetch(client: httpx.Client, first: str, bar: Any) -> list[dict[str, Any]]:
    """Follow `next` links from the first page to the last."""
    rows: list[dict[str, Any]] = []
    next_url: str | None = first
    params: dict[str, Any] | None = {"page_size": PAGE_SIZE}
    while next_url:
        try:
            answer = client.get(next_url, params=params)
        except httpx.HTTPError as exc:
            raise Invalid(f"MeshDB at {next_url} did not answer: {exc}", field="url") from exc
        if answer.status_code in (401, 403):
            raise Invalid(f"MeshDB refused the token ({answer.status_code})", field="token")
        if answer.status_code != 200:
            raise Invalid(f"MeshDB answered {answer.status_code} for {next_url}", field="url")
        page = answer.json()
        rows.extend(page["results"])
        bar.update(len(page["results"]))
        next_url = page.get("next")
        params = None  # `next` carries its own query
    return rows

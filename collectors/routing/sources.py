"""Where a link-state database is read from: MESHKEEPER_ROUTING_SOURCES, one URL each.

- `bird:///run/bird/bird.ctl[?protocol=NAME]`: BIRD's control socket; the session is first
  restricted (BIRD's `restrict` command, what `birdc -r` sends) so it can only show things;
- `frr:` (the local vtysh), `frr:///path/to/vtysh` (that binary) or `frr:///run/frr/DIR`
  (a vty socket directory, vtysh `--vty_socket`): three JSON database answers;
- `http(s)://host/path`: NYC Mesh's OSPF JSON API, only to hosts MESHKEEPER_PROBE_NETWORKS allows;
- `file:///path`: a saved `show ospf state` text or that JSON (air-gapped meshes, tests).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx

from collectors.errors import CollectorError
from collectors.guard import ProbeGuard, refusal
from collectors.routing import bird_text, frr_json, nycmesh_json
from collectors.routing.model import LinkStateDb, ParseError

COLLECTOR = "routing"
Kind = Literal["bird", "frr", "http", "file"]
# BIRD's control protocol (doc/prog: "Reply codes"): `NNNN-` more lines follow, `NNNN ` the
# last line, a leading space a continuation; 8xxx and 9xxx are errors.
_CODE = re.compile(r"^(\d{4})([- ])(.*)$")
MAX_ANSWER = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Source:
    """One configured source: its kind, where it points, and its URL as written."""

    kind: Kind
    target: str
    url: str
    protocol: str | None = None  # BIRD: which OSPF instance, when several run


def parse_source(url: str) -> Source:
    """A source from its URL; ValueError names what is wrong with it."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme == "bird":
        if not parts.path:
            raise ValueError(f"{url!r}: bird:// needs the control socket's path")
        protocol = parse_qs(parts.query).get("protocol", [None])[0]
        if protocol is not None and not re.fullmatch(r"[A-Za-z_][\w]*", protocol):
            raise ValueError(f"{url!r}: {protocol!r} is not a BIRD protocol name")
        return Source("bird", parts.path, url, protocol)
    if parts.scheme == "frr":
        return Source("frr", parts.path, url)
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise ValueError(f"{url!r}: no host")
        return Source("http", url, url)
    if parts.scheme == "file":
        if not parts.path:
            raise ValueError(f"{url!r}: file:// needs a path")
        return Source("file", parts.path, url)
    raise ValueError(f"{url!r}: a source is bird://, frr:, http(s):// or file://")


def parse_text(text: str, source: str) -> LinkStateDb:
    """A saved answer, sniffed: JSON (NYC Mesh's API or FRR's three answers) or BIRD's text."""
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        if isinstance(data, dict) and "areas" in data:
            return nycmesh_json.parse(data, source)
        return frr_json.parse(data, source)
    return bird_text.parse(text, source)


async def _bird(source: Source, timeout: float) -> str:
    try:
        reader, writer = await asyncio.open_unix_connection(source.target, limit=MAX_ANSWER)
    except OSError as exc:
        raise CollectorError(COLLECTOR, f"{source.url}: {exc.strerror or exc}") from None
    try:
        await _bird_reply(reader)  # the greeting
        # Read-only from here on: a restricted session refuses anything but `show` commands.
        writer.write(b"restrict\n")
        await _bird_reply(reader)
        command = "show ospf state all" + (f" {source.protocol}" if source.protocol else "")
        writer.write(command.encode() + b"\n")
        return await _bird_reply(reader)
    finally:
        writer.close()


async def _bird_reply(reader: asyncio.StreamReader) -> str:
    """One reply of BIRD's control protocol as plain text; CollectorError on an error code."""
    lines: list[str] = []
    while True:
        raw = await reader.readline()
        if not raw:
            raise CollectorError(COLLECTOR, "BIRD closed the control socket mid-answer")
        line = raw.decode("utf-8", "replace").rstrip("\n")
        match = _CODE.match(line)
        if match is None:
            lines.append(line[1:])  # a continuation line
            continue
        code, more, text = match.groups()
        if code[0] in "89":
            raise CollectorError(COLLECTOR, f"BIRD answered {code}: {text.strip()}")
        lines.append(text)
        if more == " ":
            return "\n".join(lines)


async def _frr(source: Source, timeout: float) -> dict[str, Any]:
    command = ["vtysh"]
    if source.target and os.path.isdir(source.target):
        command += ["--vty_socket", source.target]
    elif source.target:
        command = [source.target]
    if shutil.which(command[0]) is None:
        raise CollectorError(COLLECTOR, f"{source.url}: {command[0]} not found")

    async def show(kind: str) -> Any:
        process = await asyncio.create_subprocess_exec(
            *command,
            "-c",
            f"show ip ospf database {kind} json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode:
            reason = err.decode(errors="replace").strip() or f"exit {process.returncode}"
            raise CollectorError(COLLECTOR, f"{source.url}: vtysh {kind}: {reason}")
        return json.loads(out)

    router, network, external = await asyncio.gather(
        show("router"), show("network"), show("external")
    )
    return {"router": router, "network": network, "external": external}


async def _http(source: Source, guard: ProbeGuard, timeout: float) -> bytes:
    parts = urlsplit(source.target)
    refused = await refusal(parts.hostname or "", guard)
    if refused:
        raise CollectorError(COLLECTOR, f"{source.url}: {refused}")
    # Redirects and environment proxies would send the request past the guard.
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        try:
            response = await client.get(source.target, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise CollectorError(COLLECTOR, f"{source.url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise CollectorError(COLLECTOR, f"{source.url}: HTTP {response.status_code}")
    return response.content


async def read(source: Source, *, guard: ProbeGuard, timeout: float = 10.0) -> LinkStateDb:
    """Read and parse one source's database; every failure is one CollectorError."""
    try:
        async with asyncio.timeout(timeout):
            if source.kind == "bird":
                return bird_text.parse(await _bird(source, timeout), source.url)
            if source.kind == "frr":
                return frr_json.parse(await _frr(source, timeout), source.url)
            if source.kind == "http":
                return nycmesh_json.parse(
                    json.loads(await _http(source, guard, timeout)), source.url
                )
            text = await asyncio.to_thread(_read_file, source.target)
            return parse_text(text, source.url)
    except TimeoutError:
        raise CollectorError(COLLECTOR, f"{source.url}: no answer in {timeout:g} s") from None
    except (ParseError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CollectorError(COLLECTOR, f"{source.url}: {exc}") from None


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(MAX_ANSWER)
    except OSError as exc:
        raise CollectorError(COLLECTOR, f"file://{path}: {exc.strerror or exc}") from None


@dataclass(frozen=True, slots=True)
class Collection:
    """One cycle: the databases that answered and why the others did not."""

    databases: tuple[LinkStateDb, ...]
    errors: tuple[str, ...]


async def collect(sources: list[Source], *, guard: ProbeGuard, timeout: float = 10.0) -> Collection:
    """Read every source at once; CollectorError only when none answered.

    Every router of an OSPF area holds the same database (RFC 2328 section 13), so any one
    answer is the whole picture; several sources are redundancy, and their union is used.
    """
    results = await asyncio.gather(
        *(read(s, guard=guard, timeout=timeout) for s in sources), return_exceptions=True
    )
    databases: list[LinkStateDb] = []
    errors: list[str] = []
    for result in results:
        if isinstance(result, CollectorError):
            errors.append(result.reason)
        elif isinstance(result, BaseException):
            raise result
        else:
            databases.append(result)
    if sources and not databases:
        raise CollectorError(COLLECTOR, "; ".join(errors))
    return Collection(tuple(databases), tuple(errors))

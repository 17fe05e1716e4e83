"""`meshkeeper import nycmesh-map DIR`: NYC Mesh's public map feed into the records.

DIR holds `nodes.json`, `links.json` and `sectors.json` as MeshDB's legacy map endpoints
served them. `ipam.imports.nycmesh_feed` reads and plans (pure), `ipam.imports.nycmesh_records`
matches the plan against the database, and `ipam.imports.nycmesh_bulk` writes what is missing
with PostgreSQL's COPY: all in one transaction (all or nothing), with one history row and one
outbox event per record created (actor "import:nycmesh-map"), then ANALYZE for the planner.

Statuses (legacy word, case-insensitive -> install status):

| nodes.json `status`                                | install status     |
|----------------------------------------------------|--------------------|
| (missing), Not Contacted Yet                        | Request Received   |
| Interested, Scheduled, To be scheduled              | Pending            |
| No Los, No LoS                                      | Blocked            |
| Installed                                           | Active             |
| Powered Off                                         | Inactive           |
| Abandoned, Invalid, Dupe, No Reply, Not Interested  | Closed             |
| NN assigned                                         | not an install: a node row, `id` = NN |
| anything else                                       | Request Received, reported |

| links.json `status` | link status / type      |  | sectors.json `status` | device status |
|---------------------|-------------------------|--|-----------------------|---------------|
| active              | Active / (none)         |  | active                | Active        |
| 60GHz               | Active / 60 GHz         |  | abandoned             | Inactive      |
| vpn                 | Active / VPN            |  | potential             | Potential     |
| fiber               | Active / Fiber          |  |                       |               |
| planned             | Planned / (none)        |  |                       |               |
| dead, inactive      | Inactive / (none)       |  |                       |               |

Records (the feed has no NN column and no addresses, so these are inferences, each one
following how MeshDB built the feed):

- Install: every row but "NN assigned" rows, keeping its install number (`id`); request date,
  install date (epoch ms; dates are 00:00 New York), roof access and notes as given.
- Member: one placeholder per install, "Imported member (install N)". The feed has no contact
  data; a member per install lets an operator fill in one household later (or merge two that
  prove to be one person) without touching 14,000 others, where one shared member would make
  every such edit a re-pointing job and every member page list the whole city.
- Building: one per place: rows whose coordinates agree to 6 decimals (~0.1 m). Coordinates,
  the lowest row's altitude and the union of the rows' panoramas; no address (the feed has
  none). A building that already exists at the place is reused.
- Node ("dot"): an "NN assigned" row; a row a link or a sector names; a row with a `name`
  (MeshDB names only dots); and, at a place with none of those, the lowest Installed /
  Powered Off row. A dot's `id` is its NN when in 1..8000; a larger id is an install standing
  for a node with no NN (MeshDB names such a node by its lowest install number).
- Installed and Powered Off rows that are not dots join the node of their place: the "NN
  assigned" dot there (that is the building's primary NN), else the lowest-numbered dot. Other
  rows get no node unless they are a dot themselves.
- Node status: Active if one of its installs is Active; else Inactive if one is Inactive; else
  Active if an active link of the feed ends at it (the feed draws the site as live); else
  Planned. Node type from the dot's words: "Supernode" / "SN<n>" in the name or notes starting
  "Supernode" -> Supernode; "POP<n>" in name or notes -> POP; notes starting "Hub" or the word
  "Hub" in the name -> Hub; notes starting "AP" -> AP; else Standard ("Potential Hub" stays
  Standard). Position from the dot; notes of "NN assigned" rows go to the node.
- Devices: each node a link ends at gets one device, `nycmesh-<NN>-map` (`install-<N>-map`
  for a node with no NN), status from its node (Planned -> Potential).
- Links join those devices. An end that is not in nodes.json (or whose row could not be
  placed), and a link from a node to itself, is reported and skipped.
- Sectors: a Sector device on the node whose NN is `nodeId`, named by `device`, with radius,
  azimuth and width; one whose node is neither in the feed nor in the database is reported.

Reported, never fatal: rows with impossible coordinates (not two numbers, outside the
lat/lon ranges, or exactly (0, 0)) are not placed at all; rows outside a box around New York
are imported as given and listed; an unknown status word is listed and read as Request
Received / planned / active; duplicate ids, unreadable rows, dangling or self links, and
sectors with no node or an impossible wedge are listed and skipped.

Idempotence: installs match on install number (their members and nodes with them), nodes on
network number, buildings on place, devices on (node, name), links on their unordered pair
of devices and sectors on (node, name, azimuth, width, radius), the last two counted as
multisets so repeated rows stay repeated. A match is left as it is ("unchanged"): after the
import the database is the truth and the legacy feed never overwrites an operator's edit.
Install numbers are inserted as given and the identity sequence set past the largest.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from ipam.db import make_sessionmaker, transaction
from ipam.imports import nycmesh_records as records
from ipam.imports.nycmesh_bulk import BulkWriter
from ipam.imports.nycmesh_feed import Problem, plan_feed, read_feed
from ipam.numbering.nn_assign import lock_numbers

if TYPE_CHECKING:
    pass

ACTOR = "import:nycmesh-map"
# One import at a time: two would both see a record as missing and both create it.
IMPORT_LOCK = 0x6D6B_0010
ANALYZED = ("member", "building", "node", "node_building", "install", "device", "sector", "link")
KINDS_SHOWN = ("members", "buildings", "installs", "nodes", "devices", "links", "sectors")


@dataclass(frozen=True)
class ImportReport:
    """What one import created, found already there, and could not take."""

    directory: str
    rows: int
    links: int
    sectors: int
    created: dict[str, int]
    unchanged: dict[str, int]
    problems: tuple[Problem, ...]
    seconds: float

    @property
    def total_created(self) -> int:
        """Records created, all kinds together."""
        return sum(self.created.values())

    def problem_counts(self) -> dict[str, int]:
        """How many problems of each kind."""
        return dict(Counter(p.kind for p in self.problems))

    def format(self, examples: int = 5) -> str:
        """The report as the CLI prints it."""
        lines = [
            f"NYC Mesh map import from {self.directory}: {self.rows} node rows, "
            f"{self.links} links, {self.sectors} sectors in {self.seconds:.1f} s",
            f"  {'kind':<10} {'created':>8} {'unchanged':>10}",
        ]
        for kind in KINDS_SHOWN:
            lines.append(
                f"  {kind:<10} {self.created.get(kind, 0):>8} {self.unchanged.get(kind, 0):>10}"
            )
        if not self.problems:
            lines.append("no problems")
            return "\n".join(lines)
        lines.append(f"{len(self.problems)} problems:")
        by_kind: dict[str, list[Problem]] = defaultdict(list)
        for problem in self.problems:
            by_kind[problem.kind].append(problem)
        for kind, found in sorted(by_kind.items(), key=lambda item: -len(item[1])):
            lines.append(f"  {kind}: {len(found)}")
            for problem in found[:examples]:
                lines.append(f"    {problem.subject}: {problem.detail}")
            if len(found) > examples:
                lines.append(f"    ... and {len(found) - examples} more")
        return "\n".join(lines)


def _continue_install_numbers(session: Session) -> None:
    """Set the install-number identity past the largest number, so new installs follow."""
    session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('install', 'install_number'),"
            " GREATEST(m, COALESCE(pg_sequence_last_value("
            "   pg_get_serial_sequence('install', 'install_number')::regclass), 0)))"
            " FROM (SELECT max(install_number) AS m FROM install) AS s WHERE m IS NOT NULL"
        )
    )


def _analyze(sessions: sessionmaker[Session]) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL manual, "Populating a Database")."""
    with transaction(sessions) as session:
        session.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))


def import_map(
    sessions: sessionmaker[Session] | Engine,
    directory: Path | str,
    *,
    progress: bool = False,
    actor: str = ACTOR,
) -> ImportReport:
    """Import DIR/{nodes,links,sectors}.json in one transaction; a second run creates nothing."""
    from tqdm import tqdm

    started = time.perf_counter()
    if isinstance(sessions, Engine):
        sessions = make_sessionmaker(sessions)
    feed = read_feed(Path(directory))
    plan = plan_feed(feed)
    bar = tqdm(total=0, desc="nycmesh-map", unit="row", disable=not progress, leave=False)
    try:
        with transaction(sessions) as session:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": IMPORT_LOCK})
            lock_numbers(session)
            now = session.execute(select(func.now())).scalar_one()
            writer = BulkWriter(session, actor, now, bar)
            run = records.Run(session, plan, writer, plan.problems)
            records.match_existing(run, feed.unplaced)
            # Rows to write, roughly: records, node-building pairs, history and events.
            bar.total = 3 * (len(plan.installs) * 2 + len(plan.buildings) + len(plan.nodes))
            bar.refresh()
            records.create_nodes_and_buildings(run)
            records.create_installs(run, now)
            records.create_links(run, feed.unplaced)
            records.create_sectors(run)
            bar.total = bar.n + 2 * run.writer.pending
            run.writer.write_history_and_events()
            _continue_install_numbers(session)
    finally:
        bar.close()
    if sum(run.created.values()):
        _analyze(sessions)
    return ImportReport(
        directory=str(directory),
        rows=feed.row_count,
        links=len(feed.links),
        sectors=len(feed.sectors),
        created={kind: run.created.get(kind, 0) for kind in KINDS_SHOWN},
        unchanged={kind: run.unchanged.get(kind, 0) for kind in KINDS_SHOWN},
        problems=tuple(run.problems),
        seconds=time.perf_counter() - started,
    )

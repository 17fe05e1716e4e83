"""`meshkeeper import meshdb --url URL --token TOKEN`: copy a running MeshDB, all or nothing."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import Engine

from cli.meshdb_client import fetch_all
from ipam.imports.meshdb_apply import apply_meshdb
from ipam.imports.meshdb_plan import plan_meshdb


def import_meshdb(engine: Engine, args: argparse.Namespace) -> int:
    """Fetch every record of the MeshDB at --url, plan it, apply it; print the report."""
    from tqdm import tqdm

    if not args.url or not args.token:
        print("error: import meshdb needs --url and --token", file=sys.stderr)
        return 2
    shown = sys.stderr.isatty()
    records = fetch_all(args.url, args.token, progress=shown)
    plan = plan_meshdb(records)
    with tqdm(total=3 * plan.count(), desc="writing", unit="row", disable=not shown) as bar:
        report = apply_meshdb(engine, plan, source=args.url, progress=bar)
    print(report.format())
    return 0

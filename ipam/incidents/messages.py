"""Pure: the readable message a volunteer gets for an incident, a flap or the daily summary.

One message per incident ("NN 227 (Hub) down 4 min: 14 nodes, 63 installs cut off; cause:
link 227-1934"), one per update and one for its resolution: never one per node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

Message = tuple[str, str]  # (title, body)


def duration(seconds: float) -> str:
    """A short human duration: '45 s', '4 min', '2 h 5 min', '3 d 4 h'."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s} s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _nns(values: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    more = len(values) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def incident_message(kind: str, data: Mapping[str, Any], now: datetime) -> Message:
    """The message of an incident.opened, .updated or .resolved event's data."""
    started = datetime.fromisoformat(data["started_at"])
    cause = data["cause"]["label"]
    head = data["headline"]
    if kind == "resolved":
        took = duration(data["duration_s"] or 0)
        title = f"Resolved: {head} back after {took}"
        body = (
            f"{head} was down {took}: {_plural(data['peak_nodes'], 'node')} at worst; "
            f"cause: {cause}"
        )
        return title, body
    took = duration((now - started).total_seconds())
    cut = (
        f"{_plural(data['nodes'], 'node')}, {_plural(data['installs'], 'install')} cut off; "
        f"cause: {cause}"
    )
    if kind == "opened":
        return f"{head} down", f"{head} down {took}: {cut}"
    change = []
    if data.get("fell_nns"):
        change.append(f"more down: {_nns(data['fell_nns'])}")
    if data.get("returned_nns"):
        change.append(f"back: {_nns(data['returned_nns'])}")
    note = f" ({'; '.join(change)})" if change else ""
    return f"{head} still down", f"{head} still down {took}: {cut}{note}"


def flapping_message(event: Mapping[str, Any]) -> Message:
    """The message of a *.flapping event."""
    kind = event["type"].split(".", 1)[0]
    nn = event["subject"].get("network_number")
    who = f"NN {nn}" if nn is not None and kind == "node" else f"{kind} {event['subject']['id']}"
    if kind == "device" and nn is not None:
        who = f"a device of NN {nn}"
    count = event["data"].get("transitions_24h")
    return f"{who} is flapping", f"{who} is flapping: {count} or more up/down changes in 24 h"


def summary_message(data: Mapping[str, Any]) -> Message:
    """The daily summary: what is down, what flapped, the least available nodes."""
    lines = []
    down = data.get("down_nns", [])
    lines.append(f"Down now: {_plural(len(down), 'node')}" + (f" ({_nns(down)})" if down else ""))
    for incident in data.get("open_incidents", []):
        lines.append(
            f"- {incident['headline']}: {_plural(incident['nodes'], 'node')}, "
            f"cause {incident['cause']}"
        )
    flapped = data.get("flapping_nns", [])
    lines.append(f"Flapping: {_nns(flapped)}" if flapped else "Flapping: none")
    worst = data.get("worst", [])
    if worst:
        ranked = ", ".join(f"NN {w['nn']} {w['availability_pct']:.2f} %" for w in worst)
        lines.append(f"Least available (7 days): {ranked}")
    return f"meshkeeper daily summary {data.get('day', '')}".strip(), "\n".join(lines)


def generic_message(event: Mapping[str, Any]) -> Message:
    """Any other event: its type, subject and change, in one line."""
    subject = event["subject"]
    who = (
        f"NN {subject['network_number']}"
        if "network_number" in subject
        else f"{subject['resource']} {subject['id']}"
    )
    data = event.get("data") or {}
    change = f": {data['from']} -> {data['to']}" if "from" in data and "to" in data else ""
    return f"{event['type']} {who}", f"{event['type']} {who}{change}"


def message(event: Mapping[str, Any], now: datetime) -> Message:
    """The message for any event a channel receives."""
    kind = event["type"]
    if kind.startswith("incident."):
        return incident_message(kind.split(".", 1)[1], event["data"], now)
    if kind.endswith(".flapping"):
        return flapping_message(event)
    if kind == "summary.daily":
        return summary_message(event["data"])
    return generic_message(event)

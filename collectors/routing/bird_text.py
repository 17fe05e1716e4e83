"""BIRD's `show ospf state all` text (BIRD 1.6 and 2.x) -> a LinkStateDb.

The layout is BIRD's `ospf_sh_state` (proto/ospf/ospf.c): an `area A` header, then one block
per router-LSA (`router R`, `distance D` or `unreachable`, then `router R metric M`,
`network N/L metric M`, `stubnet N/L metric M`, `external N/L metric[2] M [via A] [tag T]`)
and one per network-LSA (`network N/L`, `dr R`, `distance D`, `router R`). BIRD 2 adds an
`other ASBRs` section for ASBRs outside every area. The text is birdc's (sources.py strips
the control socket's reply codes before it gets here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from collectors.routing.model import (
    External,
    LinkStateDb,
    NetworkLink,
    ParseError,
    Router,
    RouterLink,
    Stubnet,
    TransitNetwork,
    ipv4,
    ipv4_prefix,
)

# Lines BIRD prints that carry nothing for us: OSPFv3 and summary-LSA details, virtual links.
_IGNORED = frozenset({"xnetwork", "xrouter", "vlink", "virtual", "lsa", "options", "prefix"})


@dataclass
class _Block:
    """The router- or network-LSA being read."""

    kind: str
    ident: str
    area: str | None
    reachable: bool | None = True
    distance: int | None = None
    dr: str | None = None
    routers: list[RouterLink] = field(default_factory=list)
    members: list[IPv4Address] = field(default_factory=list)
    networks: list[NetworkLink] = field(default_factory=list)
    stubnets: list[Stubnet] = field(default_factory=list)
    externals: list[External] = field(default_factory=list)


def _network(text: str, lineno: int) -> IPv4Network:
    try:
        return ipv4_prefix(text)
    except ParseError as exc:
        raise ParseError(f"line {lineno}: {exc}") from None


def _address(text: str, lineno: int) -> IPv4Address:
    try:
        return ipv4(text)
    except ParseError as exc:
        raise ParseError(f"line {lineno}: {exc}") from None


def _int(text: str, lineno: int) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise ParseError(f"line {lineno}: {text!r} is not a number") from exc


def _pairs(words: list[str], lineno: int) -> dict[str, str]:
    """`metric 20 via 1.2.3.4 tag 00000001` -> {"metric": "20", "via": ..., "tag": ...}."""
    if len(words) % 2:
        raise ParseError(f"line {lineno}: unpaired words {' '.join(words)!r}")
    return {words[i]: words[i + 1] for i in range(0, len(words), 2)}


def _cost(attrs: dict[str, str], lineno: int) -> int:
    if "metric" not in attrs:
        raise ParseError(f"line {lineno}: no metric")
    return _int(attrs["metric"], lineno)


def _external(words: list[str], lineno: int) -> External:
    attrs = _pairs(words[2:], lineno)
    type2 = "metric2" in attrs
    metric = attrs.get("metric2") if type2 else attrs.get("metric")
    if metric is None:
        raise ParseError(f"line {lineno}: external without a metric")
    via = attrs.get("via")
    tag = attrs.get("tag")
    return External(
        prefix=_network(words[1], lineno),
        metric=_int(metric, lineno),
        type2=type2,
        via=_address(via, lineno) if via else None,
        tag=int(tag, 16) if tag else None,
    )


def _member(block: _Block, words: list[str], lineno: int) -> None:
    """One indented line inside a router or network block."""
    key = words[0]
    if key == "distance":
        block.distance = _int(words[1], lineno)
    elif key == "unreachable":
        block.reachable = False
    elif key == "dr" and block.kind == "network":
        block.dr = words[1]
    elif key == "router" and block.kind == "network":
        block.members.append(_address(words[1], lineno))
    elif key in ("router", "network", "stubnet"):
        cost = _cost(_pairs(words[2:], lineno), lineno)
        if key == "router":
            block.routers.append(RouterLink(_address(words[1], lineno), cost))
        elif key == "network":
            block.networks.append(NetworkLink(_network(words[1], lineno), cost))
        else:
            block.stubnets.append(Stubnet(_network(words[1], lineno), cost))
    elif key in ("external", "nssa-ext"):
        block.externals.append(_external(words, lineno))
    elif key not in _IGNORED:
        raise ParseError(f"line {lineno}: unknown line {' '.join(words)!r}")


def parse(text: str, source: str = "bird") -> LinkStateDb:
    """Parse one `show ospf state [all]` answer; a ParseError names the first bad line."""
    routers: list[Router] = []
    networks: list[TransitNetwork] = []
    area: str | None = None
    block: _Block | None = None
    seen_area = False

    def close() -> None:
        if block is None:
            return
        if block.kind == "router":
            routers.append(
                Router(
                    router_id=_address(block.ident, 0),
                    area=block.area,
                    reachable=block.reachable,
                    distance=block.distance,
                    routers=tuple(block.routers),
                    networks=tuple(block.networks),
                    stubnets=tuple(block.stubnets),
                    externals=tuple(block.externals),
                )
            )
        else:
            networks.append(
                TransitNetwork(
                    prefix=_network(block.ident, 0),
                    area=block.area,
                    dr=_address(block.dr, 0) if block.dr else None,
                    routers=tuple(block.members),
                    distance=block.distance,
                )
            )

    for lineno, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        if not line[0].isspace():
            # Top level: the greeting, `area A`, `other ASBRs`, or an error from BIRD.
            if words[0] == "area" and len(words) == 2:
                close()
                block, area, seen_area = None, words[1], True
            elif words[:2] == ["other", "ASBRs"]:
                close()
                block, area, seen_area = None, None, True
            elif words[0] == "BIRD" or line.startswith("Access restricted"):
                continue
            else:
                raise ParseError(f"line {lineno}: BIRD answered {line.strip()!r}")
        elif line.startswith("\t\t") or line.startswith("        "):
            if block is None:
                raise ParseError(f"line {lineno}: {line.strip()!r} outside a router or network")
            _member(block, words, lineno)
        elif words[0] in ("router", "network") and len(words) == 2:
            close()
            if words[0] == "network":
                _network(words[1], lineno)
            else:
                _address(words[1], lineno)
            block = _Block(kind=words[0], ident=words[1], area=area)
        else:
            raise ParseError(f"line {lineno}: unexpected {line.strip()!r}")
    close()
    if not seen_area:
        raise ParseError("no `area` in the answer: not a `show ospf state` output")
    return LinkStateDb(source=source, routers=tuple(routers), networks=tuple(networks))

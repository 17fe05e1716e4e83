"""KML 2.2 written with ElementTree: safe character data and the few elements the map files use.

The element order inside each element follows OGC KML 2.2's schema (a Placemark's name,
styleUrl, ExtendedData, then its geometry), which is also the order MeshDB's fastkml writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

KML_NS = "http://www.opengis.net/kml/2.2"
KML_MEDIA_TYPE = "application/vnd.google-earth.kml+xml"

# Characters XML 1.0 allows (section 2.2): a name with another control character (a node
# named through the API can hold any) would make the whole feed unparseable for everyone.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Position = tuple[float, float, float]  # (lon, lat, alt)
_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


def xml_text(value: Any) -> str:
    """A value as XML character data: characters XML 1.0 forbids become U+FFFD."""
    text = str(value)
    # Printable text (no control, surrogate or unassigned character) is XML already: the
    # check costs a tenth of the substitution, and nearly every value passes it.
    return text if text.isprintable() else _NOT_XML.sub("\ufffd", text)


def sub(parent: ET.Element, tag: str, text: Any = None, **attrib: str) -> ET.Element:
    """A child element, with its text made safe when given."""
    child = ET.SubElement(parent, tag, attrib)
    if text is not None:
        child.text = xml_text(text)
    return child


def document() -> tuple[ET.Element, ET.Element]:
    """A `kml` root in the KML namespace and its Document."""
    root = ET.Element("kml", xmlns=KML_NS)
    return root, sub(root, "Document")


def icon_style(
    doc: ET.Element, style_id: str, href: str, color: str | None = None, scale: float | None = None
) -> None:
    """A Style with one IconStyle centred on its hot spot (colour `aabbggrr`)."""
    icon = sub(sub(doc, "Style", id=style_id), "IconStyle")
    if color is not None:
        sub(icon, "color", color)
    if scale is not None:
        sub(icon, "scale", scale)
    sub(sub(icon, "Icon"), "href", href)
    sub(icon, "hotSpot", x="0.5", y="0.5", xunits="fraction", yunits="fraction")


def line_style(doc: ET.Element, style_id: str, color: str, width: int) -> None:
    """A Style for lines: a LineStyle and a transparent, unfilled PolyStyle."""
    style = sub(doc, "Style", id=style_id)
    line = sub(style, "LineStyle")
    sub(line, "color", color)
    sub(line, "width", width)
    poly = sub(style, "PolyStyle")
    sub(poly, "color", "00000000")
    sub(poly, "fill", 0)
    sub(poly, "outline", 1)


def folder(parent: ET.Element, name: str) -> ET.Element:
    """A named Folder."""
    made = sub(parent, "Folder")
    sub(made, "name", name)
    return made


def placemark(parent: ET.Element, name: str, style_url: str, data: Mapping[str, Any]) -> ET.Element:
    """A Placemark with ExtendedData; a None or empty value is left out, as fastkml does."""
    mark = sub(parent, "Placemark")
    sub(mark, "name", name)
    sub(mark, "styleUrl", style_url)
    extended = sub(mark, "ExtendedData")
    for key, value in data.items():
        if value is not None and value != "":
            sub(sub(extended, "Data", name=key), "value", value)
    return mark


def _coordinates(positions: Iterable[Position]) -> str:
    return " ".join(f"{lon},{lat},{alt}" for lon, lat, alt in positions)


def point(mark: ET.Element, position: Position) -> None:
    """A Point at an absolute altitude."""
    geometry = sub(mark, "Point")
    sub(geometry, "altitudeMode", "absolute")
    sub(geometry, "coordinates", _coordinates([position]))


def line(mark: ET.Element, start: Position, end: Position) -> None:
    """A LineString between two absolute positions, extruded to the ground."""
    geometry = sub(mark, "LineString")
    sub(geometry, "extrude", 1)
    sub(geometry, "altitudeMode", "absolute")
    sub(geometry, "coordinates", _coordinates([start, end]))


def to_bytes(root: ET.Element) -> bytes:
    """The document as UTF-8 bytes with an XML declaration."""
    # Serialised to str and encoded once: ElementTree's byte writer resets its codec on each
    # of the ~1M small writes a whole-mesh file takes, a third of the time.
    return (_DECLARATION + ET.tostring(root, encoding="unicode")).encode()

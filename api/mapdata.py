"""Anonymous map feeds: the legacy nodes / links / sectors JSON, GeoJSON and KML.

Public by design (NYC Mesh's website map reads them without credentials) and free of member
data (see `ipam.mapfeed`). Each answer is bytes serialised once per change of the records,
with an ETag so a map that polls gets 304 until something changes.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request, Response

from ipam.mapfeed import MEDIA_TYPES, FeedCache

router = APIRouter(prefix="/api/v1", tags=["map"])

_create_lock = threading.Lock()


def feed_cache(request: Request) -> FeedCache:
    """The app's feed cache, made on first use (one per app, so per database)."""
    state = request.app.state
    cache = getattr(state, "mapfeed_cache", None)
    if cache is None:
        with _create_lock:
            cache = getattr(state, "mapfeed_cache", None)
            if cache is None:
                cache = state.mapfeed_cache = FeedCache()
    return cache


def _serve(request: Request, name: str) -> Response:
    version, body = feed_cache(request).get(request.app.state.engine, name)
    etag = f'"{name}-{version}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=30",
        # Public data: any site's map may fetch it.
        "Access-Control-Allow-Origin": "*",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=MEDIA_TYPES[name], headers=headers)


def _doc(media_type: str) -> dict:
    return {200: {"content": {media_type: {}}}, 304: {"description": "unchanged (ETag)"}}


@router.get(
    "/mapdata/nodes/",
    summary="Every install and node dot, in the legacy map's shape (no auth)",
    response_class=Response,
    responses=_doc(MEDIA_TYPES["nodes"]),
)
def map_nodes(request: Request) -> Response:
    """nodes.json: installs by install number, plus one "NN assigned" row per other NN."""
    return _serve(request, "nodes")


@router.get(
    "/mapdata/links/",
    summary="Every link between two nodes, in the legacy map's shape (no auth)",
    response_class=Response,
    responses=_doc(MEDIA_TYPES["links"]),
)
def map_links(request: Request) -> Response:
    """links.json: from / to network numbers, status word, install date."""
    return _serve(request, "links")


@router.get(
    "/mapdata/sectors/",
    summary="Every sector, in the legacy map's shape (no auth)",
    response_class=Response,
    responses=_doc(MEDIA_TYPES["sectors"]),
)
def map_sectors(request: Request) -> Response:
    """sectors.json: nodeId, radius, azimuth, width, status, device."""
    return _serve(request, "sectors")


@router.get(
    "/geojson/",
    summary="Nodes as Points and links as LineStrings (GeoJSON, no auth)",
    response_class=Response,
    responses=_doc(MEDIA_TYPES["geojson"]),
)
def map_geojson(request: Request) -> Response:
    """A GeoJSON FeatureCollection of nodes and links."""
    return _serve(request, "geojson")


@router.get(
    "/kml/",
    summary="Nodes and links as KML for Google Earth (no auth)",
    response_class=Response,
    responses=_doc(MEDIA_TYPES["kml"]),
)
def map_kml(request: Request) -> Response:
    """A KML document with a Nodes folder and a Links folder."""
    return _serve(request, "kml")

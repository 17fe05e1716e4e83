"""Anonymous map feeds: the legacy nodes / links / sectors JSON, GeoJSON, KML, MeshDB's KML files.

Public by design (NYC Mesh's website map reads them without credentials) and free of member
data (see `ipam.maps.feed`). Each answer is bytes serialised once per change of the records,
with an ETag so a map that polls gets 304 until something changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ipam.errors import NotFound
from ipam.maps.feed import MEDIA_TYPES, FeedCache
from ipam.maps.kiosks import KioskCache, SourceFailed

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


# Path, feed, summary and description of each anonymous map answer.
FEEDS = (
    (
        "/mapdata/nodes/",
        "nodes",
        "Every install and node dot, in the legacy map's shape (no auth)",
        "nodes.json (MeshDB's rules): installs by install number, a row for each other NN of"
        ' a node not Inactive ("NN assigned" when Active), then Active access points.',
    ),
    (
        "/mapdata/links/",
        "links",
        "Every link between two nodes, in the legacy map's shape (no auth)",
        "links.json: links (from / to NNs, status word, install date), cable runs, planned"
        " links from lines of sight, access point links.",
    ),
    (
        "/mapdata/sectors/",
        "sectors",
        "Every sector not Inactive on a numbered node, in the legacy map's shape (no auth)",
        "sectors.json: nodeId, radius, azimuth, width, status, device.",
    ),
    (
        "/geojson/",
        "geojson",
        "Nodes as Points and links as LineStrings (GeoJSON, no auth)",
        "A GeoJSON FeatureCollection of nodes and links.",
    ),
    (
        "/kml/",
        "kml",
        "Nodes and links as KML for Google Earth (no auth)",
        "A KML document with a Nodes folder and a Links folder.",
    ),
    (
        "/geography/whole-mesh.kml",
        "whole-mesh.kml",
        "Every install, node, link and line of sight as KML, as MeshDB draws them (no auth)",
        "MeshDB's whole-mesh.kml: Nodes (Active / Inactive, by borough) and Links folders.",
    ),
    (
        "/geography/active-mesh.kml",
        "active-mesh.kml",
        "The live and planned mesh as KML, as MeshDB draws it (no auth)",
        "MeshDB's active-mesh.kml: nodes by type and links by medium, planned ones apart.",
    ),
)


def _endpoint(name: str) -> Callable[[Request], Response]:
    def serve(request: Request) -> Response:
        return _serve(request, name)

    serve.__name__ = f"map_{name}"
    return serve


for _path, _name, _summary, _description in FEEDS:
    router.add_api_route(
        _path,
        _endpoint(_name),
        methods=["GET"],
        summary=_summary,
        description=_description,
        response_class=Response,
        responses=_doc(MEDIA_TYPES[_name]),
    )


@router.get(
    "/mapdata/kiosks/",
    summary="LinkNYC kiosks for the map, from NYC Open Data (no auth)",
    responses={
        404: {"description": "NYC's services are off (MESHKEEPER_GEOCODER is not nyc)"},
        502: {"description": "the city's dataset failed and nothing good is kept"},
    },
)
def kiosks(request: Request) -> Response:
    """MeshDB's kiosk list (`views/map.py`), kept up to 60 s; 502 with JSON when it fails."""
    state = request.app.state
    if state.settings.geocoder != "nyc":
        # meshkeeper calls nothing outside unless told: NYC's services are on with the
        # NYC geocoder only.
        raise NotFound("kiosks: NYC's services are off (MESHKEEPER_GEOCODER=nyc turns them on)")
    with _create_lock:
        cache = getattr(state, "kiosk_cache", None) or KioskCache()
        state.kiosk_cache = cache
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=60"}
    try:
        found = cache.get(state.settings.nyc_open_data_url)
    except SourceFailed as exc:
        return JSONResponse({"detail": exc.message, "errors": []}, status_code=502)
    return JSONResponse(found, headers=headers)

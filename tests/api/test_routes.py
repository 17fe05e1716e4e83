"""Route order: no fixed path is shadowed by a record resource's /<key>/ patterns."""

from __future__ import annotations

import re

from api.app import create_app


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")


def test_no_fixed_path_fits_an_earlier_generic_route(settings, engine) -> None:
    # The schema lists paths in the order the routes are tried.
    schema = create_app(settings, engine).openapi()
    routes = [(path, method) for path, ops in schema["paths"].items() for method in ops]
    shadowed = []
    for position, (path, method) in enumerate(routes):
        for earlier, earlier_method in routes[:position]:
            if earlier != path and earlier_method == method and _pattern(earlier).match(path):
                shadowed.append(f"{method} {path} is taken by {earlier}")
    assert shadowed == []
    # The check sees the routes it guards: the generic ones and the fixed ones after them.
    paths = {path for path, _ in routes}
    assert {"/api/v1/nodes/{key}/", "/api/v1/nn-assign/", "/api/v1/nodes/{nn}/health/"} <= paths

"""Public maps: the legacy map feeds, GeoJSON and KML, built set-based and cached."""

"""Geocoding for the join form: pure address rules, and NYC's public address services."""

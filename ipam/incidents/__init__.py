"""Outages, availability, incidents with their causes, flapping and silences (issue 15)."""

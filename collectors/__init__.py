"""Talking to devices: each collector returns frozen observations and writes nothing."""

"""Tests of ipam.imports."""

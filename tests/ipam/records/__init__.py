"""Tests of ipam.records."""

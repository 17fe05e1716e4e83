"""Tests of ipam.topology."""

"""Tests of ipam.observed."""

"""Tests of ipam.numbering."""

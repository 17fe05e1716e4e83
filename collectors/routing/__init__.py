"""Routing collector: OSPF link-state databases (BIRD, FRR, NYC Mesh JSON) as frozen values."""

"""Topology: records and observed state -> a networkx graph, and the questions asked of it."""

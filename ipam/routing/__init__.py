"""What the routing table witnesses: routers -> nodes, adjacencies, subnet states (pure rules)."""

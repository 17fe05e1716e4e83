"""The domain: records and the rules over them (no HTTP, no collector, no daemon)."""

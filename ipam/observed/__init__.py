"""Observed state: the pure rules of what a poll means, and health answers beside the records."""

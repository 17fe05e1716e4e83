"""Numbering: the addressing plan (NN -> addresses and back), NN rules and assignment, prefixes."""

"""The command line (`meshkeeper run`, `api`, `daemon`, `poll`, ...): it composes api and daemon."""

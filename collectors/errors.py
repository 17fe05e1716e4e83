"""The one error every collector raises when a whole collection cannot be made."""


class CollectorError(Exception):
    """A collection failed as a whole (server down, bad credentials, unparseable answer)."""

    def __init__(self, collector: str, reason: str) -> None:
        super().__init__(f"{collector}: {reason}")
        self.collector = collector
        self.reason = reason

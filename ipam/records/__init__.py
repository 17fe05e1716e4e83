"""Records: changing them with history and outbox events, the join form, tokens, cache versions."""

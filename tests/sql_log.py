"""Counting the SQL statements a request sends, from tortoise's own query log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

# The bearer's session check (models.access.load_signed_in_actor): left out of the counts. On
# PostgreSQL the server keeps signed-in actors (models.session_cache), so whether a request sends
# it depends on what the database announced meanwhile, not on the screen being counted.
SESSION_CHECK_SQL = "SELECT U.SESSION_VERSION, U.USERNAME,"


@contextmanager
def counting_sql() -> Iterator[list[str]]:
    """Counts the SQL statements tortoise sends, from its own query log, except the bearer's
    session check."""
    statements: list[str] = []

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = str(record.msg).lstrip().upper()
            if record.getMessage().lstrip().upper().startswith(SESSION_CHECK_SQL):
                return
            if text.startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "%S")):
                statements.append(record.getMessage())

    logger = logging.getLogger("tortoise.db_client")
    handler, old_level = Counter(level=logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

"""Counting the SQL statements a request sends, from tortoise's own query log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import IS_POSTGRES

# The bearer's session check in a request's count: one statement on SQLite; none on
# PostgreSQL once the server has seen the session (models.session_cache), as in these tests,
# which ask once before counting.
SESSION_CHECK = 0 if IS_POSTGRES else 1


@contextmanager
def counting_sql() -> Iterator[list[str]]:
    """Counts the SQL statements tortoise sends, from its own query log."""
    statements: list[str] = []

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = str(record.msg).lstrip().upper()
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

"""Counting the SQL statements a request sends, from tortoise's own query log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


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
